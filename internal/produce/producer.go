// Package produce sends records to Kafka and reports, for each one, the
// broker's acknowledgement or an error from a small set callers can map
// (errors.go), so that no caller needs to know Kafka's error codes.
package produce

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
	// Timeout bounds how long a call waits for its records'
	// acknowledgements. It also sets the delivery bound (see Producer).
	Timeout time.Duration
	// Metrics, if set, counts records and errors.
	Metrics Metrics
}

// Producer produces records through one franz-go client configured for
// acks=all and idempotence (see kafka.NewProducerClient). It is safe for
// concurrent use; concurrent callers share the client's batches.
//
// franz-go decides whether buffered records may be failed by the context
// of the first record of a partition's first batch, and when it fails
// them it fails every record buffered for that partition (kgo's
// Client.Produce doc). So no caller's context reaches the client: a caller
// that times out or goes away would fail every other caller's records
// behind its own. A call's context and the produce timeout bound only that
// call's own waiting. The client holds each record under the Producer's
// delivery bound instead, the same for every record and counted from when
// the Producer handed it over: Timeout less the time the client may take
// to act on it (min(Timeout/4, kafka.RetryInterval)). A record no broker
// has taken by then is failed, if the client can fail it (it never does
// so for a batch a broker may hold), so a caller learns by the timeout
// that it was not written. kgo's own RecordDeliveryTimeout is not used: it
// counts from the record's Timestamp, which callers may set in the past.
//
// A record a caller stopped waiting for stays buffered: it may still be
// written. A record failed because its topic was deleted and recreated
// (UNKNOWN_TOPIC_ID) makes the Producer forget the topic (ForgetTopic)
// and produce it once more, under the same bound.
//
// A call that finds no other call in flight flushes the client instead of
// waiting out the client's linger (kgo's Client.Flush stops lingering), so
// a lone caller is not slowed by batching meant for concurrent ones.
type Producer struct {
	cl       *kgo.Client
	timeout  time.Duration
	delivery time.Duration
	metrics  Metrics
	requests *Requests // nil when the client carries none
	calls    atomic.Int64
	flushAt  int64 // a call flushes when at most this many calls are in flight, itself included; 0 never

	purgeMu sync.Mutex
	purges  sync.Map // topic → *atomic.Uint64: how often it was forgotten

	slot atomic.Pointer[deliverySlot] // the delivery context calls share now
}

// deliverySlot is a delivery context calls handed over within one slot
// share: a context per call would cost a timer per call.
type deliverySlot struct {
	ctx    context.Context
	cancel context.CancelFunc // never called: the deadline ends the context
	until  time.Time          // calls started before it may share ctx
}

// slotLength is how long calls share a delivery context: its deadline is
// then up to that much earlier than their own bound, never later.
const slotLength = 10 * time.Millisecond

// deliveryContext returns the context a call handed over now holds its
// records under: a deadline of at most the delivery bound from now, at
// least that less slotLength.
func (p *Producer) deliveryContext() context.Context {
	now := time.Now()
	if s := p.slot.Load(); s != nil && now.Before(s.until) {
		return s.ctx
	}
	s := &deliverySlot{until: now.Add(slotLength)}
	s.ctx, s.cancel = context.WithDeadline(context.Background(), now.Add(p.delivery))
	p.slot.Store(s)
	return s.ctx
}

// lone is how many calls may be in flight, the new one included, for the
// new one to flush rather than linger: two callers taking turns gain at
// most one record per batch by lingering.
const lone = 2

// New returns a Producer over cl. It reads which produce requests the
// client writes through cl's Requests hook, if it has one (see Requests).
func New(cl *kgo.Client, opts Options) *Producer {
	p := &Producer{
		cl: cl, timeout: opts.Timeout, metrics: opts.Metrics, flushAt: lone,
		delivery: opts.Timeout - min(opts.Timeout/4, kafka.RetryInterval),
	}
	if linger, _ := cl.OptValue(kgo.ProducerLinger).(time.Duration); linger <= 0 {
		p.flushAt = 0 // nothing lingers
	}
	hooks, _ := cl.OptValue(kgo.WithHooks).([]kgo.Hook)
	for _, h := range hooks {
		if r, ok := h.(*Requests); ok {
			p.requests = r
		}
	}
	return p
}

// Result is the outcome of producing one record. On success Record holds the
// partition, offset and timestamp the broker assigned; otherwise Err wraps
// one of this package's errors.
type Result struct {
	Record *kgo.Record
	Err    error
}

// Produce sends recs and waits until each is acknowledged or failed, the
// producer's timeout passes, or ctx is done. It returns one Result per
// record, in order. A record still unanswered at the timeout or when ctx
// ends gets ErrTimeout: it stays buffered and may yet be written. ctx
// bounds only the waiting: it never fails a record. The records share one
// deadline, so a call costs little more per record than the client's own
// work.
func (p *Producer) Produce(ctx context.Context, recs ...*kgo.Record) []Result {
	results := make([]Result, len(recs))
	if len(recs) == 0 {
		return results
	}
	flush := p.calls.Add(1) <= p.flushAt
	defer p.calls.Add(-1)
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	wait, stop := ctx, func() {}
	if flush {
		// A lone call's wait is a context Flush ends with, at the
		// timeout or once every result is set (stop).
		wait, stop = context.WithTimeout(ctx, p.timeout)
		defer stop()
	}
	c := p.newCall(recs, results, nil, stop)
	now := time.Now() // one clock read stamps the call's records: the client would read it for each
	for i, r := range recs {
		if r.Timestamp.IsZero() {
			r.Timestamp = now
		}
		c.produce(i, false)
	}
	if flush {
		_ = p.cl.Flush(wait) // returns when the buffer is empty or the wait ends
	}
	select {
	case <-c.done:
	case <-timer.C:
		c.giveUp(ctx)
		<-c.done // promises that claimed their result first finish setting it
	case <-ctx.Done():
		c.giveUp(ctx)
		<-c.done
	}
	return results
}

// Write produces r and waits for its acknowledgement, as Produce does for
// one record, and returns its error.
func (p *Producer) Write(ctx context.Context, r *kgo.Record) error {
	return p.Produce(ctx, r)[0].Err
}

// Send sends r without waiting and calls done exactly once with its outcome,
// at the latest at the producer's timeout or when ctx is done (then with
// ErrTimeout: r stays buffered and may yet be written). ctx bounds only
// the waiting. done runs on a producer goroutine and must not block.
func (p *Producer) Send(ctx context.Context, r *kgo.Record, done func(Result)) {
	flush := p.calls.Add(1) <= p.flushAt
	wait, stop := context.Background(), context.CancelFunc(func() {})
	if flush {
		wait, stop = context.WithCancel(ctx)
	}
	// The bounds run on their own goroutines and may answer before they
	// are both set up: mu orders the answer after.
	var (
		mu       sync.Mutex
		timer    *time.Timer
		stopGone func() bool
	)
	c := p.newCall([]*kgo.Record{r}, make([]Result, 1), func(res Result) {
		mu.Lock()
		timer.Stop()
		stopGone()
		mu.Unlock()
		stop()
		p.calls.Add(-1)
		done(res)
	}, stop)
	giveUp := func() { c.giveUp(ctx) }
	mu.Lock()
	timer = time.AfterFunc(p.timeout, giveUp)
	stopGone = context.AfterFunc(ctx, giveUp)
	mu.Unlock()
	c.produce(0, false)
	if flush {
		go func() { _ = p.cl.Flush(wait) }() // until r is answered
	}
}

// ForgetTopic drops what the client knows of topic, its partitions and its
// topic ID, and fails the records buffered for it. The Producer calls it
// on its own when a record fails with UNKNOWN_TOPIC_ID, as every record
// does once a topic it produced to is deleted and recreated (franz-go
// keeps the old ID until told to forget it); whoever deletes a topic
// through the same client may call it to spare the next record that
// failure.
func (p *Producer) ForgetTopic(topic string) {
	p.purgeMu.Lock()
	defer p.purgeMu.Unlock()
	p.cl.PurgeTopicsFromClient(topic)
	p.purgeCount(topic).Add(1)
}

// forgetTopicOnce forgets topic unless it was forgotten since seen was
// read: each recreation is purged once, however many records fail for it,
// so a purge never fails records buffered under the new topic ID.
func (p *Producer) forgetTopicOnce(topic string, seen uint64) {
	p.purgeMu.Lock()
	defer p.purgeMu.Unlock()
	n := p.purgeCount(topic)
	if n.Load() != seen {
		return
	}
	p.cl.PurgeTopicsFromClient(topic)
	n.Add(1)
}

func (p *Producer) purgeCount(topic string) *atomic.Uint64 {
	if n, ok := p.purges.Load(topic); ok {
		return n.(*atomic.Uint64)
	}
	n, _ := p.purges.LoadOrStore(topic, new(atomic.Uint64))
	return n.(*atomic.Uint64)
}

func (p *Producer) purgesOf(topic string) uint64 {
	if n, ok := p.purges.Load(topic); ok {
		return n.(*atomic.Uint64).Load()
	}
	return 0
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

// call is one Produce or Send: its records, the results the caller reads,
// and the delivery context the client holds its records under.
type call struct {
	p       *Producer
	recs    []*kgo.Record
	results []Result
	onDone  func(Result) // Send's callback; nil for Produce
	stop    func()       // ends the caller's wait once every result is set

	delivery context.Context
	requests uint64 // produce requests written before the records were handed over

	claimed []atomic.Bool // each result is set once, by its promise or by giveUp
	left    atomic.Int64  // results not yet set; done closes at zero
	done    chan struct{}
}

func (p *Producer) newCall(recs []*kgo.Record, results []Result, onDone func(Result), stop func()) *call {
	c := &call{
		p: p, recs: recs, results: results, onDone: onDone, stop: stop,
		claimed: make([]atomic.Bool, len(recs)), done: make(chan struct{}),
	}
	// The delivery context outlives the caller: the client holds the
	// records under it until each is answered.
	c.delivery = p.deliveryContext()
	if p.requests != nil {
		c.requests = p.requests.n.Load()
	}
	c.left.Store(int64(len(recs)))
	return c
}

// produce hands record i to the client. again is set for the one more try
// after its topic was forgotten.
func (c *call) produce(i int, again bool) {
	r := c.recs[i]
	purges := c.p.purgesOf(r.Topic)
	c.p.cl.TryProduce(c.delivery, r, func(r *kgo.Record, err error) {
		if err != nil && !again && errors.Is(err, kerr.UnknownTopicID) && !c.claimed[i].Load() {
			// The topic was deleted and recreated: forget it and
			// produce the record to the new one. Not from the
			// promise itself, which must not block on the client.
			go func() {
				c.p.forgetTopicOnce(r.Topic, purges)
				c.produce(i, true)
			}()
			return
		}
		c.set(i, Result{Record: r, Err: c.classify(r, err)})
	})
}

// set claims result i for res unless it is already set.
func (c *call) set(i int, res Result) {
	if !c.claimed[i].CompareAndSwap(false, true) {
		return
	}
	c.p.count(res.Err)
	if c.onDone != nil {
		c.onDone(res)
		close(c.done)
		return
	}
	c.results[i] = res
	if c.left.Add(-1) == 0 {
		close(c.done)
		c.stop()
	}
}

// giveUp answers every unanswered record of the call with ErrTimeout:
// the produce timeout passed, or the caller (ctx) stopped waiting.
func (c *call) giveUp(ctx context.Context) {
	err := errTimeout(c.p.timeout)
	if ctx.Err() != nil {
		err = errGone(ctx)
	}
	for i, r := range c.recs {
		c.set(i, Result{Record: r, Err: err})
	}
}

// classify wraps the client's error for r in this package's error, telling
// a record no produce request can have carried from one a broker may hold.
func (c *call) classify(r *kgo.Record, err error) error {
	sent := c.p.requests == nil || c.p.requests.n.Load() != c.requests
	return classifyResult(r, err, sent)
}

// ClientOptions returns o with what a Producer needs of the client it is
// given: the partitioner that keeps records pinned by ToPartition on their
// partition, and a Requests hook.
func ClientOptions(o kafka.ProducerOptions) kafka.ProducerOptions {
	o.Partitioner = Partitioner()
	o.Hooks = append(o.Hooks[:len(o.Hooks):len(o.Hooks)], &Requests{})
	return o
}

// Requests counts the produce requests a client writes to its brokers. It
// is a kgo hook (kgo.HookBrokerWrite): add it to the producing client's
// hooks (kafka.Options.Hooks) and the Producer over that client reads it.
// A record the client gave up while not one produce request was written
// cannot be on any broker, so the Producer can say ErrNotWritten for it;
// without Requests it never can, and says ErrTimeout. The zero value is
// ready to use.
type Requests struct{ n atomic.Uint64 }

// OnBrokerWrite counts a produce request any byte of which was written.
func (r *Requests) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, written int, _, _ time.Duration, _ error) {
	if key == int16(kmsg.Produce) && written > 0 {
		r.n.Add(1)
	}
}

var _ kgo.HookBrokerWrite = (*Requests)(nil)
