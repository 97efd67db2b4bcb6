package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"krest/internal/consume"
	"krest/internal/health"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/metrics"
)

// lock is the brokers' record lock in these tests, the shortest franz-go
// counts on.
const lock = time.Second

// env is a kfake broker with short record locks, a topic of records, and
// a manager on it.
type env struct {
	brokers []string
	cl      *kgo.Client
	m       *Manager
}

// writer writes dead letters through a client.
type writer struct{ cl *kgo.Client }

func (w writer) Write(ctx context.Context, r *kgo.Record) error {
	return w.cl.ProduceSync(ctx, r).FirstErr()
}

// newEnv starts a broker, creates topic with n records (values "v<i>"), and
// a manager with dead letters, changed by each of mod.
func newEnv(t *testing.T, topic string, n int, mod ...func(*Options)) *env {
	t.Helper()
	fake := kafkatest.NewFake(t, kfake.BrokerConfigs(map[string]string{
		"group.share.record.lock.duration.ms": strconv.Itoa(int(lock.Milliseconds())),
		"share.record.lock.sweep.interval.ms": "20",
	}))
	brokers := fake.Brokers()
	cl := kafkatest.NewClient(t, brokers)
	produce(t, cl, topic, n, 0)
	dlq, err := consume.NewDeadLetters(writer{cl}, "unused", consume.DeadLetterOptions{RetryTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Node:  "node1",
		Admin: cl,
		NewClient: func(o ...kgo.Opt) (*kgo.Client, error) {
			return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, o...)...)
		},
		DeadLetters: dlq,
		EnsureTopic: func(ctx context.Context, topic string) error {
			return health.Check(ctx, kadm.NewClient(cl), []health.TopicSpec{{Name: topic, Partitions: 3, ReplicationFactor: -1}}, true)
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

// produce writes n records to topic, values "v<from>" on, creating it
// with one partition when missing.
func produce(t *testing.T, cl *kgo.Client, topic string, n, from int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil && !errors.Is(kafka.Classify(err), kafka.ErrTopicExists) {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte("v" + strconv.Itoa(from+i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// lease leases until it gets want records or 10 s pass.
func (e *env) lease(t *testing.T, req LeaseRequest, want int) []Leased {
	t.Helper()
	var got []Leased
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		ls, err := e.m.Lease(context.Background(), req)
		if err != nil {
			return err
		}
		got = append(got, ls...)
		if len(got) < want {
			return fmt.Errorf("%d of %d records leased", len(got), want)
		}
		return nil
	})
	return got
}

// acks applies action to every lease of ls and returns the statuses.
func (e *env) acks(group string, action Action, ls ...Leased) []Status {
	var as []Ack
	for _, l := range ls {
		as = append(as, Ack{Token: l.Token, Action: action})
	}
	var out []Status
	for _, r := range e.m.Acks(context.Background(), group, as) {
		out = append(out, r.Status)
	}
	return out
}

// values returns the values of ls.
func values(ls []Leased) []string {
	var vs []string
	for _, l := range ls {
		vs = append(vs, string(l.Record.Value))
	}
	slices.Sort(vs)
	return vs
}

// req is a lease request of group on topic.
func req(group, topic string, maxRecords int, leaseFor time.Duration) LeaseRequest {
	return LeaseRequest{Group: group, Topics: []string{topic}, MaxRecords: maxRecords, Wait: time.Second, Lease: leaseFor}
}

// all returns n copies of s.
func all(s Status, n int) []Status { return slices.Repeat([]Status{s}, n) }

func TestAcceptReleaseReject(t *testing.T) {
	e := newEnv(t, "jobs", 3)
	r := req("g", "jobs", 3, 10*time.Second)
	ls := e.lease(t, r, 3)
	if got := values(ls); !slices.Equal(got, []string{"v0", "v1", "v2"}) {
		t.Fatalf("leased %v", got)
	}
	for _, l := range ls {
		if l.DeliveryCount != 1 || !l.ExpiresAt.After(time.Now()) {
			t.Fatalf("lease %s: delivery %d, expires %s", l.Record.Value, l.DeliveryCount, l.ExpiresAt)
		}
	}
	byValue := map[string]Leased{}
	for _, l := range ls {
		byValue[string(l.Record.Value)] = l
	}
	if got := e.acks("g", Accept, byValue["v0"]); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("accept: %v", got)
	}
	if got := e.acks("g", Release, byValue["v1"]); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("release: %v", got)
	}
	if got := e.acks("g", Reject, byValue["v2"]); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("reject: %v", got)
	}
	// A second acknowledgement of a settled lease: lost.
	if got := e.acks("g", Accept, byValue["v0"]); !slices.Equal(got, all(StatusLeaseLost, 1)) {
		t.Fatalf("accept again: %v", got)
	}
	again := e.lease(t, r, 1)
	if len(again) != 1 || string(again[0].Record.Value) != "v1" || again[0].DeliveryCount != 2 {
		t.Fatalf("after release, leased %v (delivery %d), want v1 at delivery 2", values(again), again[0].DeliveryCount)
	}
	e.acks("g", Accept, again...)
	letters := kafkatest.Collect(t, e.brokers, DeadLetterTopic("jobs"), 1, 10*time.Second)
	if string(letters[0].Value) != "v2" || kafkatest.Header(letters[0], HeaderReason) != reasonRejected ||
		kafkatest.Header(letters[0], HeaderDeliveryCount) != "1" || kafkatest.Header(letters[0], consume.HeaderOffset) != "2" {
		t.Fatalf("dead letter %s with headers %v", letters[0].Value, letters[0].Headers)
	}
	// Nothing is left.
	if ls, err := e.m.Lease(context.Background(), r); err != nil || len(ls) != 0 {
		t.Fatalf("leased %v (%v) from an empty queue", values(ls), err)
	}
}

func TestLeaseExpiry(t *testing.T) {
	e := newEnv(t, "jobs", 1)
	r := req("g", "jobs", 1, 200*time.Millisecond)
	first := e.lease(t, r, 1)
	// Expired at krest, released: delivered again.
	second := e.lease(t, r, 1)
	if second[0].DeliveryCount != 2 || string(second[0].Record.Value) != "v0" {
		t.Fatalf("after expiry, leased %s at delivery %d", second[0].Record.Value, second[0].DeliveryCount)
	}
	if got := e.acks("g", Accept, first...); !slices.Equal(got, all(StatusLeaseLost, 1)) {
		t.Fatalf("accepting an expired lease: %v", got)
	}
	if got := e.acks("g", Accept, second...); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("accepting the new lease: %v", got)
	}
}

func TestRenewOutlastsLock(t *testing.T) {
	e := newEnv(t, "jobs", 1)
	// A lease three times the brokers' lock: krest renews the lock.
	r := req("g", "jobs", 1, 3*lock)
	ls := e.lease(t, r, 1)
	if until := time.Until(ls[0].ExpiresAt); until < 2*lock {
		t.Fatalf("lease expires in %s, want about %s", until, 3*lock)
	}
	// Past the brokers' lock, the record is still this lease's: another
	// member of the group gets nothing.
	other := r
	other.MaxRecords, other.Wait = 2, 2*lock
	if got, err := e.m.Lease(context.Background(), other); err != nil || len(got) != 0 {
		t.Fatalf("while leased, another member got %v (%v)", values(got), err)
	}
	res := e.m.Acks(context.Background(), "g", []Ack{{ls[0].Token, Renew}})
	if res[0].Status != StatusOK || !res[0].ExpiresAt.After(ls[0].ExpiresAt) {
		t.Fatalf("renew: %+v", res[0])
	}
	if got := e.acks("g", Accept, ls...); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("accept after renewals: %v", got)
	}
}

func TestMaxDeliveriesDeadLetters(t *testing.T) {
	e := newEnv(t, "jobs", 1, func(o *Options) { o.MaxDeliveries = 2 })
	r := req("g", "jobs", 1, 10*time.Second)
	for delivery := int32(1); delivery <= 2; delivery++ {
		ls := e.lease(t, r, 1)
		if ls[0].DeliveryCount != delivery {
			t.Fatalf("delivery %d, want %d", ls[0].DeliveryCount, delivery)
		}
		if got := e.acks("g", Release, ls...); !slices.Equal(got, all(StatusOK, 1)) {
			t.Fatalf("release: %v", got)
		}
	}
	letters := kafkatest.Collect(t, e.brokers, DeadLetterTopic("jobs"), 1, 10*time.Second)
	if kafkatest.Header(letters[0], HeaderReason) != reasonMaxDeliveries || kafkatest.Header(letters[0], HeaderDeliveryCount) != "2" {
		t.Fatalf("dead letter headers %v", letters[0].Headers)
	}
	if ls, err := e.m.Lease(context.Background(), r); err != nil || len(ls) != 0 {
		t.Fatalf("a dead-lettered record leased again: %v (%v)", values(ls), err)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, "jobs", 1)
	ls := e.lease(t, req("g", "jobs", 1, 10*time.Second), 1)
	tok := ls[0].Token
	if node, ok := e.m.Owner("g", tok); !ok || node != "node1" {
		t.Fatalf("owner %q %v", node, ok)
	}
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	for name, a := range map[string]struct {
		group, token string
	}{
		"other group": {"h", tok},
		"tampered":    {"g", string(tampered)},
		"garbage":     {"g", "not-a-token"},
		"empty":       {"g", ""},
	} {
		if _, ok := e.m.Owner(a.group, a.token); ok {
			t.Errorf("%s: Owner accepted it", name)
		}
		if got := e.m.Acks(context.Background(), a.group, []Ack{{a.token, Accept}}); got[0].Status != StatusInvalid {
			t.Errorf("%s: %s", name, got[0].Status)
		}
	}
	// Another node's token, signed with the same secret, is not this
	// node's to settle.
	foreign := sign(e.m.secret, "g", ticket{node: "node2", incarnation: e.m.incarnation, member: 1, lease: 1})
	if got := e.m.Acks(context.Background(), "g", []Ack{{foreign, Accept}}); got[0].Status != StatusInvalid {
		t.Errorf("another node's token: %s", got[0].Status)
	}
	if got := e.acks("g", Accept, ls...); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("accept: %v", got)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, "jobs", 1)
	for name, r := range map[string]LeaseRequest{
		"no group":     {Topics: []string{"jobs"}, MaxRecords: 1, Lease: time.Second},
		"no topic":     {Group: "g", MaxRecords: 1, Lease: time.Second},
		"bad topic":    {Group: "g", Topics: []string{"a/b"}, MaxRecords: 1, Lease: time.Second},
		"zero records": {Group: "g", Topics: []string{"jobs"}, Lease: time.Second},
		"too many":     {Group: "g", Topics: []string{"jobs"}, MaxRecords: MaxRecords + 1, Lease: time.Second},
		"no lease":     {Group: "g", Topics: []string{"jobs"}, MaxRecords: 1},
		"long lease":   {Group: "g", Topics: []string{"jobs"}, MaxRecords: 1, Lease: time.Hour},
	} {
		if _, err := e.m.Lease(context.Background(), r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := e.m.Lease(context.Background(), req("g", "missing", 1, time.Second))
	if !errors.Is(err, kafka.ErrTopicNotFound) {
		t.Errorf("missing topic: %v", err)
	}
}

func TestMaxMembers(t *testing.T) {
	e := newEnv(t, "jobs", 3, func(o *Options) { o.MaxMembers = 1 })
	r := req("g", "jobs", 1, 10*time.Second)
	ls := e.lease(t, r, 1)
	// The one member holds a lease: no other can be made.
	if _, err := e.m.Lease(context.Background(), r); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lease: %v", err)
	}
	e.acks("g", Accept, ls...)
	// Idle again, it serves the next lease; then a lease of another key
	// evicts it.
	e.acks("g", Accept, e.lease(t, r, 1)...)
	other := e.lease(t, req("g", "jobs", 2, 10*time.Second), 1)
	if got := e.acks("g", Accept, other...); !slices.Equal(got, all(StatusOK, len(other))) {
		t.Fatalf("accept through the new member: %v", got)
	}
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	if len(e.m.members) != 1 {
		t.Fatalf("%d members, want 1", len(e.m.members))
	}
}

func TestUnsupported(t *testing.T) {
	fake := kafkatest.NewFake(t, kfake.MaxVersions(kversion.V3_9_0()))
	brokers := fake.Brokers()
	cl := kafkatest.NewClient(t, brokers)
	m, err := New(Options{Node: "n", Admin: cl, NewClient: func(o ...kgo.Opt) (*kgo.Client, error) {
		return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, o...)...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	_, err = m.Lease(context.Background(), req("g", "jobs", 1, time.Second))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("lease on Kafka 3.9: %v", err)
	}
}

func TestStream(t *testing.T) {
	e := newEnv(t, "jobs", 4)
	s, err := e.m.Open(context.Background(), req("g", "jobs", 2, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []Leased
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		ls, err := s.Next(context.Background(), time.Second)
		if err != nil {
			return err
		}
		got = append(got, ls...)
		if len(got) == 0 {
			return errors.New("nothing streamed")
		}
		return nil
	})
	// The next batch waits for this one to be settled.
	if ls, err := s.Next(context.Background(), 300*time.Millisecond); err != nil || len(ls) != 0 {
		t.Fatalf("a batch before the last was settled: %v (%v)", values(ls), err)
	}
	e.acks("g", Accept, got...)
	next, err := s.Next(context.Background(), 5*time.Second)
	if err != nil || len(next) == 0 {
		t.Fatalf("after settling: %v (%v)", values(next), err)
	}
	// Closing the stream releases what it holds.
	s.Close()
	redelivered := e.lease(t, req("g", "jobs", 4, 10*time.Second), 4-len(got))
	for _, l := range redelivered {
		if slices.ContainsFunc(next, func(n Leased) bool { return n.Record.Offset == l.Record.Offset }) && l.DeliveryCount != 2 {
			t.Fatalf("record %s released by the stream at delivery %d", l.Record.Value, l.DeliveryCount)
		}
	}
}

// TestManyWorkers: workers lease and settle every record at once, some
// releasing first; every record is accepted once, none lost.
func TestManyWorkers(t *testing.T) {
	const records, workers = 200, 8
	e := newEnv(t, "jobs", records)
	var mu sync.Mutex
	accepted := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				done := len(accepted) == records
				mu.Unlock()
				if done {
					return
				}
				ls, err := e.m.Lease(ctx, req("g", "jobs", 1+w%3*5, 10*time.Second))
				if err != nil {
					continue
				}
				for i, l := range ls {
					action := Accept
					if i%4 == 1 && l.DeliveryCount == 1 {
						action = Release
					}
					res := e.m.Acks(ctx, "g", []Ack{{l.Token, action}})
					if action == Accept && res[0].Status == StatusOK {
						mu.Lock()
						accepted[string(l.Record.Value)]++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	if len(accepted) != records {
		t.Fatalf("%d of %d records accepted", len(accepted), records)
	}
	for v, n := range accepted {
		if n != 1 {
			t.Errorf("%s accepted %d times", v, n)
		}
	}
}

func TestDeadLetterFailureReleases(t *testing.T) {
	// A topic whose dead-letter topic's name is too long for Kafka: the
	// dead letter cannot be written, so the rejected record is released.
	topic := strings.Repeat("j", 246)
	e := newEnv(t, topic, 1)
	r := req("g", topic, 1, 10*time.Second)
	ls := e.lease(t, r, 1)
	if got := e.acks("g", Reject, ls...); !slices.Equal(got, all(StatusOK, 1)) {
		t.Fatalf("reject: %v", got)
	}
	again := e.lease(t, r, 1)
	if again[0].DeliveryCount != 2 {
		t.Fatalf("after a failed dead letter, delivery %d, want 2", again[0].DeliveryCount)
	}
}

func TestOverDeliveredDeadLetteredWhenLeased(t *testing.T) {
	e := newEnv(t, "jobs", 1)
	e.lease(t, req("g", "jobs", 1, 10*time.Second), 1)
	// This node goes away holding the record, which is delivered again
	// to a node that allows one delivery.
	e.m.Close(context.Background())
	opts := e.m.opts
	opts.Node, opts.MaxDeliveries = "node2", 1
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		ls, err := m.Lease(context.Background(), req("g", "jobs", 1, 10*time.Second))
		if err != nil || len(ls) > 0 {
			t.Fatalf("leased %v (%v), want the record dead-lettered instead", values(ls), err)
		}
		ends, err := kadm.NewClient(e.cl).ListEndOffsets(context.Background(), DeadLetterTopic("jobs"))
		if err != nil {
			return err
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		if n < 1 {
			return errors.New("no dead letter yet")
		}
		return nil
	})
	got := kafkatest.Collect(t, e.brokers, DeadLetterTopic("jobs"), 1, 10*time.Second)
	if kafkatest.Header(got[0], HeaderDeliveryCount) != "2" || kafkatest.Header(got[0], HeaderReason) != reasonMaxDeliveries {
		t.Fatalf("dead letter headers %v", got[0].Headers)
	}
}

func TestMetrics(t *testing.T) {
	reg := metrics.New()
	e := newEnv(t, "jobs", 2, func(o *Options) { o.Metrics = reg })
	ls := e.lease(t, req("g", "jobs", 2, 10*time.Second), 2)
	e.acks("g", Accept, ls[0])
	e.acks("g", Reject, ls[1])
	e.acks("g", Accept, ls[0])
	var page strings.Builder
	if err := reg.WriteText(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"krest_queue_leased_records_total 2",
		`krest_queue_acks_total{action="accept",status="ok"} 1`,
		`krest_queue_acks_total{action="accept",status="lease_lost"} 1`,
		`krest_queue_acks_total{action="reject",status="ok"} 1`,
		`krest_queue_dead_lettered_records_total{reason="rejected"} 1`,
		"krest_queue_members 1",
	} {
		if !strings.Contains(page.String(), want+"\n") {
			t.Errorf("no %s in the metrics", want)
		}
	}
}

func TestGroupDefaults(t *testing.T) {
	e := newEnv(t, "jobs", 1, func(o *Options) { o.LockDuration = 20 * time.Second })
	e.lease(t, req("g", "jobs", 1, 10*time.Second), 1)
	if got := groupConfigs(t, e.cl, "g"); got[configOffsetReset] != "earliest" || got[configLockDuration] != "20000" {
		t.Fatalf("group configs %v", got)
	}
	// A group that sets its own keeps it.
	alterGroup(t, e.cl, "h", configOffsetReset, "latest")
	if _, err := e.m.Lease(context.Background(), req("h", "jobs", 1, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := groupConfigs(t, e.cl, "h"); got[configOffsetReset] != "latest" || got[configLockDuration] != "20000" {
		t.Fatalf("group configs %v", got)
	}
}

// groupConfigs returns the configs group sets itself.
func groupConfigs(t *testing.T, cl *kgo.Client, group string) map[string]string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range resp.Resources {
		for _, c := range r.Configs {
			if c.Source == kmsg.ConfigSourceGroupConfig && c.Value != nil {
				got[c.Name] = *c.Value
			}
		}
	}
	return got
}

// alterGroup sets group's config name to value.
func alterGroup(t *testing.T, cl *kgo.Client, group, name, value string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = name, &value
	r.Configs = append(r.Configs, c)
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(context.Background(), cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Resources[0].ErrorCode)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestStaleFetchNotHandedOut: a record fetched after its lease request
// stopped waiting waits in the member until the next lease; once its lock
// has run out there, it is given back, not handed out (the brokers may
// have delivered it to another member).
func TestStaleFetchNotHandedOut(t *testing.T) {
	e := newEnv(t, "jobs", 0)
	r := req("g", "jobs", 1, 10*time.Second)
	// The member joins and waits; a record produced while its poll gives
	// up is fetched after it, and waits in the member past its lock.
	e.lease(t, r, 0)
	r.Wait = 0
	produced := make(chan error, 1)
	go func() {
		time.Sleep(minPoll + 50*time.Millisecond) // inside the fetch's wait at the broker, after the poll's
		produced <- e.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "jobs", Value: []byte("v0")}).FirstErr()
	}()
	ls, err := e.m.Lease(context.Background(), r)
	if perr := <-produced; perr != nil {
		t.Fatal(perr)
	}
	if err != nil || len(ls) != 0 {
		t.Skipf("the record came within the poll (%v, %v): the timing this test needs did not happen", values(ls), err)
	}
	time.Sleep(lock + 100*time.Millisecond) // past the lock of the record held in the member
	ls, err = e.m.Lease(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.DeliveryCount == 1 {
			t.Fatalf("a record whose lock ran out in the member was handed out (expires %s)", l.ExpiresAt)
		}
	}
}
