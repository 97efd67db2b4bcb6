package admin

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"krest/internal/kafka"
)

// value returns the value of the named topic config, failing the test if it
// cannot be read.
func value(t *testing.T, a *Admin, topic, name string) Config {
	t.Helper()
	c, err := a.TopicConfig(testCtx(t), topic, name)
	if err != nil {
		t.Fatalf("TopicConfig(%q, %q): %v", topic, name, err)
	}
	return c
}

func ptr(s string) *string { return &s }

func TestTopicConfigs(t *testing.T) {
	a, _ := newAdmin(t, kfake.SeedTopics(1, "t"))
	ctx := testCtx(t)

	cs, err := a.TopicConfigs(ctx, "t")
	wantErr(t, err, nil)
	var found bool
	for i, c := range cs {
		if i > 0 && cs[i-1].Name >= c.Name {
			t.Errorf("configs not sorted by name: %q before %q", cs[i-1].Name, c.Name)
		}
		if c.Name == "cleanup.policy" {
			found = true
			if c.Value == nil || *c.Value != "delete" || !c.IsDefault || c.Source != "DEFAULT_CONFIG" || c.IsReadOnly {
				t.Errorf("cleanup.policy = %+v, want the writable default delete", c)
			}
		}
	}
	if !found {
		t.Fatalf("no cleanup.policy among %+v", cs)
	}

	_, err = a.TopicConfigs(ctx, "missing")
	wantErr(t, err, kafka.ErrTopicNotFound)
	_, err = a.TopicConfig(ctx, "missing", "cleanup.policy")
	wantErr(t, err, kafka.ErrTopicNotFound)
	_, err = a.TopicConfig(ctx, "t", "no.such.config")
	wantErr(t, err, ErrConfigNotFound)
}

func TestSetAndResetTopicConfig(t *testing.T) {
	a, _ := newAdmin(t, kfake.SeedTopics(1, "t"))
	ctx := testCtx(t)

	set := func(topic, value string) error {
		return a.AlterTopicConfigs(ctx, topic, []ConfigAlteration{{Name: "cleanup.policy", Value: &value}}, false)
	}
	wantErr(t, set("t", "compact"), nil)
	c := value(t, a, "t", "cleanup.policy")
	if c.Value == nil || *c.Value != "compact" || c.IsDefault || c.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("after set, cleanup.policy = %+v, want compact from DYNAMIC_TOPIC_CONFIG", c)
	}
	var hasDefault bool
	for _, s := range c.Synonyms {
		hasDefault = hasDefault || s.Source == "DEFAULT_CONFIG" && s.Value != nil && *s.Value == "delete"
	}
	if !hasDefault {
		t.Errorf("after set, cleanup.policy synonyms = %+v, want the default delete among them", c.Synonyms)
	}

	wantErr(t, a.ResetTopicConfig(ctx, "t", "cleanup.policy"), nil)
	if c := value(t, a, "t", "cleanup.policy"); c.Value == nil || *c.Value != "delete" || !c.IsDefault {
		t.Errorf("after reset, cleanup.policy = %+v, want the default delete", c)
	}

	wantErr(t, set("missing", "compact"), kafka.ErrTopicNotFound)
	wantErr(t, a.ResetTopicConfig(ctx, "missing", "cleanup.policy"), kafka.ErrTopicNotFound)
}

func TestAlterTopicConfigs(t *testing.T) {
	a, _ := newAdmin(t, kfake.SeedTopics(1, "t"))
	ctx := testCtx(t)
	set := func(topic, value string) error {
		return a.AlterTopicConfigs(ctx, topic, []ConfigAlteration{{Name: "cleanup.policy", Value: &value}}, false)
	}
	wantErr(t, set("t", "compact"), nil)

	batch := []ConfigAlteration{
		{Name: "cleanup.policy", Delete: true},
		{Name: "compression.type", Value: ptr("gzip")},
	}

	// Validating changes nothing.
	wantErr(t, a.AlterTopicConfigs(ctx, "t", batch, true), nil)
	if c := value(t, a, "t", "cleanup.policy"); *c.Value != "compact" {
		t.Errorf("after validate only, cleanup.policy = %s, want compact", *c.Value)
	}
	if c := value(t, a, "t", "compression.type"); *c.Value != "producer" {
		t.Errorf("after validate only, compression.type = %s, want the default producer", *c.Value)
	}

	wantErr(t, a.AlterTopicConfigs(ctx, "t", batch, false), nil)
	if c := value(t, a, "t", "cleanup.policy"); *c.Value != "delete" || !c.IsDefault {
		t.Errorf("after alter, cleanup.policy = %+v, want the default delete", c)
	}
	if c := value(t, a, "t", "compression.type"); *c.Value != "gzip" || c.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Errorf("after alter, compression.type = %+v, want gzip", c)
	}

	for _, tt := range []struct {
		name    string
		topic   string
		changes []ConfigAlteration
		want    error
	}{
		{"nothing", "t", nil, nil},
		{"empty name", "t", []ConfigAlteration{{Value: ptr("x")}}, kafka.ErrInvalidRequest},
		{"missing topic", "missing", batch, kafka.ErrTopicNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, a.AlterTopicConfigs(ctx, tt.topic, tt.changes, false), tt.want)
		})
	}
}
