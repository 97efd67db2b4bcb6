package api

import (
	"fmt"
	"net/http"

	"krest/internal/admin"
)

// API v3 partitions, their offsets and replicas.

// ---- partitions ----

// v3Partition is a KafkaPartition.
type v3Partition struct {
	Kind         string `json:"kind"`
	Metadata     v3Meta `json:"metadata"`
	ClusterID    string `json:"cluster_id"`
	TopicName    string `json:"topic_name"`
	PartitionID  int32  `json:"partition_id"`
	Leader       *v3Rel `json:"leader"` // null without a leader
	Replicas     v3Rel  `json:"replicas"`
	Reassignment v3Rel  `json:"reassignment"`
}

func (c *call) partitionOf(p admin.Partition) v3Partition {
	id := itoa(p.ID)
	v := v3Partition{
		Kind: "KafkaPartition",
		Metadata: v3Meta{Self: c.link("topics", p.Topic, "partitions", id),
			ResourceName: c.crn("topic", p.Topic, "partition", id)},
		ClusterID:    c.cluster,
		TopicName:    p.Topic,
		PartitionID:  p.ID,
		Replicas:     c.rel("topics", p.Topic, "partitions", id, "replicas"),
		Reassignment: c.rel("topics", p.Topic, "partitions", id, "reassignment"),
	}
	if p.Leader >= 0 {
		l := c.rel("topics", p.Topic, "partitions", id, "replicas", itoa(p.Leader))
		v.Leader = &l
	}
	return v
}

// v3Partitions lists a topic's partitions.
func (h *handlers) v3Partitions(c *call) (int, any, error) {
	ps, err := c.adm.Partitions(c.context(), c.topic)
	return http.StatusOK, v3ListOf(c, "KafkaPartitionList", mapSlice(ps, c.partitionOf),
		"topics", c.topic, "partitions"), err
}

// v3Partition describes one partition.
func (h *handlers) v3Partition(c *call) (int, any, error) {
	p, err := c.adm.Partition(c.context(), c.topic, c.partition)
	return http.StatusOK, c.partitionOf(p), err
}

// v3PartitionOffsets is a KafkaPartitionWithOffsets.
type v3PartitionOffsets struct {
	Kind           string `json:"kind"`
	Metadata       v3Meta `json:"metadata"`
	ClusterID      string `json:"cluster_id"`
	TopicName      string `json:"topic_name"`
	PartitionID    int32  `json:"partition_id"`
	EarliestOffset int64  `json:"earliest_offset"`
	LatestOffset   int64  `json:"latest_offset"`
}

// offsetTypeBoth is the one offset_type upstream serves, and its default.
const offsetTypeBoth = "earliest_and_latest"

// v3PartitionOffsets answers a partition's earliest and latest
// offsets (?offset_type=earliest_and_latest, the default and only type).
func (h *handlers) v3PartitionOffsets(c *call) (int, any, error) {
	offsetType := offsetTypeBoth
	if c.hasQuery("offset_type") {
		offsetType = c.query("offset_type")
	}
	if offsetType != offsetTypeBoth {
		return 0, nil, &apiError{http.StatusBadRequest, http.StatusBadRequest,
			fmt.Sprintf("offset_type:%s is invalid; the one offset type is %s", offsetType, offsetTypeBoth)}
	}
	o, err := c.adm.Offsets(c.context(), c.topic, c.partition)
	id := itoa(c.partition)
	return http.StatusOK, v3PartitionOffsets{
		Kind: "KafkaPartitionWithOffsets",
		Metadata: v3Meta{Self: c.link("topics", c.topic, "partitions", id, "offset"),
			ResourceName: c.crn("topic", c.topic, "partition", id, "offset_type", offsetType)},
		ClusterID: c.cluster, TopicName: c.topic, PartitionID: c.partition,
		EarliestOffset: o.Earliest, LatestOffset: o.Latest,
	}, err
}

// ---- replicas ----

// v3Replica is a KafkaReplica.
type v3Replica struct {
	Kind        string `json:"kind"`
	Metadata    v3Meta `json:"metadata"`
	ClusterID   string `json:"cluster_id"`
	TopicName   string `json:"topic_name"`
	PartitionID int32  `json:"partition_id"`
	BrokerID    int32  `json:"broker_id"`
	IsLeader    bool   `json:"is_leader"`
	IsInSync    bool   `json:"is_in_sync"`
	Broker      v3Rel  `json:"broker"`
}

// replicasOf describes p's replicas, in Kafka's replica order.
func (c *call) replicasOf(p admin.Partition) []v3Replica {
	id := itoa(p.ID)
	return mapSlice(p.Replicas, func(r admin.Replica) v3Replica {
		b := itoa(r.Broker)
		return v3Replica{
			Kind: "KafkaReplica",
			Metadata: v3Meta{Self: c.link("topics", p.Topic, "partitions", id, "replicas", b),
				ResourceName: c.crn("topic", p.Topic, "partition", id, "replica", b)},
			ClusterID: c.cluster, TopicName: p.Topic, PartitionID: p.ID, BrokerID: r.Broker,
			IsLeader: r.Leader, IsInSync: r.InSync, Broker: c.rel("brokers", b),
		}
	})
}

// v3Replicas lists a partition's replicas.
func (h *handlers) v3Replicas(c *call) (int, any, error) {
	p, err := c.adm.Partition(c.context(), c.topic, c.partition)
	return http.StatusOK, v3ListOf(c, "KafkaReplicaList", c.replicasOf(p),
		"topics", c.topic, "partitions", itoa(c.partition), "replicas"), err
}

// v3Replica describes a partition's replica on one broker.
func (h *handlers) v3Replica(c *call) (int, any, error) {
	p, err := c.adm.Partition(c.context(), c.topic, c.partition)
	if err != nil {
		return 0, nil, err
	}
	for _, r := range c.replicasOf(p) {
		if r.BrokerID == c.broker {
			return http.StatusOK, r, nil
		}
	}
	return 0, nil, &apiError{http.StatusNotFound, http.StatusNotFound,
		fmt.Sprintf("topic %s partition %d has no replica on broker %d", c.topic, c.partition, c.broker)}
}

// v3BrokerReplicas lists the replicas a broker holds, internal
// topics' included, by topic, then partition.
func (h *handlers) v3BrokerReplicas(c *call) (int, any, error) {
	_, err := c.adm.Broker(c.context(), c.broker)
	var ts []admin.Topic
	if err == nil {
		ts, err = c.adm.Topics(c.context())
	}
	var data []v3Replica
	for _, t := range ts { // sorted by name, partitions by id
		for _, p := range t.Partitions {
			for _, r := range c.replicasOf(p) {
				if r.BrokerID == c.broker {
					data = append(data, r)
				}
			}
		}
	}
	return http.StatusOK, v3ListOf(c, "KafkaReplicaList", data, "brokers", itoa(c.broker), "partition-replicas"), err
}
