// Package produce sends records to Kafka and reports, for each one, the
// broker's acknowledgement or an error from a small set callers can map
// (errors.go), so that no caller needs to know Kafka's error codes.
package produce

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
)

// Metrics counts what the producer does; metrics.Metrics implements it.
type Metrics interface {
	// Produced counts n acknowledged records.
	Produced(n int)
	// ProduceFailed counts one failed record by error class.
	ProduceFailed(class string)
}

// Options configure a Producer.
type Options struct {
	// Timeout bounds how long a record may wait for its acknowledgement.
	Timeout time.Duration
	// Metrics, if set, counts records and errors.
	Metrics Metrics
}

// Producer produces records through one franz-go client configured for
// acks=all and idempotence (see kafka.NewProducerClient). It is safe for
// concurrent use; concurrent callers share the client's batches.
type Producer struct {
	cl      *kgo.Client
	timeout time.Duration
	metrics Metrics
}

// New returns a Producer over cl.
func New(cl *kgo.Client, opts Options) *Producer {
	return &Producer{cl: cl, timeout: opts.Timeout, metrics: opts.Metrics}
}

// Result is the outcome of producing one record. On success Record holds the
// partition, offset and timestamp the broker assigned; otherwise Err wraps
// one of this package's errors.
type Result struct {
	Record *kgo.Record
	Err    error
}

// Produce sends recs and waits until each is acknowledged or failed, or the
// producer's timeout passes. It returns one Result per record, in order. A
// record still unanswered at the timeout gets ErrTimeout: it may yet be
// written. The records share one deadline and one timer, so a call costs
// little more per record than the client's own work.
func (p *Producer) Produce(ctx context.Context, recs ...*kgo.Record) []Result {
	results := make([]Result, len(recs))
	if len(recs) == 0 {
		return results
	}
	ctx, cancel := context.WithTimeout(ctx, p.clientTimeout())
	defer cancel()
	// Each result is set once, by whoever claims it first: the record's
	// promise, or the timeout. The last one set closes done.
	claimed := make([]atomic.Bool, len(recs))
	var left atomic.Int64
	left.Store(int64(len(recs)))
	done := make(chan struct{})
	set := func(i int, res Result) {
		if !claimed[i].CompareAndSwap(false, true) {
			return
		}
		p.count(res.Err)
		results[i] = res
		if left.Add(-1) == 0 {
			close(done)
		}
	}
	for i, r := range recs {
		p.cl.TryProduce(ctx, r, func(r *kgo.Record, err error) {
			set(i, Result{Record: r, Err: classifyResult(r, err)})
		})
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		for i, r := range recs {
			set(i, Result{Record: r, Err: errTimeout(p.timeout)})
		}
		<-done // promises that claimed their result first finish setting it
	}
	return results
}

// Write produces r and waits for its acknowledgement, as Produce does for
// one record, and returns its error.
func (p *Producer) Write(ctx context.Context, r *kgo.Record) error {
	return p.Produce(ctx, r)[0].Err
}

// Send sends r without waiting and calls done exactly once with its outcome,
// at the latest at the producer's timeout (with ErrTimeout). done runs on a
// producer goroutine and must not block.
func (p *Producer) Send(ctx context.Context, r *kgo.Record, done func(Result)) {
	// A record that has not been sent by the deadline is failed by the
	// client with the context's error: it was never written. A record
	// already in flight cannot be taken back, so the timer below answers
	// for it.
	ctx, cancel := context.WithTimeout(ctx, p.clientTimeout())
	var once sync.Once
	finish := func(res Result) {
		once.Do(func() {
			cancel()
			p.count(res.Err)
			done(res)
		})
	}
	timer := time.AfterFunc(p.timeout, func() {
		finish(Result{Record: r, Err: errTimeout(p.timeout)})
	})
	p.cl.TryProduce(ctx, r, func(r *kgo.Record, err error) {
		timer.Stop()
		finish(Result{Record: r, Err: classifyResult(r, err)})
	})
}

// clientTimeout is the deadline the client gets for a record: the timeout
// less the time it may take to act on it. The client gives up a record past
// its deadline, one it holds unwritten, only at its next attempt, within
// kafka.RetryInterval; the caller should hear that (ErrNotWritten) rather
// than ErrTimeout, which says "maybe", once the timeout is up. At most a
// quarter of the timeout goes to this.
func (p *Producer) clientTimeout() time.Duration {
	return p.timeout - min(p.timeout/4, kafka.RetryInterval)
}

// Flush waits until every buffered record is acknowledged or failed.
func (p *Producer) Flush(ctx context.Context) error { return p.cl.Flush(ctx) }

func (p *Producer) count(err error) {
	if p.metrics == nil {
		return
	}
	if err == nil {
		p.metrics.Produced(1)
		return
	}
	p.metrics.ProduceFailed(Class(err))
}
