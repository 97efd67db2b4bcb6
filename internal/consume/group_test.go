package consume_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/consume"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// recorder remembers which keys its members processed.
type recorder struct {
	mu       sync.Mutex
	seen     map[string]int
	byMember map[string]int
}

// member is a Handler recording into a recorder under a name. Each record
// costs a little time, as real work would, so a rebalance lands mid-backlog.
type member struct {
	name string
	*recorder
}

func (m member) Handle(_ context.Context, rec *kgo.Record) error {
	time.Sleep(20 * time.Microsecond) // simulated work
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen[string(rec.Key)]++
	m.byMember[m.name]++
	return nil
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// startMember runs one group member until the returned stop is called;
// stop waits for Run to return.
func startMember(t *testing.T, brokers []string, h consume.Handler) (stop func()) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	g := consume.New(consume.Options{
		Handler: h, Logger: logger, DrainTimeout: 5 * time.Second, MaxPollRecords: 100,
		DeadLetters: consume.NewDeadLetters(kafkatest.NewClient(t, brokers), "in.dlq"),
	})
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
	return stop
}

// TestRebalance starts a second member while the first is mid-backlog:
// every record is processed, and once both leave, the committed offsets
// reach the end of every partition.
func TestRebalance(t *testing.T) {
	const n = 6_000
	c := kafkatest.NewFake(t)
	cl := kafkatest.NewClient(t, c.Brokers(), kgo.MaxBufferedRecords(n))
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 6, -1, nil, "in"); err != nil {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "in", Key: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	h := &recorder{seen: map[string]int{}, byMember: map[string]int{}}
	stopA := startMember(t, c.Brokers(), member{"a", h})
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if got := h.distinct(); got < n/10 {
			return fmt.Errorf("processed %d", got)
		}
		return nil
	})
	stopB := startMember(t, c.Brokers(), member{"b", h})
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

	committed, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, "in")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(end kadm.ListedOffset) {
		got, ok := committed.Lookup("in", end.Partition)
		if !ok || got.At != end.Offset {
			t.Errorf("partition %d: committed %d, end %d", end.Partition, got.At, end.Offset)
		}
	})
}
