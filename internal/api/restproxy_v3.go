package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"krest/internal/admin"
)

// API v3 of Confluent REST Proxy, served under /v3: clusters, brokers,
// topics, configs and partitions here, consumer groups in
// restproxy_v3_groups.go. Answers follow upstream's OpenAPI document field
// by field, nulls included: every resource carries kind, metadata.self, its
// CRN as metadata.resource_name and related links; every list carries
// metadata.next (always null: krest does not paginate).

// ---- v3 plumbing, shared by every v3 route (produce ones too) ----

// handleV3 serves one v3 route of one cluster: after parsePath, it checks
// that {cluster_id} is the cluster's own id (404 with upstream's text if
// not), then runs fn. Errors take v3ErrorFor's codes.
func handleV3(adm adminer, fn restHandler) http.Handler {
	return serveRest(v3ErrorFor, func(c *restCall) error { return checkCluster(c, adm) }, fn)
}

// checkCluster fails unless c's cluster id is the id the brokers report.
func checkCluster(c *restCall, adm adminer) error {
	id, err := adm.ClusterID(c.r.Context())
	if err != nil {
		return err
	}
	if id != c.cluster {
		return clusterNotFound(c.cluster)
	}
	return nil
}

// clusterNotFound is upstream's answer to an unknown cluster id.
func clusterNotFound(id string) error {
	return &apiError{http.StatusNotFound, http.StatusNotFound, fmt.Sprintf("Cluster %s cannot be found.", id)}
}

// v3Meta is the metadata of a v3 resource.
type v3Meta struct {
	Self         string `json:"self"`
	ResourceName string `json:"resource_name"`
}

// v3ListMeta is the metadata of a v3 list.
type v3ListMeta struct {
	Self string  `json:"self"`
	Next *string `json:"next"` // always null
}

// v3Rel is a link to a related resource.
type v3Rel struct {
	Related string `json:"related"`
}

// v3List is a v3 collection.
type v3List[T any] struct {
	Kind     string     `json:"kind"`
	Metadata v3ListMeta `json:"metadata"`
	Data     []T        `json:"data"`
}

// baseURL is the scheme and host every link of an answer to r starts with:
// those r was sent to, as upstream builds them when no advertised listener
// is configured.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// link returns the URL of a resource of c's cluster:
// <base>/v3/clusters/<cluster id>/<segments>, each segment escaped and empty
// ones left out, as upstream's UrlFactory builds it.
func (c *restCall) link(segments ...string) string {
	var b strings.Builder
	b.WriteString(baseURL(c.r))
	for _, s := range append([]string{"v3", "clusters", c.cluster}, segments...) {
		if s != "" {
			b.WriteByte('/')
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String()
}

// rel returns a link to a resource of c's cluster.
func (c *restCall) rel(segments ...string) v3Rel { return v3Rel{c.link(segments...)} }

// crn returns a resource's name in upstream's CRN form with an empty
// authority: crn:///kafka=<cluster id>/<type>=<id>/…, from type, id pairs;
// a last type without an id stands alone.
func (c *restCall) crn(pairs ...string) string {
	var b strings.Builder
	b.WriteString("crn:///kafka=" + c.cluster)
	for i := 0; i < len(pairs); i += 2 {
		b.WriteString("/" + pairs[i])
		if i+1 < len(pairs) {
			b.WriteString("=" + pairs[i+1])
		}
	}
	return b.String()
}

// v3ListOf returns a v3 list of kind whose self link is link(self...).
func v3ListOf[T any](c *restCall, kind string, data []T, self ...string) v3List[T] {
	if data == nil {
		data = []T{}
	}
	return v3List[T]{Kind: kind, Metadata: v3ListMeta{Self: c.link(self...)}, Data: data}
}

// itoa formats an id for links and CRNs.
func itoa(n int32) string { return strconv.Itoa(int(n)) }

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
func (c *restCall) clusterOf(cl admin.Cluster) v3Cluster {
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
func describeCluster(ctx context.Context, adm adminer, want string) (admin.Cluster, error) {
	cl, err := adm.Cluster(ctx)
	if err == nil && want != "" && cl.ID != want {
		err = clusterNotFound(want)
	}
	return cl, err
}

// handleV3Clusters lists the one cluster krest serves.
func handleV3Clusters(adm adminer) http.Handler {
	return serveRest(v3ErrorFor, nil, func(c *restCall) (int, any, error) {
		cl, err := describeCluster(c.r.Context(), adm, "")
		if err != nil {
			return 0, nil, err
		}
		c.cluster = cl.ID
		l := v3ListOf(c, "KafkaClusterList", []v3Cluster{c.clusterOf(cl)})
		l.Metadata.Self = baseURL(c.r) + "/v3/clusters"
		return http.StatusOK, l, nil
	})
}

// handleV3Cluster describes the cluster.
func handleV3Cluster(adm adminer) http.Handler {
	return serveRest(v3ErrorFor, nil, func(c *restCall) (int, any, error) {
		cl, err := describeCluster(c.r.Context(), adm, c.cluster)
		return http.StatusOK, c.clusterOf(cl), err
	})
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

func (c *restCall) brokerOf(b admin.Broker) v3Broker {
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

// handleV3Brokers lists the brokers.
func handleV3Brokers(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		bs, err := adm.Brokers(c.r.Context())
		return http.StatusOK, v3ListOf(c, "KafkaBrokerList", mapSlice(bs, c.brokerOf), "brokers"), err
	})
}

// handleV3Broker describes one broker.
func handleV3Broker(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		b, err := adm.Broker(c.r.Context(), c.broker)
		return http.StatusOK, c.brokerOf(b), err
	})
}

// ---- configs ----

// v3Config holds the fields every v3 config shares.
type v3Config struct {
	Name        string      `json:"name"`
	Value       *string     `json:"value"` // null if unset or sensitive
	IsDefault   bool        `json:"is_default"`
	IsReadOnly  bool        `json:"is_read_only"`
	IsSensitive bool        `json:"is_sensitive"`
	Source      string      `json:"source"`
	Synonyms    []v3Synonym `json:"synonyms"`
}

// v3Synonym is one value a config could take from one source.
type v3Synonym struct {
	Name   string  `json:"name"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

// v3BrokerConfig is a KafkaBrokerConfig.
type v3BrokerConfig struct {
	Kind      string `json:"kind"`
	Metadata  v3Meta `json:"metadata"`
	ClusterID string `json:"cluster_id"`
	BrokerID  int32  `json:"broker_id"`
	v3Config
}

// v3TopicConfig is a KafkaTopicConfig.
type v3TopicConfig struct {
	Kind      string `json:"kind"`
	Metadata  v3Meta `json:"metadata"`
	ClusterID string `json:"cluster_id"`
	TopicName string `json:"topic_name"`
	v3Config
}

// configSources are the config sources upstream names; any other is
// UNKNOWN there, and here.
var configSources = map[string]bool{
	"DYNAMIC_TOPIC_CONFIG": true, "DYNAMIC_BROKER_LOGGER_CONFIG": true, "DYNAMIC_BROKER_CONFIG": true,
	"DYNAMIC_DEFAULT_BROKER_CONFIG": true, "STATIC_BROKER_CONFIG": true, "DEFAULT_CONFIG": true,
}

func configSource(s string) string {
	if configSources[s] {
		return s
	}
	return "UNKNOWN"
}

func configOf(cfg admin.Config) v3Config {
	return v3Config{
		Name: cfg.Name, Value: cfg.Value, IsDefault: cfg.IsDefault, IsReadOnly: cfg.IsReadOnly,
		IsSensitive: cfg.IsSensitive, Source: configSource(cfg.Source),
		Synonyms: mapSlice(cfg.Synonyms, func(s admin.ConfigSynonym) v3Synonym {
			return v3Synonym{Name: s.Name, Value: s.Value, Source: configSource(s.Source)}
		}),
	}
}

// brokerConfigOf returns the describer of broker's configs.
func (c *restCall) brokerConfigOf(broker int32) func(admin.Config) v3BrokerConfig {
	id := itoa(broker)
	return func(cfg admin.Config) v3BrokerConfig {
		return v3BrokerConfig{
			Kind: "KafkaBrokerConfig",
			Metadata: v3Meta{Self: c.link("brokers", id, "configs", cfg.Name),
				ResourceName: c.crn("broker", id, "config", cfg.Name)},
			ClusterID: c.cluster, BrokerID: broker, v3Config: configOf(cfg),
		}
	}
}

// topicConfigOf returns the describer of topic's configs.
func (c *restCall) topicConfigOf(topic string) func(admin.Config) v3TopicConfig {
	return func(cfg admin.Config) v3TopicConfig {
		return v3TopicConfig{
			Kind: "KafkaTopicConfig",
			Metadata: v3Meta{Self: c.link("topics", topic, "configs", cfg.Name),
				ResourceName: c.crn("topic", topic, "config", cfg.Name)},
			ClusterID: c.cluster, TopicName: topic, v3Config: configOf(cfg),
		}
	}
}

// handleV3BrokerConfigs lists a broker's configs.
func handleV3BrokerConfigs(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		cs, err := adm.BrokerConfigs(c.r.Context(), c.broker)
		return http.StatusOK, v3ListOf(c, "KafkaBrokerConfigList", mapSlice(cs, c.brokerConfigOf(c.broker)),
			"brokers", itoa(c.broker), "configs"), err
	})
}

// handleV3AllBrokerConfigs lists the configs of every broker, by broker,
// then name.
func handleV3AllBrokerConfigs(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		bs, err := adm.Brokers(c.r.Context())
		var data []v3BrokerConfig
		for _, b := range bs {
			if err != nil {
				break
			}
			var cs []admin.Config
			cs, err = adm.BrokerConfigs(c.r.Context(), b.ID)
			data = append(data, mapSlice(cs, c.brokerConfigOf(b.ID))...)
		}
		return http.StatusOK, v3ListOf(c, "KafkaBrokerConfigList", data, "brokers", "-", "configs"), err
	})
}

// handleV3BrokerConfig describes one config of a broker.
func handleV3BrokerConfig(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		cfg, err := adm.BrokerConfig(c.r.Context(), c.broker, c.r.PathValue("name"))
		return http.StatusOK, c.brokerConfigOf(c.broker)(cfg), err
	})
}

// handleV3TopicConfigs lists a topic's configs.
func handleV3TopicConfigs(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		cs, err := adm.TopicConfigs(c.r.Context(), c.topic)
		return http.StatusOK, v3ListOf(c, "KafkaTopicConfigList", mapSlice(cs, c.topicConfigOf(c.topic)),
			"topics", c.topic, "configs"), err
	})
}

// handleV3AllTopicConfigs lists the configs of every topic but internal
// ones, by topic, then name.
func handleV3AllTopicConfigs(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		names, err := adm.TopicNames(c.r.Context())
		var data []v3TopicConfig
		for _, name := range names {
			if err != nil {
				break
			}
			var cs []admin.Config
			cs, err = adm.TopicConfigs(c.r.Context(), name)
			data = append(data, mapSlice(cs, c.topicConfigOf(name))...)
		}
		return http.StatusOK, v3ListOf(c, "KafkaTopicConfigList", data, "topics", "-", "configs"), err
	})
}

// handleV3TopicConfig describes one config of a topic.
func handleV3TopicConfig(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		cfg, err := adm.TopicConfig(c.r.Context(), c.topic, c.r.PathValue("name"))
		return http.StatusOK, c.topicConfigOf(c.topic)(cfg), err
	})
}

// v3ConfigUpdate is the body of PUT …/configs/{name}.
type v3ConfigUpdate struct {
	Value *string `json:"value"`
}

// v3ConfigBatch is the body of POST …/configs:alter.
type v3ConfigBatch struct {
	Data []struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		Operation *string `json:"operation"` // SET (the default) or DELETE
	} `json:"data"`
	ValidateOnly bool `json:"validate_only"`
}

// alterations validates the batch and returns its changes.
func (b v3ConfigBatch) alterations() ([]admin.ConfigAlteration, error) {
	if b.Data == nil {
		return nil, &apiError{http.StatusBadRequest, codeInvalidField, "field data is required"}
	}
	changes := make([]admin.ConfigAlteration, 0, len(b.Data))
	for i, d := range b.Data {
		if d.Name == "" {
			return nil, &apiError{http.StatusBadRequest, codeInvalidField, fmt.Sprintf("field data[%d].name is required", i)}
		}
		op := "SET"
		if d.Operation != nil {
			op = *d.Operation
		}
		switch op {
		case "SET":
			changes = append(changes, admin.ConfigAlteration{Name: d.Name, Value: d.Value})
		case "DELETE":
			changes = append(changes, admin.ConfigAlteration{Name: d.Name, Delete: true})
		default:
			return nil, &apiError{http.StatusBadRequest, codeInvalidField,
				fmt.Sprintf("field data[%d].operation must be SET or DELETE, not %q", i, *d.Operation)}
		}
	}
	return changes, nil
}

// alterTopicConfigs applies changes to c's topic after checking, as
// upstream does, that the topic has every config they name: an unknown name
// is a 404, not a broker error.
func alterTopicConfigs(c *restCall, adm adminer, changes []admin.ConfigAlteration, validateOnly bool) (int, any, error) {
	cs, err := adm.TopicConfigs(c.r.Context(), c.topic)
	if err != nil {
		return 0, nil, err
	}
	known := make(map[string]bool, len(cs))
	for _, cfg := range cs {
		known[cfg.Name] = true
	}
	for _, ch := range changes {
		if !known[ch.Name] {
			return 0, nil, &apiError{http.StatusNotFound, http.StatusNotFound,
				fmt.Sprintf("Config %s cannot be found for TOPIC %s in cluster %s.", ch.Name, c.topic, c.cluster)}
		}
	}
	return http.StatusNoContent, nil, adm.AlterTopicConfigs(c.r.Context(), c.topic, changes, validateOnly)
}

// handleV3UpdateTopicConfig sets one config of a topic.
func handleV3UpdateTopicConfig(adm adminer, maxBody int64) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		body, err := decode[v3ConfigUpdate](c.w, c.r, maxBody)
		if err != nil {
			return 0, nil, err
		}
		return alterTopicConfigs(c, adm, []admin.ConfigAlteration{{Name: c.r.PathValue("name"), Value: body.Value}}, false)
	})
}

// handleV3ResetTopicConfig resets one config of a topic to its default.
func handleV3ResetTopicConfig(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		return alterTopicConfigs(c, adm, []admin.ConfigAlteration{{Name: c.r.PathValue("name"), Delete: true}}, false)
	})
}

// handleV3AlterTopicConfigs applies a batch of config changes to a topic,
// all or none; with validate_only, the broker only checks them.
func handleV3AlterTopicConfigs(adm adminer, maxBody int64) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		body, err := decode[v3ConfigBatch](c.w, c.r, maxBody)
		if err != nil {
			return 0, nil, err
		}
		changes, err := body.alterations()
		if err != nil {
			return 0, nil, err
		}
		return alterTopicConfigs(c, adm, changes, body.ValidateOnly)
	})
}

// ---- topics ----

// v3Topic is a KafkaTopic.
type v3Topic struct {
	Kind                   string   `json:"kind"`
	Metadata               v3Meta   `json:"metadata"`
	ClusterID              string   `json:"cluster_id"`
	TopicName              string   `json:"topic_name"`
	IsInternal             bool     `json:"is_internal"`
	ReplicationFactor      int      `json:"replication_factor"`
	PartitionsCount        int      `json:"partitions_count"`
	Partitions             v3Rel    `json:"partitions"`
	Configs                v3Rel    `json:"configs"`
	PartitionReassignments v3Rel    `json:"partition_reassignments"`
	AuthorizedOperations   []string `json:"authorized_operations"` // [] unless asked for
}

// topicOf describes t; its authorized operations only with withOps, as
// upstream's include_authorized_operations asks.
func (c *restCall) topicOf(t admin.Topic, withOps bool) v3Topic {
	ops := []string{}
	if withOps && t.AuthorizedOperations != nil {
		ops = t.AuthorizedOperations
	}
	return v3Topic{
		Kind:                   "KafkaTopic",
		Metadata:               v3Meta{Self: c.link("topics", t.Name), ResourceName: c.crn("topic", t.Name)},
		ClusterID:              c.cluster,
		TopicName:              t.Name,
		IsInternal:             t.Internal,
		ReplicationFactor:      t.ReplicationFactor,
		PartitionsCount:        t.PartitionsCount,
		Partitions:             c.rel("topics", t.Name, "partitions"),
		Configs:                c.rel("topics", t.Name, "configs"),
		PartitionReassignments: c.rel("topics", t.Name, "partitions", "-", "reassignment"),
		AuthorizedOperations:   ops,
	}
}

// handleV3Topics lists the topics but internal ones, as upstream does.
func handleV3Topics(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		ts, err := adm.Topics(c.r.Context())
		var data []v3Topic
		for _, t := range ts {
			if !t.Internal {
				data = append(data, c.topicOf(t, false))
			}
		}
		return http.StatusOK, v3ListOf(c, "KafkaTopicList", data, "topics"), err
	})
}

// handleV3Topic describes one topic.
func handleV3Topic(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		t, err := adm.Topic(c.r.Context(), c.topic)
		withOps, _ := strconv.ParseBool(c.r.URL.Query().Get("include_authorized_operations"))
		return http.StatusOK, c.topicOf(t, withOps), err
	})
}

// v3NewTopic is the body of POST …/topics.
type v3NewTopic struct {
	TopicName           string             `json:"topic_name"`
	PartitionsCount     *int32             `json:"partitions_count"`
	ReplicationFactor   *int16             `json:"replication_factor"`
	ReplicasAssignments map[string][]int32 `json:"replicas_assignments"`
	Configs             []struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	} `json:"configs"`
	ValidateOnly bool `json:"validate_only"`
}

// topic validates the request and returns the topic to create. A missing
// partition count or replication factor takes the broker's default; an
// invalid name is upstream's 422 (42206).
func (b v3NewTopic) topic() (admin.NewTopic, error) {
	bad := func(format string, args ...any) (admin.NewTopic, error) {
		return admin.NewTopic{}, &apiError{http.StatusBadRequest, codeInvalidField, fmt.Sprintf(format, args...)}
	}
	if b.TopicName == "" {
		return bad("field topic_name is required")
	}
	if err := admin.ValidTopicName(b.TopicName); err != nil {
		return admin.NewTopic{}, &apiError{http.StatusUnprocessableEntity, codeInvalidPayload,
			"Payload error. Invalid topic name: " + err.Error()}
	}
	if len(b.ReplicasAssignments) > 0 {
		return bad("field replicas_assignments is not supported; give partitions_count and replication_factor")
	}
	t := admin.NewTopic{Name: b.TopicName, ValidateOnly: b.ValidateOnly}
	if b.PartitionsCount != nil {
		if *b.PartitionsCount < 1 {
			return bad("field partitions_count must be at least 1, not %d", *b.PartitionsCount)
		}
		t.Partitions = *b.PartitionsCount
	}
	if b.ReplicationFactor != nil {
		if *b.ReplicationFactor < 1 {
			return bad("field replication_factor must be at least 1, not %d", *b.ReplicationFactor)
		}
		t.ReplicationFactor = *b.ReplicationFactor
	}
	for i, cfg := range b.Configs {
		if cfg.Name == "" {
			return bad("field configs[%d].name is required", i)
		}
		if cfg.Value != nil { // a null value leaves the default
			if t.Configs == nil {
				t.Configs = make(map[string]string)
			}
			t.Configs[cfg.Name] = *cfg.Value
		}
	}
	return t, nil
}

// handleV3CreateTopic creates a topic: 201 with the topic and its Location,
// or with validate_only 200 and nothing created.
func handleV3CreateTopic(adm adminer, maxBody int64) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		body, err := decode[v3NewTopic](c.w, c.r, maxBody)
		if err != nil {
			return 0, nil, err
		}
		nt, err := body.topic()
		if err != nil {
			return 0, nil, err
		}
		t, err := adm.CreateTopic(c.r.Context(), nt)
		if err != nil {
			return 0, nil, err
		}
		v := c.topicOf(t, false)
		c.w.Header().Set("Location", v.Metadata.Self)
		if nt.ValidateOnly {
			return http.StatusOK, v, nil
		}
		return http.StatusCreated, v, nil
	})
}

// handleV3DeleteTopic deletes a topic.
func handleV3DeleteTopic(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		return http.StatusNoContent, nil, adm.DeleteTopic(c.r.Context(), c.topic)
	})
}

// v3PartitionCount is the body of PATCH …/topics/{topic_name}.
type v3PartitionCount struct {
	PartitionsCount *int32 `json:"partitions_count"`
}

// handleV3UpdatePartitionCount raises a topic's partition count and
// answers the topic as it now is.
func handleV3UpdatePartitionCount(adm adminer, maxBody int64) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		body, err := decode[v3PartitionCount](c.w, c.r, maxBody)
		if err == nil && body.PartitionsCount == nil {
			err = &apiError{http.StatusBadRequest, codeInvalidField, "field partitions_count is required"}
		}
		if err == nil {
			err = adm.SetPartitionCount(c.r.Context(), c.topic, int(*body.PartitionsCount))
		}
		if err != nil {
			return 0, nil, err
		}
		t, err := adm.Topic(c.r.Context(), c.topic)
		return http.StatusOK, c.topicOf(t, false), err
	})
}

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

func (c *restCall) partitionOf(p admin.Partition) v3Partition {
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

// handleV3Partitions lists a topic's partitions.
func handleV3Partitions(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		ps, err := adm.Partitions(c.r.Context(), c.topic)
		return http.StatusOK, v3ListOf(c, "KafkaPartitionList", mapSlice(ps, c.partitionOf),
			"topics", c.topic, "partitions"), err
	})
}

// handleV3Partition describes one partition.
func handleV3Partition(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		p, err := adm.Partition(c.r.Context(), c.topic, c.partition)
		return http.StatusOK, c.partitionOf(p), err
	})
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

// handleV3PartitionOffsets answers a partition's earliest and latest
// offsets (?offset_type=earliest_and_latest, the default and only type).
func handleV3PartitionOffsets(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		offsetType := offsetTypeBoth
		if q := c.r.URL.Query(); q.Has("offset_type") {
			offsetType = q.Get("offset_type")
		}
		if offsetType != offsetTypeBoth {
			return 0, nil, &apiError{http.StatusBadRequest, http.StatusBadRequest,
				fmt.Sprintf("offset_type:%s is invalid; the one offset type is %s", offsetType, offsetTypeBoth)}
		}
		o, err := adm.Offsets(c.r.Context(), c.topic, c.partition)
		id := itoa(c.partition)
		return http.StatusOK, v3PartitionOffsets{
			Kind: "KafkaPartitionWithOffsets",
			Metadata: v3Meta{Self: c.link("topics", c.topic, "partitions", id, "offset"),
				ResourceName: c.crn("topic", c.topic, "partition", id, "offset_type", offsetType)},
			ClusterID: c.cluster, TopicName: c.topic, PartitionID: c.partition,
			EarliestOffset: o.Earliest, LatestOffset: o.Latest,
		}, err
	})
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
func (c *restCall) replicasOf(p admin.Partition) []v3Replica {
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

// handleV3Replicas lists a partition's replicas.
func handleV3Replicas(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		p, err := adm.Partition(c.r.Context(), c.topic, c.partition)
		return http.StatusOK, v3ListOf(c, "KafkaReplicaList", c.replicasOf(p),
			"topics", c.topic, "partitions", itoa(c.partition), "replicas"), err
	})
}

// handleV3Replica describes a partition's replica on one broker.
func handleV3Replica(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		p, err := adm.Partition(c.r.Context(), c.topic, c.partition)
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
	})
}

// handleV3BrokerReplicas lists the replicas a broker holds, internal
// topics' included, by topic, then partition.
func handleV3BrokerReplicas(adm adminer) http.Handler {
	return handleV3(adm, func(c *restCall) (int, any, error) {
		_, err := adm.Broker(c.r.Context(), c.broker)
		var ts []admin.Topic
		if err == nil {
			ts, err = adm.Topics(c.r.Context())
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
	})
}
