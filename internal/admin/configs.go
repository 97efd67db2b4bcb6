package admin

import (
	"context"
	"errors"
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
	return a.describeConfigsOf(ctx, kmsg.ConfigResourceTypeTopic, topic, nil)
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
	return a.describeConfigsOf(ctx, kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(broker)), nil)
}

// BrokerConfig returns one config of the broker with the given id, or an
// error wrapping ErrBrokerNotFound or ErrConfigNotFound.
func (a *Admin) BrokerConfig(ctx context.Context, broker int32, name string) (Config, error) {
	if _, err := a.Broker(ctx, broker); err != nil {
		return Config{}, err
	}
	return a.describeConfig(ctx, kmsg.ConfigResourceTypeBroker, strconv.Itoa(int(broker)), name)
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

// TopicConfigs is the configs of one topic.
type TopicConfigs struct {
	Topic   string   // Topic is the topic name.
	Configs []Config // Configs holds the topic's configs sorted by name.
}

// BrokerConfigs is the configs of one broker.
type BrokerConfigs struct {
	Broker  int32    // Broker is the broker's id.
	Configs []Config // Configs holds the broker's configs sorted by name.
}

// topicConfigsPerPage is how many topics' configs a page of
// AllTopicConfigs holds per MaxListItems item: a topic has about 40
// configs (Kafka 4), so a page of MaxListItems/50 topics holds about
// MaxListItems configs.
const topicConfigsPerPage = 50

// AllTopicConfigs returns one page of the configs of every topic except
// internal ones, by topic name, each topic's sorted by name: the topics
// named after after, at most limit topics (see Page; 0 or more than
// MaxListItems/50 means MaxListItems/50, at least 1, so that a page holds
// about MaxListItems configs). It asks for the topics' names in one
// metadata request and for their configs in one DescribeConfigs request.
// A topic deleted between the two is left out.
func (a *Admin) AllTopicConfigs(ctx context.Context, after string, limit int) (Page[TopicConfigs], error) {
	const op = "describe configs of every topic"
	names, err := a.TopicNames(ctx)
	if err != nil {
		return Page[TopicConfigs]{}, err
	}
	most := max(a.maxList/topicConfigsPerPage, 1)
	if limit <= 0 || limit > most {
		limit = most
	}
	keys, next := pageKeys(names, after, limit)
	p := Page[TopicConfigs]{Items: make([]TopicConfigs, 0, len(keys)), Next: next}
	if len(keys) == 0 {
		return p, nil
	}
	described, err := a.describeConfigs(ctx, kmsg.ConfigResourceTypeTopic, keys, nil)
	if err != nil {
		return Page[TopicConfigs]{}, brokerErr(op, err, "")
	}
	for _, name := range keys {
		d, ok := described[name]
		switch {
		case !ok, errors.Is(d.err, kerr.UnknownTopicOrPartition):
			continue // deleted since it was listed
		case d.err != nil:
			return Page[TopicConfigs]{}, brokerErr(fmt.Sprintf("describe configs of topic %q", name), d.err, d.msg)
		}
		p.Items = append(p.Items, TopicConfigs{Topic: name, Configs: d.configs})
	}
	return p, nil
}

// AllBrokerConfigs returns the configs of every broker, by broker id, each
// broker's sorted by name. It asks for the brokers in one metadata request
// and for their configs in one DescribeConfigs request, which kgo sends in
// parts to each broker, the only one that knows its static configs. The
// answer is bounded by the cluster: a broker has a few hundred configs.
func (a *Admin) AllBrokerConfigs(ctx context.Context) ([]BrokerConfigs, error) {
	const op = "describe configs of every broker"
	bs, err := a.Brokers(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = strconv.Itoa(int(b.ID))
	}
	described, err := a.describeConfigs(ctx, kmsg.ConfigResourceTypeBroker, ids, nil)
	if err != nil {
		return nil, brokerErr(op, err, "")
	}
	out := make([]BrokerConfigs, 0, len(bs))
	for i, b := range bs {
		d, ok := described[ids[i]]
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: the response does not mention broker %d: %w", op, b.ID, kafka.ErrUnavailable)
		case d.err != nil:
			return nil, brokerErr("describe configs of broker "+ids[i], d.err, d.msg)
		}
		out = append(out, BrokerConfigs{Broker: b.ID, Configs: d.configs})
	}
	return out, nil
}

// describeConfig returns the config called name of one resource.
func (a *Admin) describeConfig(ctx context.Context, kind kmsg.ConfigResourceType, resource, name string) (Config, error) {
	cs, err := a.describeConfigsOf(ctx, kind, resource, []string{name})
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

// describeConfigsOf returns the configs of one resource: those called
// names, or all if names is nil.
func (a *Admin) describeConfigsOf(ctx context.Context, kind kmsg.ConfigResourceType, resource string, names []string) ([]Config, error) {
	op := "describe configs of " + describeWhat(kind, resource)
	described, err := a.describeConfigs(ctx, kind, []string{resource}, names)
	if err != nil {
		return nil, brokerErr(op, err, "")
	}
	d, ok := described[resource]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: the response does not mention it: %w", op, kafka.ErrUnavailable)
	case d.err != nil:
		return nil, brokerErr(op, d.err, d.msg)
	}
	return d.configs, nil
}

// describedConfigs is one resource's answer to a DescribeConfigs request:
// its configs sorted by name, or its error and the broker's message.
type describedConfigs struct {
	configs []Config
	err     error
	msg     string
}

// describeConfigs describes resources of one kind in one DescribeConfigs
// request: the configs called names, or all if names is nil. kgo sends the
// broker resources to their own brokers and the others to any. The answer
// holds each resource the response mentions, by name; err is for the
// request as a whole.
//
// This issues DescribeConfigs itself rather than through kadm, whose Config
// drops the read-only flag.
func (a *Admin) describeConfigs(ctx context.Context, kind kmsg.ConfigResourceType, resources, names []string) (map[string]describedConfigs, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = true
	for _, resource := range resources {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType = kind
		rr.ResourceName = resource
		rr.ConfigNames = names
		req.Resources = append(req.Resources, rr)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, err
	}
	out := make(map[string]describedConfigs, len(resp.Resources))
	for _, r := range resp.Resources {
		if r.ResourceType != kind {
			continue
		}
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			out[r.ResourceName] = describedConfigs{err: err, msg: deref(r.ErrorMessage)}
			continue
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
		out[r.ResourceName] = describedConfigs{configs: cs}
	}
	return out, nil
}

// describeWhat names a config resource in error messages.
func describeWhat(kind kmsg.ConfigResourceType, resource string) string {
	if kind == kmsg.ConfigResourceTypeBroker {
		return "broker " + resource
	}
	return fmt.Sprintf("topic %q", resource)
}
