package produce_test

import (
	"cmp"
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
	cl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{
		Options: kafka.Options{Brokers: brokers, ClientID: "test"}, MaxBufferedRecords: maxBuffered,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return produce.New(cl, produce.Options{Timeout: timeout})
}

func createTopic(t testing.TB, brokers []string, topic string) { createTopicN(t, brokers, topic, 1) }

func createTopicN(t testing.TB, brokers []string, topic string, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(kafkatest.NewClient(t, brokers))
	if _, err := adm.CreateTopic(context.Background(), partitions, -1, nil, topic); err != nil {
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
		name    string
		setup   func(t *testing.T, c *kafkatest.Fake)
		topic   string
		want    error
		timeout time.Duration // default timeout
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
			// The client gives up after its retries of the topic's
			// metadata, a second apart: the timeout leaves room for them.
			name:  "unknown topic",
			topic: "missing", want: kafka.ErrTopicNotFound, timeout: 4 * time.Second,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewFake(t)
			createTopic(t, c.Brokers(), "t")
			timeout := cmp.Or(tt.timeout, timeout)
			p := newProducerTimeout(t, c.Brokers(), 100, timeout)
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

// TestProduceRefusedAfterSending has the broker refuse every write, for
// want of in-sync replicas (as when most brokers are down) or as not the
// leader. The client gives the record up at its
// delivery bound; since produce requests carrying it were written, krest
// cannot know that no broker kept it (a leader may store a record and then
// answer NOT_LEADER), so the answer is ErrTimeout, "may have been
// written", never ErrNotWritten, and it comes by the timeout.
func TestProduceRefusedAfterSending(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  *kerr.Error
	}{
		{"not enough replicas", kerr.NotEnoughReplicas},
		{"not leader", kerr.NotLeaderForPartition},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewFake(t)
			createTopic(t, c.Brokers(), "t")
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "t", Err: tt.err, Count: -1})
			const timeout = 3 * time.Second
			p := newProducerTimeout(t, c.Brokers(), 100, timeout)
			start := time.Now()
			err := p.Write(context.Background(), &kgo.Record{Topic: "t", Value: []byte("x")})
			if took := time.Since(start); !errors.Is(err, produce.ErrTimeout) || errors.Is(err, produce.ErrNotWritten) || took > timeout+time.Second {
				t.Errorf("got %v after %s, want ErrTimeout by %s", err, took, timeout)
			}
		})
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

// notLeaderFor has the broker answer every produce request with
// NOT_LEADER_FOR_PARTITION for window, counted from the first one; the
// returned channel is closed when that first request arrives.
func notLeaderFor(t *testing.T, c *kafkatest.Fake, window time.Duration) <-chan struct{} {
	t.Helper()
	first := make(chan struct{})
	var end time.Time
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if end.IsZero() {
			end = time.Now().Add(window)
			close(first)
		}
		if time.Now().After(end) {
			return nil, nil, false // the window is over: the broker writes, and this control is dropped
		}
		c.KeepControl()
		return answerProduce(req.(*kmsg.ProduceRequest), kerr.NotLeaderForPartition), nil, true
	})
	return first
}

// answerProduce is a produce response failing every partition of req with
// err.
func answerProduce(req *kmsg.ProduceRequest, err *kerr.Error) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, err.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// TestCallerCannotFailOthers has one caller give up early while its record
// heads the partition's batch and the leader answers NOT_LEADER for two
// seconds: the other callers' records, in the same partition behind it, are
// all acknowledged once the leader is back, and the one that gave up hears
// "may have been written" by its own bound.
func TestCallerCannotFailOthers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ctx   func() (context.Context, context.CancelFunc)
		bound error
	}{
		{"short deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"caller gone", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := kafkatest.NewFake(t)
			createTopic(t, c.Brokers(), "t")
			p := newProducerTimeout(t, c.Brokers(), 100, 6*time.Second)
			if err := p.Write(context.Background(), &kgo.Record{Topic: "t", Value: []byte("warm")}); err != nil {
				t.Fatal(err)
			}
			first := notLeaderFor(t, c, 2*time.Second)

			ctx, cancel := tt.ctx()
			defer cancel()
			short := make(chan error, 1)
			go func() { short <- p.Write(ctx, &kgo.Record{Topic: "t", Value: []byte("short")}) }()
			<-first // the short caller's record heads the partition's buffer
			errs := make([]error, 4)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { errs[i] = p.Write(context.Background(), &kgo.Record{Topic: "t", Value: []byte("patient")}) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("patient caller %d: %v, want acknowledged", i, err)
				}
			}
			if err := <-short; !errors.Is(err, produce.ErrTimeout) || !errors.Is(err, tt.bound) {
				t.Errorf("short caller: %v, want ErrTimeout for %v", err, tt.bound)
			}
		})
	}
}

// TestSendCallerGone sends with a context already done: Send answers at
// once that the caller stopped waiting, and the record is written all the
// same, since a caller's context never fails a record.
func TestSendCallerGone(t *testing.T) {
	c := kafkatest.NewFake(t)
	createTopic(t, c.Brokers(), "t")
	p := newProducer(t, c.Brokers(), 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan produce.Result, 1)
	p.Send(ctx, &kgo.Record{Topic: "t", Value: []byte("orphan")}, func(r produce.Result) { done <- r })
	if r := <-done; !errors.Is(r.Err, produce.ErrTimeout) || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("got %v, want ErrTimeout for a caller gone", r.Err)
	}
	if got := string(kafkatest.Collect(t, c.Brokers(), "t", 1, 10*time.Second)[0].Value); got != "orphan" {
		t.Fatalf("topic holds %q", got)
	}
}
