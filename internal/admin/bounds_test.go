package admin

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// TestMaxRequestPartitions checks that one request creates or adds at
// most MaxRequestPartitions partitions, failing past it with
// kafka.ErrInvalidRequest and a message that says so, and changing
// nothing.
func TestMaxRequestPartitions(t *testing.T) {
	c := newCluster(t)
	a := New(kafkatest.NewClient(t, c.ListenAddrs()), MaxRequestPartitions(10))
	ctx := testCtx(t)

	_, err := a.CreateTopic(ctx, NewTopic{Name: "huge", Partitions: 11})
	wantErr(t, err, kafka.ErrInvalidRequest)
	if !strings.Contains(err.Error(), "11 partitions are more than the 10 one request may create") {
		t.Errorf("CreateTopic error %q does not say why", err)
	}
	if _, err := a.Topic(ctx, "huge"); err == nil {
		t.Error("a refused CreateTopic created the topic")
	}

	_, err = a.CreateTopic(ctx, NewTopic{Name: "t", Partitions: 10})
	wantErr(t, err, nil)
	err = a.SetPartitionCount(ctx, "t", 21)
	wantErr(t, err, kafka.ErrInvalidRequest)
	if !strings.Contains(err.Error(), "adding 11 partitions to its 10 is more than the 10 one request may add") {
		t.Errorf("SetPartitionCount error %q does not say why", err)
	}
	if ps, _ := a.Partitions(ctx, "t"); len(ps) != 10 {
		t.Errorf("a refused SetPartitionCount left %d partitions, want 10", len(ps))
	}
	wantErr(t, a.SetPartitionCount(ctx, "t", 20), nil)
	// Past int32, which kadm would have turned into a small count.
	wantErr(t, a.SetPartitionCount(ctx, "t", 1<<32+1), kafka.ErrInvalidRequest)
	if ps, _ := a.Partitions(ctx, "t"); len(ps) != 20 {
		t.Errorf("after growing to 20 and a refused 2^32+1, %d partitions", len(ps))
	}
}

// TestTopicsPage walks the topic list in pages of MaxListItems.
func TestTopicsPage(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "e", "c", "a", "d", "b"))
	a := New(kafkatest.NewClient(t, c.ListenAddrs()), MaxListItems(2))
	ctx := testCtx(t)
	_, err := a.CreateTopic(ctx, NewTopic{Name: "_internal", Partitions: 1, Configs: map[string]string{"kfake.is_internal": "true"}})
	wantErr(t, err, nil)

	var got [][]string
	for after := ""; ; {
		p, err := a.TopicsPage(ctx, after, 0)
		wantErr(t, err, nil)
		var names []string
		for _, tp := range p.Items {
			names = append(names, tp.Name)
		}
		got = append(got, names)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if want := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("pages = %v, want %v (no internal topics)", got, want)
	}
	for _, tt := range []struct {
		name         string
		after        string
		limit        int
		want         []string
		wantNext     string
		wantPartsOne bool
	}{
		{"limit below the bound", "", 1, []string{"a"}, "a", true},
		{"limit above the bound", "", 100, []string{"a", "b"}, "b", true},
		{"after a name not listed", "bb", 0, []string{"c", "d"}, "d", true},
		{"after the last", "e", 0, nil, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.TopicsPage(ctx, tt.after, tt.limit)
			wantErr(t, err, nil)
			var names []string
			for _, tp := range p.Items {
				names = append(names, tp.Name)
				if len(tp.Partitions) != 1 {
					t.Errorf("topic %s has %d partitions, want 1", tp.Name, len(tp.Partitions))
				}
			}
			if !slices.Equal(names, tt.want) || p.Next != tt.wantNext {
				t.Errorf("TopicsPage(%q, %d) = %v next %q, want %v next %q", tt.after, tt.limit, names, p.Next, tt.want, tt.wantNext)
			}
		})
	}
}

// TestGroupsPage walks the group list in pages of MaxListItems.
func TestGroupsPage(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	a := New(kafkatest.NewClient(t, c.ListenAddrs()), MaxListItems(2))
	ctx := testCtx(t)
	produce(t, c, "t", 0, 1)
	for _, g := range []string{"g3", "g1", "g2"} {
		commit(t, c, g, map[string]map[int32]int64{"t": {0: 1}})
	}
	p, err := a.GroupsPage(ctx, "", 0)
	wantErr(t, err, nil)
	if len(p.Items) != 2 || p.Items[0].ID != "g1" || p.Items[1].ID != "g2" || p.Next != "g2" {
		t.Fatalf("first page = %+v next %q, want g1, g2 next g2", p.Items, p.Next)
	}
	p, err = a.GroupsPage(ctx, p.Next, 0)
	wantErr(t, err, nil)
	if len(p.Items) != 1 || p.Items[0].ID != "g3" || p.Next != "" {
		t.Fatalf("second page = %+v next %q, want g3 and no next", p.Items, p.Next)
	}
}

// countRequests counts the requests of key the cluster receives.
func countRequests(c *kfake.Cluster, key kmsg.Key, match func(kmsg.Request) bool) *atomic.Int64 {
	var n atomic.Int64
	c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if match == nil || match(req) {
			n.Add(1)
		}
		return nil, nil, false // observe only; the cluster answers
	})
	return &n
}

// TestAllTopicConfigs checks that the configs of every topic come from one
// DescribeConfigs request, match each topic's own, and come in pages of
// MaxListItems/50 topics.
func TestAllTopicConfigs(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "x", "y", "z"))
	a := New(kafkatest.NewClient(t, c.ListenAddrs()), MaxListItems(100))
	ctx := testCtx(t)
	_, err := a.CreateTopic(ctx, NewTopic{Name: "_internal", Partitions: 1, Configs: map[string]string{"kfake.is_internal": "true"}})
	wantErr(t, err, nil)
	described := countRequests(c, kmsg.DescribeConfigs, nil)

	p, err := a.AllTopicConfigs(ctx, "", 0)
	wantErr(t, err, nil)
	if n := described.Load(); n != 1 {
		t.Errorf("AllTopicConfigs sent %d DescribeConfigs requests, want 1", n)
	}
	var names []string
	for _, tc := range p.Items {
		names = append(names, tc.Topic)
		own, err := a.TopicConfigs(ctx, tc.Topic)
		wantErr(t, err, nil)
		if len(tc.Configs) == 0 || !slices.EqualFunc(tc.Configs, own, configEqual) {
			t.Errorf("topic %s: %d configs, TopicConfigs has %d, or they differ", tc.Topic, len(tc.Configs), len(own))
		}
	}
	if want := []string{"x", "y"}; !slices.Equal(names, want) || p.Next != "y" {
		t.Errorf("first page = %v next %q, want %v next y (100 items / 50 = 2 topics, no internal)", names, p.Next, want)
	}
	p, err = a.AllTopicConfigs(ctx, p.Next, 0)
	wantErr(t, err, nil)
	if len(p.Items) != 1 || p.Items[0].Topic != "z" || p.Next != "" {
		t.Errorf("second page = %+v next %q, want z alone", p.Items, p.Next)
	}
}

// TestAllBrokerConfigs checks that the configs of every broker come from
// one DescribeConfigs request, which kgo sends to each broker in turn.
func TestAllBrokerConfigs(t *testing.T) {
	c := newCluster(t, kfake.NumBrokers(3))
	a := New(kafkatest.NewClient(t, c.ListenAddrs()))
	ctx := testCtx(t)
	bs, err := a.Brokers(ctx)
	wantErr(t, err, nil)
	described := countRequests(c, kmsg.DescribeConfigs, nil)

	all, err := a.AllBrokerConfigs(ctx)
	wantErr(t, err, nil)
	if n := described.Load(); n != int64(len(bs)) {
		t.Errorf("AllBrokerConfigs reached the brokers with %d DescribeConfigs requests, want %d: one each", n, len(bs))
	}
	if len(all) != len(bs) {
		t.Fatalf("AllBrokerConfigs has %d brokers, want %d", len(all), len(bs))
	}
	for i, bc := range all {
		own, err := a.BrokerConfigs(ctx, bs[i].ID)
		wantErr(t, err, nil)
		if bc.Broker != bs[i].ID || len(bc.Configs) == 0 || !slices.EqualFunc(bc.Configs, own, configEqual) {
			t.Errorf("broker %d: %d configs, BrokerConfigs(%d) has %d, or they differ", bc.Broker, len(bc.Configs), bs[i].ID, len(own))
		}
	}
}

func configEqual(l, r Config) bool {
	return l.Name == r.Name && (l.Value == nil) == (r.Value == nil) && (l.Value == nil || *l.Value == *r.Value) &&
		l.Source == r.Source && l.IsReadOnly == r.IsReadOnly && len(l.Synonyms) == len(r.Synonyms)
}

// TestMetadataRequests checks that each answer about topics and brokers
// asks a broker itself, and that only Topic asks for authorized operations
// (each costs the broker an ACL check per topic).
func TestMetadataRequests(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"))
	a := New(kafkatest.NewClient(t, c.ListenAddrs()))
	ctx := testCtx(t)
	withOps := countRequests(c, kmsg.Metadata, func(req kmsg.Request) bool {
		return req.(*kmsg.MetadataRequest).IncludeTopicAuthorizedOperations
	})
	all := countRequests(c, kmsg.Metadata, nil)

	for _, tt := range []struct {
		name string
		call func() error
		ops  bool
	}{
		{"Topics", func() error { _, err := a.Topics(ctx); return err }, false},
		{"TopicNames", func() error { _, err := a.TopicNames(ctx); return err }, false},
		{"Partitions", func() error { _, err := a.Partitions(ctx, "t"); return err }, false},
		{"Offsets", func() error { _, err := a.Offsets(ctx, "t", 1); return err }, false},
		{"Brokers", func() error { _, err := a.Brokers(ctx); return err }, false},
		{"Cluster", func() error { _, err := a.Cluster(ctx); return err }, false},
		{"Topic", func() error { _, err := a.Topic(ctx, "t"); return err }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeOps := all.Load(), withOps.Load()
			wantErr(t, tt.call(), nil)
			wantErr(t, tt.call(), nil) // a second call a moment later asks again
			if n := all.Load() - before; n < 2 {
				t.Errorf("two calls sent %d metadata requests, want one each at least", n)
			}
			if got := withOps.Load() - beforeOps; (got > 0) != tt.ops {
				t.Errorf("%d metadata requests asked for authorized operations; want some: %v", got, tt.ops)
			}
		})
	}
}
