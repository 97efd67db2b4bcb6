package consume_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/consume"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

// errBad is what recorder returns for a record whose value starts with
// "bad".
var errBad = errors.New("bad record")

// recorder is a Handler that remembers which records it saw, by key and
// by partition and offset, and fails records whose value starts with "bad".
type recorder struct {
	mu       sync.Mutex
	seen     map[string]int
	at       map[int32][]int64 // offsets handled, by partition
	byMember map[string]int
}

func newRecorder() *recorder {
	return &recorder{seen: map[string]int{}, at: map[int32][]int64{}, byMember: map[string]int{}}
}

func (r *recorder) record(name string, rec *kgo.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[string(rec.Key)]++
	r.at[rec.Partition] = append(r.at[rec.Partition], rec.Offset)
	r.byMember[name]++
	if bytes.HasPrefix(rec.Value, []byte("bad")) {
		return errBad
	}
	return nil
}

func (r *recorder) Handle(_ context.Context, rec *kgo.Record) error { return r.record("", rec) }

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// offsets returns the offsets handled in partition p.
func (r *recorder) offsets(p int32) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.at[p]...)
}

// member is a group member's Handler recording into a recorder under a
// name. Once the recorder has seen holdAt records, it holds at each record
// until gate is closed.
type member struct {
	name   string
	holdAt int
	gate   <-chan struct{}
	*recorder
}

func (m member) Handle(ctx context.Context, rec *kgo.Record) error {
	if m.gate != nil && m.distinct() >= m.holdAt {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return m.record(m.name, rec)
}

// metrics counts a Group's dead-letter failures and pauses.
type metrics struct {
	failed sync.Map // policy → *atomic.Int64
	paused atomic.Int64
}

func (m *metrics) Consumed()     {}
func (m *metrics) DeadLettered() {}
func (m *metrics) CommitFailed() {}
func (m *metrics) DeadLetterFailed(policy string) {
	n, _ := m.failed.LoadOrStore(policy, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}
func (m *metrics) PausedPartitions(n int) { m.paused.Store(int64(n)) }

func (m *metrics) failures(policy string) int64 {
	n, ok := m.failed.Load(policy)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// groupOptions are what a test varies about a group member.
type groupOptions struct {
	handler        consume.Handler
	policy         consume.Policy
	pauseRetry     time.Duration
	retryTimeout   time.Duration // of a dead letter; default 5s
	produceTimeout time.Duration // of one dead-letter write; default 2s
	metrics        consume.Metrics
}

// startGroup runs one member of group "g" on topic "in", dead-lettering to
// "in.dlq" through a real produce.Producer, until the returned stop is
// called; stop waits for Run to return.
func startGroup(t *testing.T, brokers []string, o groupOptions) (g *consume.Group, stop func()) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.retryTimeout == 0 {
		o.retryTimeout = 5 * time.Second
	}
	if o.produceTimeout == 0 {
		o.produceTimeout = 2 * time.Second
	}
	pcl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{Options: kafka.Options{Brokers: brokers, ClientID: "dlq"},
		MaxBufferedRecords: 100, MaxBufferedBytes: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pcl.Close)
	dlq, err := consume.NewDeadLetters(produce.New(pcl, produce.Options{Timeout: o.produceTimeout}), "in.dlq",
		consume.DeadLetterOptions{Retriable: produce.Retriable, RetryTimeout: o.retryTimeout})
	if err != nil {
		t.Fatal(err)
	}
	g, err = consume.New(consume.Options{
		Handler: o.handler, Logger: logger, DrainTimeout: 5 * time.Second, MaxPollRecords: 100, DeadLetters: dlq,
		Policy: o.policy, PauseRetry: o.pauseRetry, Metrics: o.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kafka.NewConsumerClient(kafka.ConsumerOptions{
		Options: kafka.Options{Brokers: brokers, ClientID: "test"}, Group: "g", Topics: []string{"in"},
		SessionTimeout: 10 * time.Second, OnRevoked: g.OnRevoked, OnLost: g.OnLost, OnCommit: g.OnCommit,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, cl) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return g, stop
}

// createTopic creates topic with partitions and configs.
func createTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := adm.CreateTopic(context.Background(), partitions, -1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
}

// committed returns the group's committed offset of each partition of
// topic in, -1 for none.
func committed(t *testing.T, adm *kadm.Client, partitions int32) []int64 {
	t.Helper()
	out := make([]int64, partitions)
	for p := range out {
		out[p] = -1
	}
	offsets, err := adm.FetchOffsets(context.Background(), "g")
	if errors.Is(err, kerr.GroupIDNotFound) {
		return out // the group has not joined yet
	}
	if err != nil {
		t.Fatal(err)
	}
	for p := range partitions {
		if o, ok := offsets.Lookup("in", p); ok {
			out[p] = o.At
		}
	}
	return out
}

// TestRebalance starts a second member while the first is mid-backlog:
// every record is processed, and once both leave, the committed offsets
// reach the end of every partition. The first member holds its batch until
// the second has joined, so the rebalance lands mid-backlog however fast
// the machine is.
func TestRebalance(t *testing.T) {
	const n = 6_000
	c := kafkatest.NewFake(t)
	cl := kafkatest.NewClient(t, c.Brokers(), kgo.MaxBufferedRecords(n))
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	createTopic(t, adm, "in", 6, nil)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "in", Key: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	h := newRecorder()
	gate := make(chan struct{})
	_, stopA := startGroup(t, c.Brokers(), groupOptions{handler: member{name: "a", holdAt: n / 10, gate: gate, recorder: h}})
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if got := h.distinct(); got < n/10 {
			return fmt.Errorf("processed %d", got)
		}
		return nil
	})
	// a takes part in the rebalance b's join starts once its heartbeat
	// hears of it; from then on its next poll waits for the rebalance.
	var joined, heartbeats atomic.Int64
	c.ControlKey(int16(kmsg.Heartbeat), func(kmsg.Request) (kmsg.Response, error, bool) {
		if joined.Load() == 1 {
			heartbeats.Add(1)
		}
		return nil, nil, false // observed; the broker answers as usual
	})
	_, stopB := startGroup(t, c.Brokers(), groupOptions{handler: member{name: "b", recorder: h}})
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		groups, err := adm.DescribeGroups(ctx, "g")
		if err != nil {
			return err
		}
		if g := groups["g"]; len(g.Members) != 2 {
			return fmt.Errorf("group %s with %d members", g.State, len(g.Members))
		}
		return nil
	})
	joined.Store(1)
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if heartbeats.Load() == 0 {
			return errors.New("a has not heartbeaten since b joined")
		}
		return nil
	})
	if got := h.distinct(); got >= n/2 {
		t.Fatalf("a processed %d of %d records while holding", got, n)
	}
	close(gate)
	kafkatest.WaitFor(t, 60*time.Second, func() error {
		if got := h.distinct(); got < n {
			return fmt.Errorf("processed %d of %d", got, n)
		}
		return nil
	})
	stopA()
	stopB()
	if h.byMember["b"] == 0 {
		t.Fatalf("the second member processed nothing (%v): no rebalance mid-backlog", h.byMember)
	}
	t.Logf("records processed by member: %v", h.byMember)

	ends, err := adm.ListEndOffsets(ctx, "in")
	if err != nil {
		t.Fatal(err)
	}
	got := committed(t, adm, 6)
	ends.Each(func(end kadm.ListedOffset) {
		if got[end.Partition] != end.Offset {
			t.Errorf("partition %d: committed %d, end %d", end.Partition, got[end.Partition], end.Offset)
		}
	})
}

// TestCommitInterval feeds a caught-up member one record at a time, as low
// traffic does: it commits on the client's interval and when it leaves,
// not once per record, as it did when it committed whenever a poll came
// back short. The brokers count the OffsetCommit requests.
func TestCommitInterval(t *testing.T) {
	const n = 20
	c := kafkatest.NewFake(t)
	cl := kafkatest.NewClient(t, c.Brokers(), kgo.DefaultProduceTopic("in"))
	adm := kadm.NewClient(cl)
	createTopic(t, adm, "in", 3, nil)
	var commits atomic.Int64
	c.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		commits.Add(1)
		return nil, nil, false // counted; the broker answers as usual
	})

	h := newRecorder()
	_, stop := startGroup(t, c.Brokers(), groupOptions{handler: h})
	start := time.Now()
	for i := range n {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		kafkatest.WaitFor(t, 10*time.Second, func() error {
			if got := h.distinct(); got <= i {
				return fmt.Errorf("processed %d of %d", got, i+1)
			}
			return nil
		})
	}
	// The interval commit covers the last record without a leave.
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		sum := int64(0)
		for _, o := range committed(t, adm, 3) {
			sum += max(o, 0)
		}
		if sum != n {
			return fmt.Errorf("committed %d of %d records", sum, n)
		}
		return nil
	})
	elapsed := time.Since(start)
	stop()
	// One commit per interval that saw a new record, one for the interval
	// under way, one when leaving.
	bound := int64(elapsed/kafka.DefaultCommitInterval) + 2
	if got := commits.Load(); got > bound {
		t.Errorf("%d records in %s took %d offset commits, want at most %d", n, elapsed.Round(time.Millisecond), got, bound)
	} else {
		t.Logf("%d records in %s took %d offset commits", n, elapsed.Round(time.Millisecond), got)
	}
}

// backlog fills topic in, 3 partitions, with good records ("good-<p>-<i>")
// and, in partition 0 at offset badAt, a record that is not a message and
// too large for the dead-letter topic, created with max.message.bytes 512.
// It returns the end offset of each partition.
func backlog(t *testing.T, brokers []string, perPartition, badAt int) (*kadm.Client, []int64) {
	t.Helper()
	cl := kafkatest.NewClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	createTopic(t, adm, "in", 3, nil)
	small := "512"
	createTopic(t, adm, "in.dlq", 1, map[string]*string{"max.message.bytes": &small})
	var recs []*kgo.Record
	for p := range int32(3) {
		for i := range perPartition {
			key := fmt.Sprintf("good-%d-%d", p, i)
			value := []byte(`{"id":"` + key + `","content":"x"}`)
			if p == 0 && i == badAt {
				key, value = "bad", append([]byte("bad"), incompressible(2000)...)
			}
			recs = append(recs, &kgo.Record{Topic: "in", Partition: p, Key: []byte(key), Value: value})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return adm, []int64{int64(perPartition), int64(perPartition), int64(perPartition)}
}

// incompressible returns n bytes that compression cannot shrink, so a
// record's size at the broker is its size.
func incompressible(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// dlqRecords returns how many records the dead-letter topic holds.
func dlqRecords(t *testing.T, adm *kadm.Client) int64 {
	t.Helper()
	ends, err := adm.ListEndOffsets(context.Background(), "in.dlq")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup("in.dlq", 0)
	return o.Offset
}

// TestDeadLetterFailure has a record in partition 0 that cannot be
// processed and that the dead-letter topic refuses (MESSAGE_TOO_LARGE, a
// lasting error), under each policy.
func TestDeadLetterFailure(t *testing.T) {
	const perPartition, badAt = 10, 4
	t.Run("pause", func(t *testing.T) {
		c := kafkatest.NewFake(t)
		adm, ends := backlog(t, c.Brokers(), perPartition, badAt)
		h, m := newRecorder(), &metrics{}
		g, stop := startGroup(t, c.Brokers(), groupOptions{handler: h, policy: consume.PolicyPause, metrics: m})

		// The other partitions go on to their end and are committed; the
		// paused one is committed up to the record, not past it.
		want := []int64{badAt, ends[1], ends[2]}
		kafkatest.WaitFor(t, 20*time.Second, func() error {
			if got := committed(t, adm, 3); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("committed %v, want %v", got, want)
			}
			return nil
		})
		paused := g.Paused()
		if len(paused) != 1 || paused[0].Topic != "in" || paused[0].Partition != 0 || paused[0].Offset != badAt ||
			!strings.Contains(paused[0].Reason, kafka.ErrTooLarge.Error()) {
			t.Errorf("Paused() = %+v, want partition 0 at offset %d, too large", paused, badAt)
		}
		if got := h.offsets(0); fmt.Sprint(got) != fmt.Sprint([]int64{0, 1, 2, 3, badAt}) {
			t.Errorf("partition 0: handled offsets %v, want up to the bad record once", got)
		}
		if m.failures("pause") != 1 || m.paused.Load() != 1 {
			t.Errorf("counted %d failures and %d paused partitions, want 1 and 1", m.failures("pause"), m.paused.Load())
		}
		stop()
		if got := committed(t, adm, 3); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after leaving, committed %v, want %v", got, want)
		}
		if n := dlqRecords(t, adm); n != 0 {
			t.Errorf("dead-letter topic holds %d records", n)
		}
	})

	t.Run("pause, then retry once the topic takes it", func(t *testing.T) {
		c := kafkatest.NewFake(t)
		adm, ends := backlog(t, c.Brokers(), perPartition, badAt)
		h := newRecorder()
		g, _ := startGroup(t, c.Brokers(), groupOptions{handler: h, pauseRetry: 500 * time.Millisecond})
		kafkatest.WaitFor(t, 20*time.Second, func() error {
			if len(g.Paused()) == 0 {
				return errors.New("not paused yet")
			}
			return nil
		})
		large := "1048576"
		resp, err := adm.AlterTopicConfigs(context.Background(),
			[]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &large}}, "in.dlq")
		if err == nil {
			_, err = resp.On("in.dlq", nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		kafkatest.WaitFor(t, 20*time.Second, func() error {
			if got := committed(t, adm, 3); fmt.Sprint(got) != fmt.Sprint(ends) {
				return fmt.Errorf("committed %v, want %v", got, ends)
			}
			return nil
		})
		if p := g.Paused(); len(p) != 0 {
			t.Errorf("still paused: %+v", p)
		}
		if n := dlqRecords(t, adm); n != 1 {
			t.Errorf("dead-letter topic holds %d records, want 1", n)
		}
		if got := h.offsets(0); len(got) < perPartition || got[len(got)-1] != perPartition-1 {
			t.Errorf("partition 0: handled offsets %v", got)
		}
	})

	t.Run("skip", func(t *testing.T) {
		c := kafkatest.NewFake(t)
		adm, ends := backlog(t, c.Brokers(), perPartition, badAt)
		h, m := newRecorder(), &metrics{}
		g, stop := startGroup(t, c.Brokers(), groupOptions{handler: h, policy: consume.PolicySkip, metrics: m})
		kafkatest.WaitFor(t, 20*time.Second, func() error {
			if got := committed(t, adm, 3); fmt.Sprint(got) != fmt.Sprint(ends) {
				return fmt.Errorf("committed %v, want %v", got, ends)
			}
			return nil
		})
		stop()
		if got := h.offsets(0); fmt.Sprint(got) != fmt.Sprint([]int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("partition 0: handled offsets %v, want each once", got)
		}
		if m.failures("skip") != 1 || m.failures("pause") != 0 || m.paused.Load() != 0 {
			t.Errorf("counted %d skipped, %d paused failures, %d paused partitions; want 1, 0, 0",
				m.failures("skip"), m.failures("pause"), m.paused.Load())
		}
		if p := g.Paused(); len(p) != 0 {
			t.Errorf("Paused() = %+v", p)
		}
		if n := dlqRecords(t, adm); n != 0 {
			t.Errorf("dead-letter topic holds %d records", n)
		}
	})
}

// TestDeadLetterRetries has the brokers refuse produce requests with
// NOT_ENOUGH_REPLICAS, a passing error: a short outage (a few requests
// refused, which the producer retries within its timeout) is retried
// through and the record dead-lettered; a lasting one (every request
// refused) ends at the retry timeout and the partition pauses, naming the
// outage.
func TestDeadLetterRetries(t *testing.T) {
	const perPartition, badAt = 10, 4
	for _, tt := range []struct {
		name                         string
		refusals                     int64 // 0: every request
		produceTimeout, retryTimeout time.Duration
		paused                       bool
	}{
		{"short outage", 3, 5 * time.Second, 10 * time.Second, false},
		{"lasting outage", 0, 500 * time.Millisecond, 3 * time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewFake(t)
			adm, ends := backlog(t, c.Brokers(), perPartition, badAt)
			large := "1048576"
			if _, err := adm.AlterTopicConfigs(context.Background(),
				[]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: &large}}, "in.dlq"); err != nil {
				t.Fatal(err)
			}
			var refused atomic.Int64
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				if tt.refusals > 0 && refused.Load() >= tt.refusals {
					return nil, nil, false
				}
				refused.Add(1)
				return refuseProduce(req.(*kmsg.ProduceRequest), kerr.NotEnoughReplicas.Code), nil, true
			})
			h := newRecorder()
			g, _ := startGroup(t, c.Brokers(), groupOptions{handler: h, policy: consume.PolicyPause,
				produceTimeout: tt.produceTimeout, retryTimeout: tt.retryTimeout})
			if tt.paused {
				kafkatest.WaitFor(t, 20*time.Second, func() error {
					p := g.Paused()
					if len(p) == 0 {
						return errors.New("not paused yet")
					}
					if !strings.Contains(p[0].Reason, "attempts in 3s") {
						t.Errorf("reason %q does not say the retries ran out", p[0].Reason)
					}
					return nil
				})
				if got := committed(t, adm, 3); got[0] > badAt {
					t.Errorf("partition 0 committed at %d, past the record at %d", got[0], badAt)
				}
				return
			}
			kafkatest.WaitFor(t, 20*time.Second, func() error {
				if got := committed(t, adm, 3); fmt.Sprint(got) != fmt.Sprint(ends) {
					return fmt.Errorf("committed %v, want %v", got, ends)
				}
				return nil
			})
			if p := g.Paused(); len(p) != 0 {
				t.Errorf("paused for a short outage: %+v", p)
			}
			if n := dlqRecords(t, adm); n != 1 {
				t.Errorf("dead-letter topic holds %d records, want 1", n)
			}
			if refused.Load() < 2 {
				t.Errorf("the brokers refused %d produce requests; the outage did not test retries", refused.Load())
			}
		})
	}
}

// refuseProduce answers every partition of req with code.
func refuseProduce(req *kmsg.ProduceRequest, code int16) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
