package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
)

// memberKey is what a member serves: a group's share of topics, at most
// max records a fetch. A member's options are fixed when it is made, so
// leases asking for other topics or another max use other members.
type memberKey struct {
	group  string
	topics string // sorted, '\x00'-joined
	max    int
}

// member is one share-group member: its own client, and the leases of the
// records its last poll handed out. franz-go accepts, on the next poll,
// every record of the last that is not acknowledged, so a member polls
// again only once every lease of its last poll is settled.
type member struct {
	m      *Manager
	id     uint64
	key    memberKey
	topics []string
	cl     *kgo.Client
	// lock is how long the brokers lock a record, as the first poll
	// found; until then the brokers' default.
	lock time.Duration

	mu       sync.Mutex
	leases   map[uint64]*lease
	streamed bool          // held by a Stream
	settled  chan struct{} // closed when leases empties, for a Stream waiting
	lastUsed time.Time     // when it last went idle, under Manager.mu

	// flushMu orders sends: the marking of acknowledgements and their
	// flush, so that a flush's results (gathered in ackErrs, under errMu)
	// are its own, and that no terminal acknowledgement is marked while a
	// renewal is on its way (the brokers would refuse the one sent
	// twice).
	flushMu sync.Mutex
	errMu   sync.Mutex
	ackErrs map[partition]error
}

// partition names a topic's partition.
type partition struct {
	topic string
	id    int32
}

// lease is a record handed out, until it is settled.
type lease struct {
	id      uint64
	rec     *kgo.Record
	dur     time.Duration
	expires time.Time
	// locked is when the brokers' lock on the record ends, as last known.
	locked time.Time
	// settling: an acknowledgement, the expiry or a dead letter has
	// claimed the lease and is applying it.
	settling bool
	renewing bool
}

// defaultLock is the brokers' default record lock
// (group.share.record.lock.duration.ms).
const defaultLock = 30 * time.Second

// fetchMaxWait bounds how long a fetch waits at the broker: a fetch still
// out when its lease request stops waiting acquires records no one takes
// until the member's next poll, so keep it short.
const fetchMaxWait = 500 * time.Millisecond

// minPoll is the shortest a poll waits: one fetch's round trip.
const minPoll = 100 * time.Millisecond

// newMember makes a member of key's group.
func (m *Manager) newMember(id uint64, key memberKey, topics []string) (*member, error) {
	mb := &member{m: m, id: id, key: key, topics: topics, lock: defaultLock, leases: map[uint64]*lease{}}
	cl, err := m.opts.NewClient(
		kgo.ShareGroup(key.group),
		kgo.ConsumeTopics(topics...),
		kgo.ShareMaxRecords(int32(key.max)),
		// At most max records a fetch, and a fetch only while polling:
		// nothing is acquired that no lease asked for.
		kgo.ShareMaxRecordsStrict(),
		kgo.ShareAckCallback(mb.acked),
		kgo.FetchMaxWait(fetchMaxWait),
		// The brokers release what a member holds when its connection
		// closes: keep it open as long as a lease may last.
		kgo.ConnIdleTimeout(m.opts.MaxLease+time.Minute),
	)
	if err != nil {
		return nil, err
	}
	mb.cl = cl
	return mb, nil
}

// acked gathers the brokers' answers to acknowledgements for the flush
// under way.
func (mb *member) acked(_ *kgo.Client, rs kgo.ShareAckResults) {
	mb.errMu.Lock()
	defer mb.errMu.Unlock()
	for _, r := range rs {
		if r.Err == nil {
			continue
		}
		if mb.ackErrs != nil {
			mb.ackErrs[partition{r.Topic, r.Partition}] = r.Err
		}
		mb.m.opts.Logger.Debug("share acknowledgement refused", "group", mb.key.group, "topic", r.Topic, "partition", r.Partition, "err", r.Err)
	}
}

// send gives each of ls its status and sends the acknowledgements, and
// returns the partitions the brokers refused them on.
func (mb *member) send(ctx context.Context, ls []*lease, status func(*lease) kgo.AckStatus) (map[partition]error, error) {
	mb.flushMu.Lock()
	defer mb.flushMu.Unlock()
	for _, l := range ls {
		l.rec.Ack(status(l))
	}
	mb.errMu.Lock()
	mb.ackErrs = map[partition]error{}
	mb.errMu.Unlock()
	err := mb.cl.FlushAcks(ctx)
	mb.errMu.Lock()
	refused := mb.ackErrs
	mb.ackErrs = nil
	mb.errMu.Unlock()
	return refused, err
}

// poll waits up to wait (at least minPoll) for records.
func (mb *member) poll(ctx context.Context, wait time.Duration) ([]*kgo.Record, error) {
	pctx, cancel := context.WithTimeout(ctx, max(wait, minPoll))
	defer cancel()
	fetches := mb.cl.PollRecords(pctx, mb.key.max)
	var recs []*kgo.Record
	fetches.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	var first error
	fetches.EachError(func(topic string, p int32, err error) {
		switch {
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		case errors.Is(err, kgo.ErrClientClosed):
			first = ErrClosed
		case first == nil:
			first = kafka.Wrap(fmt.Errorf("share fetch of %s/%d: %w", topic, p, err))
		}
	})
	if len(recs) == 0 && first != nil {
		return nil, first
	}
	return recs, nil
}

// hand registers a lease of dur for each of recs, polled at polled, and
// returns them; records delivered more than sup allows are dead-lettered
// instead, and records whose lock is about to end released, in the
// background.
func (mb *member) hand(recs []*kgo.Record, polled time.Time, dur time.Duration, sup support) []Leased {
	now := time.Now()
	out := make([]Leased, 0, len(recs))
	var over, stale []*lease
	mb.mu.Lock()
	for _, r := range recs {
		locked := r.AcquisitionDeadline()
		if locked.IsZero() {
			locked = polled.Add(mb.lock)
		} else if d := locked.Sub(polled); d > 0 {
			mb.lock = d
		}
		l := &lease{id: mb.m.nextLease.Add(1), rec: r, dur: dur, expires: now.Add(dur), locked: locked}
		mb.leases[l.id] = l
		switch {
		case !locked.After(now.Add(mb.margin())):
			// Fetched after its poll gave up and held since, its lock is
			// (nearly) gone: given back, not handed out.
			l.settling = true
			stale = append(stale, l)
			continue
		case mb.m.opts.DeadLetters != nil && int(r.DeliveryCount()) > sup.maxDeliveries:
			l.settling = true
			over = append(over, l)
			continue
		}
		l.expires = mb.held(l.expires, locked, sup)
		out = append(out, Leased{Record: r, DeliveryCount: r.DeliveryCount(), ExpiresAt: l.expires,
			Token: sign(mb.m.secret, mb.key.group, ticket{node: mb.m.opts.Node, incarnation: mb.m.incarnation, member: mb.id, lease: l.id})})
	}
	mb.mu.Unlock()
	for _, l := range over {
		mb.m.background(func(ctx context.Context) {
			mb.finish(ctx, l, mb.deadLetter(ctx, l, reasonMaxDeliveries))
		})
	}
	for _, l := range stale {
		mb.m.background(func(ctx context.Context) { mb.finish(ctx, l, kgo.AckRelease) })
	}
	return out
}

// margin is how long before the brokers' lock ends krest stops counting
// on it: the lock's deadline is the broker's clock, counted from before
// the fetch's answer left it.
func (mb *member) margin() time.Duration {
	return min(max(mb.lock/5, 20*time.Millisecond), 2*time.Second)
}

// held is a lease's expiry: expires, or, when the brokers cannot renew
// their lock, the margin before locked if that is earlier.
func (mb *member) held(expires, locked time.Time, sup support) time.Time {
	if end := locked.Add(-mb.margin()); !sup.renew && end.Before(expires) {
		return end
	}
	return expires
}

// outstanding returns lease id, nil when it is settled, claimed, or
// expired at now; mb.mu is held.
func (mb *member) outstanding(id uint64, now time.Time) *lease {
	l := mb.leases[id]
	if l == nil || l.settling || !now.Before(l.expires) {
		return nil
	}
	return l
}

// claim takes lease id for an acknowledgement: nil when it is not
// outstanding.
func (mb *member) claim(id uint64, now time.Time) *lease {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	l := mb.outstanding(id, now)
	if l != nil {
		l.settling = true
	}
	return l
}

// renew extends lease id by its duration from now, and returns its new
// expiry; false when it is not outstanding. Without lock renewal on the
// brokers, a lease ends with the brokers' lock.
func (mb *member) renew(id uint64, now time.Time, sup support) (time.Time, bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	l := mb.outstanding(id, now)
	if l == nil {
		return time.Time{}, false
	}
	l.expires = mb.held(now.Add(l.dur), l.locked, sup)
	return l.expires, true
}

// The reasons a record is dead-lettered, its krest.dlq.reason header.
const (
	reasonMaxDeliveries = "max_deliveries"
	reasonRejected      = "rejected"
)

// deadLetter writes l's record to its topic's dead-letter topic and
// returns the acknowledgement to give it: reject once written, release
// when it could not be.
func (mb *member) deadLetter(ctx context.Context, l *lease, reason string) kgo.AckStatus {
	r := l.rec
	topic := DeadLetterTopic(r.Topic)
	cause := errors.New("rejected by its consumer")
	if reason == reasonMaxDeliveries {
		cause = fmt.Errorf("delivered %d times, the most allowed", r.DeliveryCount())
	}
	err := mb.m.ensureTopic(ctx, topic)
	if err == nil {
		err = mb.m.opts.DeadLetters.SendTo(ctx, topic, r, cause,
			kgo.RecordHeader{Key: HeaderDeliveryCount, Value: strconv.AppendInt(nil, int64(r.DeliveryCount()), 10)},
			kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)})
	}
	if err != nil {
		mb.m.count(Metrics.QueueDeadLetterFailed)
		mb.m.opts.Logger.Error("dead letter not written; record released", "group", mb.key.group, "topic", r.Topic,
			"partition", r.Partition, "offset", r.Offset, "dead_letter_topic", topic, "reason", reason, "err", err)
		return kgo.AckRelease
	}
	mb.m.count(func(mt Metrics) { mt.QueueDeadLettered(reason) })
	mb.m.opts.Logger.Info("record dead-lettered", "group", mb.key.group, "topic", r.Topic, "partition", r.Partition,
		"offset", r.Offset, "dead_letter_topic", topic, "reason", reason, "delivery_count", r.DeliveryCount())
	return kgo.AckReject
}

// release is how a lease ends unaccepted (released by its caller or
// expired): a record delivered the most times allowed is dead-lettered,
// any other released.
func (mb *member) release(ctx context.Context, l *lease, sup support) kgo.AckStatus {
	if mb.m.opts.DeadLetters != nil && int(l.rec.DeliveryCount()) >= sup.maxDeliveries {
		return mb.deadLetter(ctx, l, reasonMaxDeliveries)
	}
	return kgo.AckRelease
}

// finish acknowledges claimed lease l with status, sends the
// acknowledgement, and settles the lease.
func (mb *member) finish(ctx context.Context, l *lease, status kgo.AckStatus) {
	if _, err := mb.send(ctx, []*lease{l}, func(*lease) kgo.AckStatus { return status }); err != nil {
		mb.m.opts.Logger.Warn("share acknowledgement not sent; the brokers' lock will expire", "group", mb.key.group, "err", err)
	}
	mb.settle(l)
}

// took reports whether the brokers took l's acknowledgement, by send's
// answer.
func took(l *lease, refused map[partition]error, err error) bool {
	return err == nil && refused[partition{l.rec.Topic, l.rec.Partition}] == nil
}

// settle forgets leases ls; the member goes back to the idle ones once
// none is left, unless a Stream holds it.
func (mb *member) settle(ls ...*lease) {
	mb.mu.Lock()
	for _, l := range ls {
		delete(mb.leases, l.id)
	}
	empty := len(mb.leases) == 0
	if empty && mb.settled != nil {
		close(mb.settled)
		mb.settled = nil
	}
	streamed := mb.streamed
	mb.mu.Unlock()
	if empty && !streamed {
		mb.m.putIdle(mb)
	}
}

// idle returns a channel closed once the member has no lease.
func (mb *member) idle() <-chan struct{} {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if len(mb.leases) == 0 {
		return closedChan
	}
	if mb.settled == nil {
		mb.settled = make(chan struct{})
	}
	return mb.settled
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// claimAll claims every outstanding lease.
func (mb *member) claimAll() []*lease {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var ls []*lease
	for _, l := range mb.leases {
		if !l.settling {
			l.settling = true
			ls = append(ls, l)
		}
	}
	return ls
}

// releaseAll releases every outstanding lease and sends the releases.
func (mb *member) releaseAll(ctx context.Context) {
	ls := mb.claimAll()
	if len(ls) == 0 {
		return
	}
	if _, err := mb.send(ctx, ls, func(*lease) kgo.AckStatus { return kgo.AckRelease }); err != nil {
		mb.m.opts.Logger.Warn("share-group releases not sent; the brokers' locks will expire", "group", mb.key.group, "err", err)
	}
	mb.settle(ls...)
}

// close releases what the member holds and leaves its group, within ctx.
func (mb *member) close(ctx context.Context) {
	mb.releaseAll(ctx)
	if err := mb.cl.LeaveGroupContext(ctx); err != nil {
		mb.m.opts.Logger.Warn("share-group member did not leave cleanly", "group", mb.key.group, "err", err)
	}
	mb.cl.Close()
}
