package produce_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

const timeout = time.Second

// newProducer returns a Producer on brokers with the given buffer limit and
// a one-second timeout, with topic "t" created when the broker is up.
func newProducer(t *testing.T, brokers []string, maxBuffered int) *produce.Producer {
	t.Helper()
	return newProducerTimeout(t, brokers, maxBuffered, timeout)
}

// newProducerTimeout is newProducer with another timeout.
func newProducerTimeout(t *testing.T, brokers []string, maxBuffered int, timeout time.Duration) *produce.Producer {
	t.Helper()
	cl, err := kafka.NewProducerClient(kafka.ProducerOptions{
		Options: kafka.Options{Brokers: brokers, ClientID: "test"}, MaxBufferedRecords: maxBuffered, Partitioner: produce.Partitioner(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return produce.New(cl, produce.Options{Timeout: timeout})
}

func createTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	adm := kadm.NewClient(kafkatest.NewClient(t, brokers))
	if _, err := adm.CreateTopic(context.Background(), 1, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

// stallProduce makes the broker hold every produce request unanswered
// until the test ends.
func stallProduce(t *testing.T, c *kafkatest.Fake) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
}

func TestProduceAcknowledged(t *testing.T) {
	c := kafkatest.NewFake(t)
	createTopic(t, c.Brokers(), "t")
	p := newProducer(t, c.Brokers(), 100)
	res := p.Produce(context.Background(),
		&kgo.Record{Topic: "t", Value: []byte("a")}, &kgo.Record{Topic: "t", Value: []byte("b")})
	for i, r := range res {
		if r.Err != nil || r.Record.Offset != int64(i) {
			t.Errorf("result %d: offset %d err %v", i, r.Record.Offset, r.Err)
		}
	}
}

// TestProduceFailures checks that each fault ends in its error within about
// the timeout, never a hang.
func TestProduceFailures(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, c *kafkatest.Fake)
		topic string
		want  error
	}{
		{
			name:  "broker down",
			setup: func(t *testing.T, c *kafkatest.Fake) { c.Stop(t) },
			topic: "t", want: produce.ErrNotWritten,
		},
		{
			name:  "broker does not answer",
			setup: stallProduce,
			topic: "t", want: produce.ErrTimeout,
		},
		{
			name:  "unknown topic",
			topic: "missing", want: kafka.ErrTopicNotFound,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewFake(t)
			createTopic(t, c.Brokers(), "t")
			p := newProducer(t, c.Brokers(), 100)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			start := time.Now()
			res := p.Produce(context.Background(), &kgo.Record{Topic: tt.topic, Value: []byte("x")})[0]
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("answered after %s, want about %s", took, timeout)
			}
			if !errors.Is(res.Err, tt.want) {
				t.Errorf("got %v, want %v", res.Err, tt.want)
			}
		})
	}
}

// TestBufferFull fills the producer's buffer against a broker that does not
// answer: the record past the limit fails at once.
func TestBufferFull(t *testing.T) {
	c := kafkatest.NewFake(t)
	createTopic(t, c.Brokers(), "t")
	stallProduce(t, c)
	p := newProducer(t, c.Brokers(), 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		p.Send(context.Background(), &kgo.Record{Topic: "t", Value: []byte("held")}, func(produce.Result) { wg.Done() })
	}
	start := time.Now()
	res := p.Produce(context.Background(), &kgo.Record{Topic: "t", Value: []byte("one too many")})[0]
	if !errors.Is(res.Err, produce.ErrBufferFull) {
		t.Errorf("got %v, want ErrBufferFull", res.Err)
	}
	if took := time.Since(start); took > timeout/2 {
		t.Errorf("buffer-full answer took %s, want at once", took)
	}
	wg.Wait()
}

// TestProduceNotEnoughReplicas has the broker refuse every write for want
// of in-sync replicas, as when most brokers are down. The record was never
// written, and the answer says so (ErrUnavailable, not the "maybe" of
// ErrTimeout) by the timeout, though the client fails such a record only
// when it next retries.
func TestProduceNotEnoughReplicas(t *testing.T) {
	c := kafkatest.NewFake(t)
	createTopic(t, c.Brokers(), "t")
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "t", Err: kerr.NotEnoughReplicas, Count: -1})
	const timeout = 6 * time.Second // long enough to leave kafka.RetryInterval to the client
	p := newProducerTimeout(t, c.Brokers(), 100, timeout)
	start := time.Now()
	res := p.Produce(context.Background(), &kgo.Record{Topic: "t", Value: []byte("x")})[0]
	if took := time.Since(start); !errors.Is(res.Err, produce.ErrNotWritten) || took > timeout {
		t.Errorf("got %v after %s, want ErrUnavailable within %s", res.Err, took, timeout)
	}
}

func TestClass(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{produce.ErrNotWritten, "unavailable"},
		{errors.Join(errors.New("wrapped"), produce.ErrTimeout), "timeout"},
		{errors.New("something else"), "other"},
	} {
		if got := produce.Class(tt.err); got != tt.want {
			t.Errorf("Class(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
