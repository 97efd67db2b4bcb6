package admin

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
)

// Config is one config of a topic or broker.
type Config struct {
	Name string // Name is the config name, such as "cleanup.policy".

	// Value is the config's current value. It is nil if the config has
	// no value or is sensitive.
	Value *string

	IsDefault   bool // IsDefault is whether the value is Kafka's default (Source is DEFAULT_CONFIG).
	IsReadOnly  bool // IsReadOnly is whether the config cannot be changed at runtime.
	IsSensitive bool // IsSensitive is whether the value is a secret; Value is then nil.

	// Source is where the value comes from, as Kafka's ConfigSource enum
	// names it: DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG,
	// DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG,
	// DYNAMIC_BROKER_LOGGER_CONFIG, ... or UNKNOWN.
	Source string

	// Synonyms lists every value that applies to this config, in order of
	// precedence, the one in effect first.
	Synonyms []ConfigSynonym
}

// ConfigSynonym is one value a config could take from one source.
type ConfigSynonym struct {
	Name   string  // Name is the config name at this source (brokers name some defaults differently, such as "log.retention.ms").
	Value  *string // Value is the value at this source, or nil if sensitive.
	Source string  // Source is named as in Config.Source.
}

// ConfigAlteration is one change in AlterTopicConfigs.
type ConfigAlteration struct {
	Name  string  // Name is the config to change.
	Value *string // Value is the new value; ignored when Delete is set.

	// Delete removes the topic's own value, so that the config falls back
	// to the broker's or Kafka's default.
	Delete bool
}

// TopicConfigs returns every config of the named topic, sorted by name, or an
// error wrapping kafka.ErrTopicNotFound.
func (a *Admin) TopicConfigs(ctx context.Context, topic string) ([]Config, error) {
	return a.describeConfigs(ctx, kmsg.ConfigResourceTypeTopic, topic, nil)
}

// TopicConfig returns one config of the named topic, or an error wrapping
// kafka.ErrTopicNotFound or ErrConfigNotFound.
func (a *Admin) TopicConfig(ctx context.Context, topic, name string) (Config, error) {
	return a.describeConfig(ctx, kmsg.ConfigResourceTypeTopic, topic, name)
}

// BrokerConfigs returns every config of the broker with the given id, sorted
// by name, or an error wrapping ErrBrokerNotFound.
func (a *Admin) BrokerConfigs(ctx context.Context, broker int32) ([]Config, error) {
	if _, err := a.Broker(ctx, broker); err != nil {
		return nil, err
	}
	return a.describeConfigs(ctx, kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(broker)), nil)
}

// BrokerConfig returns one config of the broker with the given id, or an
// error wrapping ErrBrokerNotFound or ErrConfigNotFound.
func (a *Admin) BrokerConfig(ctx context.Context, broker int32, name string) (Config, error) {
	if _, err := a.Broker(ctx, broker); err != nil {
		return Config{}, err
	}
	return a.describeConfig(ctx, kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(broker)), name)
}

// SetTopicConfig sets one config of the named topic. Errors wrap
// kafka.ErrTopicNotFound, or kafka.ErrInvalidRequest for an unknown name or a bad value.
func (a *Admin) SetTopicConfig(ctx context.Context, topic, name, value string) error {
	return a.AlterTopicConfigs(ctx, topic, []ConfigAlteration{{Name: name, Value: &value}}, false)
}

// ResetTopicConfig removes the named topic's own value of one config, so that
// the default applies again. Errors wrap kafka.ErrTopicNotFound, or
// kafka.ErrInvalidRequest for an unknown name.
func (a *Admin) ResetTopicConfig(ctx context.Context, topic, name string) error {
	return a.AlterTopicConfigs(ctx, topic, []ConfigAlteration{{Name: name, Delete: true}}, false)
}

// AlterTopicConfigs applies changes to the named topic's configs in one
// incremental alter request: the broker applies all or none. With
// validateOnly, the broker only checks them. Errors wrap kafka.ErrTopicNotFound, or
// kafka.ErrInvalidRequest for an unknown name or a bad value.
func (a *Admin) AlterTopicConfigs(ctx context.Context, topic string, changes []ConfigAlteration, validateOnly bool) error {
	op := fmt.Sprintf("alter configs of topic %q", topic)
	if len(changes) == 0 {
		return nil
	}
	alters := make([]kadm.AlterConfig, 0, len(changes))
	for _, c := range changes {
		if c.Name == "" {
			return fmt.Errorf("%s: a config name is empty: %w", op, kafka.ErrInvalidRequest)
		}
		ac := kadm.AlterConfig{Op: kadm.SetConfig, Name: c.Name, Value: c.Value}
		if c.Delete {
			ac = kadm.AlterConfig{Op: kadm.DeleteConfig, Name: c.Name}
		}
		alters = append(alters, ac)
	}
	alter := a.adm.AlterTopicConfigs
	if validateOnly {
		alter = a.adm.ValidateAlterTopicConfigs
	}
	rs, err := alter(ctx, alters, topic)
	if err != nil {
		return brokerErr(op, err, "")
	}
	r, err := rs.On(topic, nil)
	if err != nil {
		return fmt.Errorf("%s: the response does not mention the topic: %w", op, kafka.ErrUnavailable)
	}
	return brokerErr(op, r.Err, r.ErrMessage)
}

// describeConfig returns the config called name of one resource.
func (a *Admin) describeConfig(ctx context.Context, kind kmsg.ConfigResourceType, resource, name string) (Config, error) {
	cs, err := a.describeConfigs(ctx, kind, resource, []string{name})
	if err != nil {
		return Config{}, err
	}
	for _, c := range cs {
		if c.Name == name {
			return c, nil
		}
	}
	return Config{}, fmt.Errorf("%s config %q: %w", describeWhat(kind, resource), name, ErrConfigNotFound)
}

// describeConfigs returns the configs of one resource: those called names,
// or all if names is nil.
//
// This issues DescribeConfigs itself rather than through kadm, whose Config
// drops the read-only flag.
func (a *Admin) describeConfigs(ctx context.Context, kind kmsg.ConfigResourceType, resource string, names []string) ([]Config, error) {
	op := "describe configs of " + describeWhat(kind, resource)

	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType = kind
	rr.ResourceName = resource
	rr.ConfigNames = names
	req.Resources = append(req.Resources, rr)

	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, brokerErr(op, err, "")
	}
	for _, r := range resp.Resources {
		if r.ResourceType != kind || r.ResourceName != resource {
			continue
		}
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			var msg string
			if r.ErrorMessage != nil {
				msg = *r.ErrorMessage
			}
			return nil, brokerErr(op, err, msg)
		}
		cs := make([]Config, 0, len(r.Configs))
		for _, rc := range r.Configs {
			c := Config{
				Name:        rc.Name,
				Value:       rc.Value,
				IsDefault:   rc.Source == kmsg.ConfigSourceDefaultConfig,
				IsReadOnly:  rc.ReadOnly,
				IsSensitive: rc.IsSensitive,
				Source:      rc.Source.String(),
			}
			if c.IsSensitive {
				c.Value = nil
			}
			for _, s := range rc.ConfigSynonyms {
				syn := ConfigSynonym{Name: s.Name, Value: s.Value, Source: s.Source.String()}
				if c.IsSensitive {
					syn.Value = nil
				}
				c.Synonyms = append(c.Synonyms, syn)
			}
			cs = append(cs, c)
		}
		slices.SortFunc(cs, func(l, r Config) int { return strings.Compare(l.Name, r.Name) })
		return cs, nil
	}
	return nil, fmt.Errorf("%s: the response does not mention it: %w", op, kafka.ErrUnavailable)
}

// describeWhat names a config resource in error messages.
func describeWhat(kind kmsg.ConfigResourceType, resource string) string {
	if kind == kmsg.ConfigResourceTypeBroker {
		return "broker " + resource
	}
	return fmt.Sprintf("topic %q", resource)
}
