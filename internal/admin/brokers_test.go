package admin

import (
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestBrokers(t *testing.T) {
	a, c := newAdmin(t, kfake.NumBrokers(3))
	ctx := testCtx(t)

	bs, err := a.Brokers(ctx)
	wantErr(t, err, nil)
	addrs := c.ListenAddrs()
	if len(bs) != len(addrs) {
		t.Fatalf("Brokers = %+v, want %d brokers", bs, len(addrs))
	}
	seen := make(map[string]bool)
	for i, b := range bs {
		if i > 0 && bs[i-1].ID >= b.ID {
			t.Errorf("Brokers not sorted by id: %+v", bs)
		}
		seen[net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))] = true
		if b.Rack == "" {
			t.Errorf("broker %d has no rack; kfake gives every broker one", b.ID)
		}
	}
	for _, addr := range addrs {
		if !seen[addr] {
			t.Errorf("listen address %s is not among the brokers %+v", addr, bs)
		}
	}

	for _, tt := range []struct {
		name string
		id   int32
		want error
	}{
		{"first", bs[0].ID, nil},
		{"last", bs[2].ID, nil},
		{"unknown", 99, ErrBrokerNotFound},
		{"negative", -1, ErrBrokerNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := a.Broker(ctx, tt.id)
			wantErr(t, err, tt.want)
			if tt.want == nil && b.ID != tt.id {
				t.Errorf("Broker(%d) = %+v", tt.id, b)
			}
		})
	}
}

func TestBrokerConfigs(t *testing.T) {
	a, _ := newAdmin(t, kfake.NumBrokers(2), kfake.BrokerConfigs(map[string]string{"log.retention.ms": "1000"}))
	ctx := testCtx(t)
	bs, err := a.Brokers(ctx)
	wantErr(t, err, nil)

	// Broker configs must be asked of the broker itself; ask the second.
	b := bs[1]
	cs, err := a.BrokerConfigs(ctx, b.ID)
	wantErr(t, err, nil)
	byName := make(map[string]Config)
	for i, c := range cs {
		if i > 0 && cs[i-1].Name >= c.Name {
			t.Errorf("configs not sorted by name: %q before %q", cs[i-1].Name, c.Name)
		}
		byName[c.Name] = c
	}

	id, ok := byName["broker.id"]
	switch {
	case !ok:
		t.Fatalf("no broker.id among %d configs", len(cs))
	case id.Value == nil || *id.Value != strconv.Itoa(int(b.ID)):
		t.Errorf("broker.id = %v, want %d", id.Value, b.ID)
	case id.Source != "STATIC_BROKER_CONFIG" || !id.IsReadOnly || id.IsDefault:
		t.Errorf("broker.id = %+v, want a read-only, non-default STATIC_BROKER_CONFIG", id)
	}
	if su, ok := byName["super.users"]; !ok || !su.IsSensitive || su.Value != nil {
		t.Errorf("super.users = %+v (present %v), want sensitive with no value", su, ok)
	}
	if rt, ok := byName["log.retention.ms"]; !ok || rt.Source != "DYNAMIC_BROKER_CONFIG" || rt.Value == nil || *rt.Value != "1000" {
		t.Errorf("log.retention.ms = %+v (present %v), want 1000 from DYNAMIC_BROKER_CONFIG", rt, ok)
	}

	for _, tt := range []struct {
		name   string
		broker int32
		config string
		want   error
	}{
		{"known", b.ID, "broker.id", nil},
		{"unknown config", b.ID, "no.such.config", ErrConfigNotFound},
		{"unknown broker", 99, "broker.id", ErrBrokerNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := a.BrokerConfig(ctx, tt.broker, tt.config)
			wantErr(t, err, tt.want)
			if tt.want == nil && c.Name != tt.config {
				t.Errorf("BrokerConfig = %+v", c)
			}
		})
	}

	_, err = a.BrokerConfigs(ctx, 99)
	wantErr(t, err, ErrBrokerNotFound)
}
