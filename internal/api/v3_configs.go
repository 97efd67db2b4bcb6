package api

import (
	"fmt"
	"net/http"

	"krest/internal/admin"
	"krest/internal/naming"
)

// API v3 broker and topic configs.

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
func (c *call) brokerConfigOf(broker int32) func(admin.Config) v3BrokerConfig {
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
func (c *call) topicConfigOf(topic string) func(admin.Config) v3TopicConfig {
	return func(cfg admin.Config) v3TopicConfig {
		return v3TopicConfig{
			Kind: "KafkaTopicConfig",
			Metadata: v3Meta{Self: c.link("topics", topic, "configs", cfg.Name),
				ResourceName: c.crn("topic", topic, "config", cfg.Name)},
			ClusterID: c.cluster, TopicName: topic, v3Config: configOf(cfg),
		}
	}
}

// v3BrokerConfigs lists a broker's configs.
func (h *handlers) v3BrokerConfigs(c *call) (int, any, error) {
	cs, err := c.adm.BrokerConfigs(c.context(), c.broker)
	return http.StatusOK, v3ListOf(c, "KafkaBrokerConfigList", mapSlice(cs, c.brokerConfigOf(c.broker)),
		"brokers", itoa(c.broker), "configs"), err
}

// v3AllBrokerConfigs lists the configs of every broker, by broker,
// then name.
func (h *handlers) v3AllBrokerConfigs(c *call) (int, any, error) {
	bcs, err := c.adm.AllBrokerConfigs(c.context())
	if err != nil {
		return 0, nil, err
	}
	var data []v3BrokerConfig
	for _, bc := range bcs {
		data = append(data, mapSlice(bc.Configs, c.brokerConfigOf(bc.Broker))...)
	}
	return http.StatusOK, v3ListOf(c, "KafkaBrokerConfigList", data, "brokers", "-", "configs"), nil
}

// v3BrokerConfig describes one config of a broker.
func (h *handlers) v3BrokerConfig(c *call) (int, any, error) {
	cfg, err := c.adm.BrokerConfig(c.context(), c.broker, c.pathValue("name"))
	return http.StatusOK, c.brokerConfigOf(c.broker)(cfg), err
}

// v3TopicConfigs lists a topic's configs.
func (h *handlers) v3TopicConfigs(c *call) (int, any, error) {
	cs, err := c.adm.TopicConfigs(c.context(), c.topic)
	return http.StatusOK, v3ListOf(c, "KafkaTopicConfigList", mapSlice(cs, c.topicConfigOf(c.topic)),
		"topics", c.topic, "configs"), err
}

// v3AllTopicConfigs lists the configs of every topic but internal
// ones, by topic, then name.
func (h *handlers) v3AllTopicConfigs(c *call) (int, any, error) {
	after, err := c.pageToken(naming.Topic)
	if err != nil {
		return 0, nil, err
	}
	page, err := c.adm.AllTopicConfigs(c.context(), after, 0)
	if err != nil {
		return 0, nil, err
	}
	var data []v3TopicConfig
	for _, tc := range visible(c, resourceTopic, opDescribeConfigs, page.Items, func(tc admin.TopicConfigs) string { return tc.Topic }) {
		data = append(data, mapSlice(tc.Configs, c.topicConfigOf(tc.Topic))...)
	}
	return http.StatusOK, v3PageOf(c, "KafkaTopicConfigList", data, page.Next, "topics", "-", "configs"), nil
}

// v3TopicConfig describes one config of a topic.
func (h *handlers) v3TopicConfig(c *call) (int, any, error) {
	cfg, err := c.adm.TopicConfig(c.context(), c.topic, c.pathValue("name"))
	return http.StatusOK, c.topicConfigOf(c.topic)(cfg), err
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
func (h *handlers) alterTopicConfigs(c *call, changes []admin.ConfigAlteration, validateOnly bool) (int, any, error) {
	cs, err := c.adm.TopicConfigs(c.context(), c.topic)
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
	return http.StatusNoContent, nil, c.adm.AlterTopicConfigs(c.context(), c.topic, changes, validateOnly)
}

// v3UpdateTopicConfig sets one config of a topic.
func (h *handlers) v3UpdateTopicConfig(c *call) (int, any, error) {
	body, err := decode[v3ConfigUpdate](c)
	if err != nil {
		return 0, nil, err
	}
	return h.alterTopicConfigs(c, []admin.ConfigAlteration{{Name: c.pathValue("name"), Value: body.Value}}, false)
}

// v3ResetTopicConfig resets one config of a topic to its default.
func (h *handlers) v3ResetTopicConfig(c *call) (int, any, error) {
	return h.alterTopicConfigs(c, []admin.ConfigAlteration{{Name: c.pathValue("name"), Delete: true}}, false)
}

// v3AlterTopicConfigs applies a batch of config changes to a topic,
// all or none; with validate_only, the broker only checks them.
func (h *handlers) v3AlterTopicConfigs(c *call) (int, any, error) {
	body, err := decode[v3ConfigBatch](c)
	if err != nil {
		return 0, nil, err
	}
	changes, err := body.alterations()
	if err != nil {
		return 0, nil, err
	}
	return h.alterTopicConfigs(c, changes, body.ValidateOnly)
}
