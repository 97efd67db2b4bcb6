package admin

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// commit commits offsets for group from outside the group, which makes a
// simple group of a group nobody joined.
func commit(t *testing.T, c *kfake.Cluster, group string, offsets map[string]map[int32]int64) {
	t.Helper()
	var offs kadm.Offsets
	for topic, ps := range offsets {
		for p, at := range ps {
			offs.AddOffset(topic, p, at, -1)
		}
	}
	if err := kadm.NewClient(kafkatest.NewClient(t, c.ListenAddrs())).CommitAllOffsets(testCtx(t), group, offs); err != nil {
		t.Fatalf("commit offsets for %s: %v", group, err)
	}
}

// joinGroup starts a consumer in group that consumes topic, consumes want
// records and commits them. It returns once the commit is done.
func joinGroup(t *testing.T, c *kfake.Cluster, group, topic string, want int, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl := kafkatest.NewClient(t, c.ListenAddrs(), append([]kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.ClientID("krest-test"),
	}, opts...)...)
	ctx := testCtx(t)
	for got := 0; got < want; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, want, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return cl
}

// stableGroup polls until the group is STABLE with n consumers that all own
// partitions, and returns it.
func stableGroup(t *testing.T, a *Admin, id string, n int) Group {
	t.Helper()
	var g Group
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		var err error
		if g, err = a.Group(testCtx(t), id); err != nil {
			return err
		}
		if g.State != "STABLE" || len(g.Consumers) != n {
			return fmt.Errorf("group is %s with %d consumers", g.State, len(g.Consumers))
		}
		for _, c := range g.Consumers {
			if len(c.Assignments) == 0 {
				return fmt.Errorf("consumer %s has no assignment yet", c.ID)
			}
		}
		return nil
	})
	return g
}

func TestSimpleGroup(t *testing.T) {
	a, c := newAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(2, "t", "u"))
	ctx := testCtx(t)
	produce(t, c, "t", 0, 10)
	produce(t, c, "t", 1, 4)
	produce(t, c, "u", 0, 6)
	commit(t, c, "simple", map[string]map[int32]int64{"t": {0: 3, 1: 4}, "u": {0: 1}})

	g, err := a.Group(ctx, "simple")
	wantErr(t, err, nil)
	want := Group{ID: "simple", Type: groupTypeClassic, State: "EMPTY", Simple: true, Consumers: []Consumer{}}
	if g.Coordinator < 0 || !groupEqual(g, want) {
		t.Errorf("Group = %+v, want %+v", g, want)
	}

	lags, err := a.Lags(ctx, "simple")
	wantErr(t, err, nil)
	wantLags := []Lag{
		{Topic: "t", Partition: 0, CurrentOffset: 3, LogEndOffset: 10, Lag: 7},
		{Topic: "t", Partition: 1, CurrentOffset: 4, LogEndOffset: 4, Lag: 0},
		{Topic: "u", Partition: 0, CurrentOffset: 1, LogEndOffset: 6, Lag: 5},
	}
	if !slices.Equal(lags, wantLags) {
		t.Errorf("Lags = %+v, want %+v", lags, wantLags)
	}

	sum, err := a.LagSummary(ctx, "simple")
	wantErr(t, err, nil)
	if want := (LagSummary{MaxLag: 7, MaxLagTopic: "t", MaxLagPartition: 0, TotalLag: 12}); sum != want {
		t.Errorf("LagSummary = %+v, want %+v", sum, want)
	}

	for _, tt := range []struct {
		name      string
		group     string
		topic     string
		partition int32
		want      error
	}{
		{"committed", "simple", "u", 0, nil},
		{"not committed", "simple", "u", 1, kafka.ErrPartitionNotFound},
		{"unknown topic", "simple", "v", 0, kafka.ErrPartitionNotFound},
		{"unknown group", "nope", "t", 0, kafka.ErrGroupNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := a.Lag(ctx, tt.group, tt.topic, tt.partition)
			wantErr(t, err, tt.want)
			if tt.want == nil && l != wantLags[2] {
				t.Errorf("Lag = %+v, want %+v", l, wantLags[2])
			}
		})
	}

	// A deleted topic's commits linger; its lag is left out.
	wantErr(t, a.DeleteTopic(ctx, "u"), nil)
	lags, err = a.Lags(ctx, "simple")
	wantErr(t, err, nil)
	if !slices.Equal(lags, wantLags[:2]) {
		t.Errorf("after deleting u, Lags = %+v, want %+v", lags, wantLags[:2])
	}
}

func TestClassicGroup(t *testing.T) {
	a, c := newAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	ctx := testCtx(t)
	produce(t, c, "t", 0, 3)
	produce(t, c, "t", 1, 2)
	joinGroup(t, c, "active", "t", 5, kgo.InstanceID("static-1"))

	g := stableGroup(t, a, "active", 1)
	if g.Type != groupTypeClassic || g.Simple || g.Mixed || g.PartitionAssignor != "cooperative-sticky" {
		t.Errorf("Group = %+v, want a classic cooperative-sticky group", g)
	}
	m := g.Consumers[0]
	wantAssigned := []TopicPartition{{"t", 0}, {"t", 1}}
	if m.ID == "" || m.InstanceID != "static-1" || m.ClientID != "krest-test" || m.Host == "" || !slices.Equal(m.Assignments, wantAssigned) {
		t.Errorf("consumer = %+v, want static-1 of krest-test owning %v", m, wantAssigned)
	}

	got, err := a.Consumer(ctx, "active", m.ID)
	wantErr(t, err, nil)
	if got.ID != m.ID || !slices.Equal(got.Assignments, m.Assignments) {
		t.Errorf("Consumer = %+v, want %+v", got, m)
	}
	_, err = a.Consumer(ctx, "active", "nobody")
	wantErr(t, err, ErrConsumerNotFound)
	_, err = a.Consumer(ctx, "nope", m.ID)
	wantErr(t, err, kafka.ErrGroupNotFound)

	// Everything is consumed and committed; new records are lag the
	// member owns.
	produce(t, c, "t", 1, 4)
	lags, err := a.Lags(ctx, "active")
	wantErr(t, err, nil)
	wantLags := []Lag{
		{Topic: "t", Partition: 0, CurrentOffset: 3, LogEndOffset: 3, ConsumerID: m.ID, InstanceID: "static-1", ClientID: "krest-test"},
		{Topic: "t", Partition: 1, CurrentOffset: 2, LogEndOffset: 6, Lag: 4, ConsumerID: m.ID, InstanceID: "static-1", ClientID: "krest-test"},
	}
	if !slices.Equal(lags, wantLags) {
		t.Errorf("Lags = %+v, want %+v", lags, wantLags)
	}
	sum, err := a.LagSummary(ctx, "active")
	wantErr(t, err, nil)
	wantSum := LagSummary{MaxLag: 4, MaxLagTopic: "t", MaxLagPartition: 1, MaxLagConsumerID: m.ID, MaxLagInstanceID: "static-1", MaxLagClientID: "krest-test", TotalLag: 4}
	if sum != wantSum {
		t.Errorf("LagSummary = %+v, want %+v", sum, wantSum)
	}
}

func TestGroups(t *testing.T) {
	a, c := newAdmin(t, kfake.NumBrokers(2), kfake.SeedTopics(2, "t"))
	ctx := testCtx(t)

	gs, err := a.Groups(ctx)
	wantErr(t, err, nil)
	if len(gs) != 0 {
		t.Errorf("Groups of a fresh cluster = %+v", gs)
	}

	produce(t, c, "t", 0, 1)
	commit(t, c, "b-simple", map[string]map[int32]int64{"t": {0: 1}})
	joinGroup(t, c, "a-active", "t", 1)
	stableGroup(t, a, "a-active", 1)

	gs, err = a.Groups(ctx)
	wantErr(t, err, nil)
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	if want := []string{"a-active", "b-simple"}; !slices.Equal(ids, want) {
		t.Fatalf("Groups = %v, want %v", ids, want)
	}
	if gs[0].Simple || !gs[1].Simple || len(gs[0].Consumers) != 1 {
		t.Errorf("Groups = %+v, want a-active with one consumer and b-simple simple", gs)
	}

	for _, tt := range []struct {
		name  string
		group string
		want  error
	}{
		{"active", "a-active", nil},
		{"simple", "b-simple", nil},
		{"unknown", "nope", kafka.ErrGroupNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := a.Group(ctx, tt.group)
			wantErr(t, err, tt.want)
			if tt.want == nil && g.ID != tt.group {
				t.Errorf("Group = %+v", g)
			}
			_, err = a.Lags(ctx, tt.group)
			wantErr(t, err, tt.want)
			_, err = a.LagSummary(ctx, tt.group)
			wantErr(t, err, tt.want)
		})
	}
}

// TestConsumerGroup covers a group whose coordinator assigns partitions
// (KIP-848).
func TestConsumerGroup(t *testing.T) {
	a, c := newAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	produce(t, c, "t", 0, 2)
	produce(t, c, "t", 1, 2)
	joinGroup(t, c, "next", "t", 4, kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()))

	g := stableGroup(t, a, "next", 1)
	if g.Type != groupTypeConsumer || g.Simple || g.Mixed || g.PartitionAssignor == "" {
		t.Errorf("Group = %+v, want a consumer group with a server-side assignor", g)
	}
	m := g.Consumers[0]
	if m.ClientID != "krest-test" || m.Host == "" {
		t.Errorf("consumer = %+v", m)
	}
	// kfake's ConsumerGroupDescribe names assigned topics by id only (Kafka
	// sends the name too), so the topic names are not checked here, and
	// Lags cannot tell which member owns a partition.
	var parts []int32
	for _, tp := range m.Assignments {
		parts = append(parts, tp.Partition)
	}
	if !slices.Equal(parts, []int32{0, 1}) {
		t.Errorf("consumer assignments = %+v, want partitions 0 and 1", m.Assignments)
	}

	lags, err := a.Lags(testCtx(t), "next")
	wantErr(t, err, nil)
	if len(lags) != 2 || lags[0].Lag != 0 || lags[1].Lag != 0 {
		t.Errorf("Lags = %+v, want two partitions with no lag", lags)
	}
}

// TestGroupOldBroker checks the fallback to the classic describe on a broker
// that predates ConsumerGroupDescribe, and that describes an unknown group
// as DEAD instead of failing it.
func TestGroupOldBroker(t *testing.T) {
	a, c := newAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.MaxVersions(kversion.V3_6_0()))
	ctx := testCtx(t)
	commit(t, c, "simple", map[string]map[int32]int64{"t": {0: 0}})

	g, err := a.Group(ctx, "simple")
	wantErr(t, err, nil)
	if g.Type != groupTypeClassic || !g.Simple {
		t.Errorf("Group = %+v, want a simple classic group", g)
	}
	_, err = a.Group(ctx, "nope")
	wantErr(t, err, kafka.ErrGroupNotFound)
}

func TestStateName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Stable", "STABLE"},
		{"PreparingRebalance", "PREPARING_REBALANCE"},
		{"CompletingRebalance", "COMPLETING_REBALANCE"},
		{"Assigning", "ASSIGNING"},
		{"NotReady", "NOT_READY"},
		{"STABLE", "STABLE"},
		{"", "UNKNOWN"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := stateName(tt.in); got != tt.want {
				t.Errorf("stateName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// groupEqual compares groups, ignoring the coordinator.
func groupEqual(got, want Group) bool {
	got.Coordinator, want.Coordinator = 0, 0
	return got.ID == want.ID && got.Type == want.Type && got.State == want.State &&
		got.Simple == want.Simple && got.Mixed == want.Mixed &&
		got.PartitionAssignor == want.PartitionAssignor &&
		slices.EqualFunc(got.Consumers, want.Consumers, func(l, r Consumer) bool {
			return l.ID == r.ID && l.InstanceID == r.InstanceID && l.ClientID == r.ClientID &&
				l.Host == r.Host && slices.Equal(l.Assignments, r.Assignments)
		})
}
