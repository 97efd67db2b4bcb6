package produce_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

// newLingeringProducer is a Producer whose client lingers linger.
func newLingeringProducer(t testing.TB, brokers []string, linger, timeout time.Duration) *produce.Producer {
	t.Helper()
	cl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{
		Options: kafka.Options{Brokers: brokers}, MaxBufferedRecords: 100_000, Linger: linger,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return produce.New(cl, produce.Options{Timeout: timeout})
}

// TestLoneCallDoesNotLinger gives the client a linger far past the produce
// timeout: a call with no other in flight is written all the same, by
// Produce and by Send, for a new topic and a known one. It relies on
// kgo's Client.Flush stopping lingers, and fails if that changes.
func TestLoneCallDoesNotLinger(t *testing.T) {
	c := kafkatest.NewFake(t)
	createTopic(t, c.Brokers(), "t")
	p := newLingeringProducer(t, c.Brokers(), time.Minute, 5*time.Second)
	for i := range 3 {
		if err := p.Write(context.Background(), &kgo.Record{Topic: "t", Value: []byte("w")}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		done := make(chan produce.Result, 1)
		p.Send(context.Background(), &kgo.Record{Topic: "t", Value: []byte("s")}, func(r produce.Result) { done <- r })
		if r := <-done; r.Err != nil {
			t.Fatalf("send %d: %v", i, r.Err)
		}
	}
}

// BenchmarkProduce runs closed-loop callers, one keyed record a call, on
// a three-partition topic of an in-process broker: c=1, 16, 64 and 256, with no
// linger, with a 500 µs linger waited out by every call (the behaviour
// before lone calls flushed), and with that linger skipped by lone calls.
// It reports calls a second and records per produce request.
//
//	go test -run '^$' -bench Produce -benchtime 3s ./internal/produce/
func BenchmarkProduce(b *testing.B) {
	for _, callers := range []int{1, 16, 64, 256} {
		for _, v := range []struct {
			name    string
			linger  time.Duration
			flushAt int64
		}{
			{"linger=0", 0, 0},
			{"linger=500us/always", 500 * time.Microsecond, 0},
			{"linger=500us/lone-flush", 500 * time.Microsecond, 2},
		} {
			b.Run(fmt.Sprintf("c=%d/%s", callers, v.name), func(b *testing.B) {
				c := kafkatest.NewFake(b)
				createTopicN(b, c.Brokers(), "t", 3)
				p := newLingeringProducer(b, c.Brokers(), v.linger, 10*time.Second)
				produce.SetFlushAt(p, v.flushAt)
				if err := p.Write(context.Background(), &kgo.Record{Topic: "t", Value: []byte("warm")}); err != nil {
					b.Fatal(err)
				}
				requests := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Observe: true, Count: -1})
				value := []byte(`{"id":"123","content":"Hello, Kafka!"}`)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range callers {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							r := &kgo.Record{Topic: "t", Key: strconv.AppendInt(nil, i, 10), Value: value}
							if err := p.Write(context.Background(), r); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
				b.ReportMetric(float64(b.N)/float64(max(requests.Hits(), 1)), "records/request")
				requests.Remove()
			})
		}
	}
}
