package consumers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// env is a kfake broker with a topic of records, and a manager on it.
type env struct {
	brokers []string
	cl      *kgo.Client
	m       *Manager
}

// newEnv starts a broker, creates topic with partitions and n records in
// each (values "p<partition>-<i>"), and a manager with opts changed by
// each of mod; t.Cleanup closes it.
func newEnv(t *testing.T, topic string, partitions int32, n int, mod ...func(*Options)) *env {
	t.Helper()
	fake := kafkatest.NewFake(t)
	brokers := fake.Brokers()
	cl := kafkatest.NewClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for p := range partitions {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Node: "node1",
		NewClient: func(o ...kgo.Opt) (*kgo.Client, error) {
			return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, o...)...)
		},
	}
	for _, f := range mod {
		f(&opts)
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return &env{brokers: brokers, cl: cl, m: m}
}

// readAll reads in until it has n records, delivering each batch.
func readAll(t *testing.T, in *Instance, n int) []*kgo.Record {
	t.Helper()
	var got []*kgo.Record
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		b, err := in.Read(context.Background(), time.Second, 1<<20, "")
		if err != nil {
			return err
		}
		got = append(got, b.Records...)
		b.Done(true)
		if len(got) < n {
			return fmt.Errorf("read %d of %d records", len(got), n)
		}
		return nil
	})
	return got
}

func TestNodeOf(t *testing.T) {
	for _, tt := range []struct {
		id, node string
		ok       bool
	}{
		{"rest-consumer-node1-0b2c2d6e-8c1f-4a5b-9c3d-1e2f3a4b5c6d", "node1", true},
		{"rest-consumer-host.example_1-0b2c2d6e-8c1f-4a5b-9c3d-1e2f3a4b5c6d", "host.example_1", true},
		{"rest-consumer--0b2c2d6e-8c1f-4a5b-9c3d-1e2f3a4b5c6d", "", false},
		{"rest-consumer-node1-not-a-uuid", "", false},
		{"my_consumer_instance", "", false},
		{"rest-consumer-node1-0B2C2D6E-8C1F-4A5B-9C3D-1E2F3A4B5C6D", "", false},
	} {
		node, ok := NodeOf(tt.id)
		if node != tt.node || ok != tt.ok {
			t.Errorf("NodeOf(%q) = %q, %v; want %q, %v", tt.id, node, ok, tt.node, tt.ok)
		}
	}
	e := newEnv(t, "t", 1, 0)
	in, err := e.m.Create("g", "", Config{})
	if err != nil {
		t.Fatal(err)
	}
	if node, ok := NodeOf(in.ID); !ok || node != "node1" {
		t.Errorf("NodeOf(%q) = %q, %v; want node1", in.ID, node, ok)
	}
	if got := SanitizeNode("a-b c.d_e"); got != "a_b_c.d_e" {
		t.Errorf("SanitizeNode = %q", got)
	}
}

// TestCreateErrors checks the names, configs and cap Create refuses.
func TestCreateErrors(t *testing.T) {
	e := newEnv(t, "t", 1, 0, func(o *Options) { o.MaxInstances = 2 })
	if _, err := e.m.Create("g", "a", Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Create("g", "a", Config{}); !errors.Is(err, ErrExists) {
		t.Errorf("same name: %v, want ErrExists", err)
	}
	if _, err := e.m.Create("other", "a", Config{}); err != nil {
		t.Errorf("same name in another group: %v", err)
	}
	if _, err := e.m.Create("g", "b", Config{}); !errors.Is(err, ErrTooMany) {
		t.Errorf("past the cap: %v, want ErrTooMany", err)
	}
	if _, err := e.m.Create("g", "rest-consumer-node2-0b2c2d6e-8c1f-4a5b-9c3d-1e2f3a4b5c6d", Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("another node's id as a name: %v, want ErrInvalidConfig", err)
	}
	for _, cfg := range []Config{{AutoOffsetReset: "smallest"}, {FetchMinBytes: -1}, {RequestTimeout: -time.Second}, {RequestTimeout: time.Hour}} {
		if _, err := e.m.Create("g", "c", cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

// TestSubscribeReadCommit reads a topic whole through a subscription,
// commits what was delivered, and a new instance of the group starts
// after it.
func TestSubscribeReadCommit(t *testing.T) {
	e := newEnv(t, "t", 3, 5)
	in, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Subscribe([]string{"t"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := in.Assign(context.Background(), []TopicPartition{{"t", 0}}); !errors.Is(err, ErrIllegalState) {
		t.Errorf("assign while subscribed: %v, want ErrIllegalState", err)
	}
	got := readAll(t, in, 15)
	if len(got) != 15 {
		t.Fatalf("read %d records, want 15", len(got))
	}
	if err := in.Commit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	committed, err := in.Committed(context.Background(), []TopicPartition{{"t", 0}, {"t", 1}, {"t", 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range committed {
		if o.Offset != 5 {
			t.Errorf("%s-%d committed at %d, want 5", o.Topic, o.Partition, o.Offset)
		}
	}
	if len(committed) != 3 {
		t.Errorf("committed %+v, want 3 partitions", committed)
	}
}

// TestAssignedBeforeClientReturned has the group assign the instance its
// partitions, and its client fetch, before the client is handed to the
// instance (as a fast broker may): the instance still reads them all.
func TestAssignedBeforeClientReturned(t *testing.T) {
	e := newEnv(t, "t", 3, 5, func(o *Options) {
		newClient := o.NewClient
		o.NewClient = func(opts ...kgo.Opt) (*kgo.Client, error) {
			cl, err := newClient(opts...)
			if err != nil || cl.OptValue(kgo.ConsumerGroup) == "" {
				return cl, err
			}
			// Fetching starts after the assignment's callback returns.
			kafkatest.WaitFor(t, 20*time.Second, func() error {
				if cl.BufferedFetchRecords() == 0 {
					return errors.New("the group member has fetched nothing yet")
				}
				return nil
			})
			return cl, nil
		}
	})
	in, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Subscribe([]string{"t"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := in.Assignment(); len(got) != 3 {
		t.Errorf("assignment %v, want the topic's 3 partitions", got)
	}
	if got := readAll(t, in, 15); len(got) != 15 {
		t.Errorf("read %d records, want 15", len(got))
	}
}

// TestUndeliveredReadReserved puts a batch nobody received back: the
// next read answers it, and an empty commit commits nothing of it.
func TestUndeliveredReadReserved(t *testing.T) {
	e := newEnv(t, "t", 1, 10)
	in, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Assign(context.Background(), []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	var first *Batch
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		b, err := in.Read(context.Background(), time.Second, 4, "")
		if err != nil {
			return err
		}
		if len(b.Records) == 0 {
			b.Done(true)
			return errors.New("no records yet")
		}
		first = b
		return nil
	})
	if got := len(first.Records); got != 1 {
		t.Fatalf("a read of 4 bytes answered %d records of 4 bytes, want 1", got)
	}
	first.Done(false)
	if err := in.Commit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if c, err := in.Committed(context.Background(), []TopicPartition{{"t", 0}}); err != nil || len(c) != 0 {
		t.Fatalf("committed %+v (%v) of an undelivered read", c, err)
	}
	b, err := in.Read(context.Background(), time.Second, 1<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) == 0 || b.Records[0].Offset != first.Records[0].Offset {
		t.Fatalf("next read starts at %v, want offset %d again", offsets(b.Records), first.Records[0].Offset)
	}
	b.Done(true)
}

// TestReadID answers a retried read id with the same batch.
func TestReadID(t *testing.T) {
	e := newEnv(t, "t", 1, 10)
	in, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Assign(context.Background(), []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	var want []int64
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		b, err := in.Read(context.Background(), time.Second, 8, "r1")
		if err != nil {
			return err
		}
		want = offsets(b.Records)
		b.Done(true)
		if len(want) == 0 {
			return errors.New("no records yet")
		}
		return nil
	})
	again, err := in.Read(context.Background(), time.Second, 1<<20, "r1")
	if err != nil {
		t.Fatal(err)
	}
	again.Done(true)
	if fmt.Sprint(offsets(again.Records)) != fmt.Sprint(want) {
		t.Errorf("retried read answered %v, want %v", offsets(again.Records), want)
	}
	next, err := in.Read(context.Background(), time.Second, 1<<20, "r2")
	if err != nil {
		t.Fatal(err)
	}
	next.Done(true)
	if len(next.Records) == 0 || next.Records[0].Offset != want[len(want)-1]+1 {
		t.Errorf("next read answered %v, want from %d", offsets(next.Records), want[len(want)-1]+1)
	}
}

// TestRebalance has two instances of one group share a backlog: the
// first reads part of it, the second joins, a commit of a partition the
// first lost fails with ErrIllegalState, and every offset is read by
// one of them.
func TestRebalance(t *testing.T) {
	const perPartition = 200
	e := newEnv(t, "t", 4, perPartition)
	a, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Subscribe([]string{"t"}, ""); err != nil {
		t.Fatal(err)
	}
	seen := map[TopicPartition]map[int64]bool{}
	note := func(recs []*kgo.Record) {
		for _, r := range recs {
			tp := TopicPartition{r.Topic, r.Partition}
			if seen[tp] == nil {
				seen[tp] = map[int64]bool{}
			}
			seen[tp][r.Offset] = true
		}
	}
	read := func(in *Instance) []*kgo.Record {
		b, err := in.Read(context.Background(), 200*time.Millisecond, 64, "")
		if err != nil {
			t.Fatal(err)
		}
		b.Done(true)
		note(b.Records)
		return b.Records
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if len(read(a)) == 0 {
			return errors.New("no records yet")
		}
		return nil
	})
	if err := a.Commit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	before := a.Assignment()
	b, err := e.m.Create("g", "b", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe([]string{"t"}, ""); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		read(a)
		read(b)
		if n := len(a.Assignment()); n == 0 || n == len(before) {
			return fmt.Errorf("a holds %d partitions", n)
		}
		return nil
	})
	held := map[TopicPartition]bool{}
	for _, tp := range a.Assignment() {
		held[tp] = true
	}
	var gone TopicPartition
	for _, tp := range before {
		if !held[tp] {
			gone = tp
		}
	}
	if err := a.Commit(context.Background(), []Offset{{TopicPartition: gone, Offset: 0}}); !errors.Is(err, ErrIllegalState) {
		t.Errorf("commit of revoked %v: %v, want ErrIllegalState", gone, err)
	}
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		read(a)
		read(b)
		for p := range int32(4) {
			if n := len(seen[TopicPartition{"t", p}]); n < perPartition {
				return fmt.Errorf("partition %d: %d of %d offsets read", p, n, perPartition)
			}
		}
		return nil
	})
}

// TestExpiry closes an idle instance: it leaves its group.
func TestExpiry(t *testing.T) {
	expired := make(chan string, 1)
	e := newEnv(t, "t", 1, 1, func(o *Options) {
		o.IdleTimeout = 300 * time.Millisecond
		o.Expired = func(group, id string) { expired <- group + "/" + id }
	})
	in, err := e.m.Create("g", "a", Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Subscribe([]string{"t"}, ""); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(e.cl)
	members := func() (int, error) {
		ds, err := adm.DescribeGroups(context.Background(), "g")
		if err != nil {
			return 0, err
		}
		return len(ds["g"].Members), ds.Error()
	}
	member := func(want int) func() error {
		return func() error {
			n, err := members()
			if err == nil && n != want {
				err = errors.New("the group has " + strconv.Itoa(n) + " members")
			}
			return err
		}
	}
	kafkatest.WaitFor(t, 10*time.Second, member(1))
	kafkatest.WaitFor(t, 10*time.Second, member(0))
	if _, err := e.m.Get("g", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired instance: %v, want ErrNotFound", err)
	}
	if got := <-expired; got != "g/a" {
		t.Errorf("Expired called with %s, want g/a", got)
	}
}

func offsets(recs []*kgo.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Offset
	}
	return out
}

// TestSubscribePattern subscribes to the topics a pattern matches whole.
func TestSubscribePattern(t *testing.T) {
	e := newEnv(t, "orders", 1, 3)
	in, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Subscribe(nil, "("); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("a pattern that does not compile: %v, want ErrInvalidConfig", err)
	}
	if err := in.Subscribe(nil, "ord.*"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, in, 3); len(got) != 3 {
		t.Errorf("read %d records, want 3", len(got))
	}
	if got := in.Subscription(); fmt.Sprint(got) != "[orders]" {
		t.Errorf("subscription %q, want [orders]", got)
	}
}

// TestAutoCommit commits what was delivered when an auto-committing
// instance closes, and nothing of a batch that was not.
func TestAutoCommit(t *testing.T) {
	e := newEnv(t, "t", 1, 5)
	in, err := e.m.Create("g", "a", Config{AutoOffsetReset: "earliest", AutoCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Assign(context.Background(), []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		b, err := in.Read(context.Background(), time.Second, 1, "")
		if err != nil {
			return err
		}
		defer b.Done(true)
		if len(b.Records) != 1 || b.Records[0].Offset != 0 {
			return fmt.Errorf("read %v", offsets(b.Records))
		}
		return nil
	})
	b, err := in.Read(context.Background(), time.Second, 1, "")
	if err != nil || len(b.Records) != 1 {
		t.Fatalf("second read: %v, %v", b, err)
	}
	b.Done(false)
	if err := e.m.Delete(context.Background(), "g", "a"); err != nil {
		t.Fatal(err)
	}
	resp, err := kadm.NewClient(e.cl).FetchOffsets(context.Background(), "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := resp.Lookup("t", 0); !ok || o.At != 1 {
		t.Errorf("committed %+v at close, want offset 1: the first record delivered, the second not", o)
	}
}
