package api

import (
	"net/http"

	"krest/internal/admin"
)

// API v3 clusters and brokers.

// ---- clusters ----

// v3Cluster is a KafkaCluster.
type v3Cluster struct {
	Kind                   string `json:"kind"`
	Metadata               v3Meta `json:"metadata"`
	ClusterID              string `json:"cluster_id"`
	Controller             *v3Rel `json:"controller"` // null if the controller is unknown
	ACLs                   v3Rel  `json:"acls"`
	Brokers                v3Rel  `json:"brokers"`
	BrokerConfigs          v3Rel  `json:"broker_configs"`
	ConsumerGroups         v3Rel  `json:"consumer_groups"`
	Topics                 v3Rel  `json:"topics"`
	PartitionReassignments v3Rel  `json:"partition_reassignments"`
}

// clusterOf describes the cluster; c.cluster must be its id.
func (c *call) clusterOf(cl admin.Cluster) v3Cluster {
	v := v3Cluster{
		Kind:                   "KafkaCluster",
		Metadata:               v3Meta{Self: c.link(), ResourceName: c.crn()},
		ClusterID:              cl.ID,
		ACLs:                   c.rel("acls"),
		Brokers:                c.rel("brokers"),
		BrokerConfigs:          c.rel("broker-configs"),
		ConsumerGroups:         c.rel("consumer-groups"),
		Topics:                 c.rel("topics"),
		PartitionReassignments: c.rel("topics", "-", "partitions", "-", "reassignment"),
	}
	if cl.ControllerID >= 0 {
		ctl := c.rel("brokers", itoa(cl.ControllerID))
		v.Controller = &ctl
	}
	return v
}

// describeCluster returns the cluster, failing with upstream's 404 unless
// want is empty or its id.
func describeCluster(c *call, want string) (admin.Cluster, error) {
	cl, err := c.adm.Cluster(c.context())
	if err == nil && want != "" && cl.ID != want {
		err = clusterNotFound(want)
	}
	return cl, err
}

// v3Clusters lists the one cluster krest serves.
func (h *handlers) v3Clusters(c *call) (int, any, error) {
	cl, err := describeCluster(c, "")
	if err != nil {
		return 0, nil, err
	}
	c.cluster = cl.ID
	l := v3ListOf(c, "KafkaClusterList", []v3Cluster{c.clusterOf(cl)})
	l.Metadata.Self = c.baseURL() + "/v3/clusters"
	return http.StatusOK, l, nil
}

// v3Cluster describes the cluster.
func (h *handlers) v3Cluster(c *call) (int, any, error) {
	cl, err := describeCluster(c, c.cluster)
	return http.StatusOK, c.clusterOf(cl), err
}

// ---- brokers ----

// v3Broker is a KafkaBroker.
type v3Broker struct {
	Kind              string  `json:"kind"`
	Metadata          v3Meta  `json:"metadata"`
	ClusterID         string  `json:"cluster_id"`
	BrokerID          int32   `json:"broker_id"`
	Host              *string `json:"host"`
	Port              *int32  `json:"port"`
	Rack              *string `json:"rack"` // null without a rack
	Configs           v3Rel   `json:"configs"`
	PartitionReplicas v3Rel   `json:"partition_replicas"`
}

func (c *call) brokerOf(b admin.Broker) v3Broker {
	id := itoa(b.ID)
	v := v3Broker{
		Kind:              "KafkaBroker",
		Metadata:          v3Meta{Self: c.link("brokers", id), ResourceName: c.crn("broker", id)},
		ClusterID:         c.cluster,
		BrokerID:          b.ID,
		Host:              &b.Host,
		Port:              &b.Port,
		Configs:           c.rel("brokers", id, "configs"),
		PartitionReplicas: c.rel("brokers", id, "partition-replicas"),
	}
	if b.Rack != "" {
		v.Rack = &b.Rack
	}
	return v
}

// v3Brokers lists the brokers.
func (h *handlers) v3Brokers(c *call) (int, any, error) {
	bs, err := c.adm.Brokers(c.context())
	return http.StatusOK, v3ListOf(c, "KafkaBrokerList", mapSlice(bs, c.brokerOf), "brokers"), err
}

// v3Broker describes one broker.
func (h *handlers) v3Broker(c *call) (int, any, error) {
	b, err := c.adm.Broker(c.context(), c.broker)
	return http.StatusOK, c.brokerOf(b), err
}
