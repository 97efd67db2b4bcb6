package queue

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/naming"
)

// Manager holds one node's share-group members and their leases. New
// starts a goroutine that expires leases, renews the brokers' locks and
// closes idle members, until Close.
type Manager struct {
	opts        Options
	secret      []byte
	incarnation uint64
	nextLease   atomic.Uint64

	mu      sync.Mutex
	members map[uint64]*member
	idle    map[memberKey][]*member // most recently used last
	opening int                     // members being made, counted against MaxMembers
	nextID  uint64
	closed  bool

	supportMu   sync.Mutex
	supported   *support
	unsupported error
	checked     time.Time

	configured names // groups given their configs
	created    names // dead-letter topics ensured

	work sync.WaitGroup // background settlements and member closes
	stop chan struct{}
	done chan struct{}
}

// New checks opts and returns a manager; Close closes it.
func New(opts Options) (*Manager, error) {
	switch {
	case opts.NewClient == nil:
		return nil, errors.New("queue: a client constructor is required")
	case opts.Admin == nil:
		return nil, errors.New("queue: an admin client is required")
	case opts.Node == "":
		return nil, errors.New("queue: a node name is required")
	case opts.AutoOffsetReset != "" && opts.AutoOffsetReset != "earliest" && opts.AutoOffsetReset != "latest":
		return nil, fmt.Errorf("queue: auto offset reset must be earliest or latest, not %q", opts.AutoOffsetReset)
	}
	if opts.MaxMembers <= 0 {
		opts.MaxMembers = 256
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Minute
	}
	if opts.MaxLease <= 0 {
		opts.MaxLease = 5 * time.Minute
	}
	if opts.MaxDeliveries <= 0 {
		opts.MaxDeliveries = DefaultMaxDeliveries
	}
	if opts.AutoOffsetReset == "" {
		opts.AutoOffsetReset = "earliest"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	secret := opts.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	var inc [8]byte
	_, _ = rand.Read(inc[:])
	m := &Manager{
		opts: opts, secret: secret, incarnation: binary.BigEndian.Uint64(inc[:]),
		members: map[uint64]*member{}, idle: map[memberKey][]*member{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go m.sweep()
	return m, nil
}

// DefaultMaxDeliveries is Options.MaxDeliveries when unset: one below the
// brokers' default delivery limit (5), so that a record whose fourth
// holder vanished is dead-lettered at its fifth delivery rather than
// archived by the brokers.
const DefaultMaxDeliveries = 4

// count calls f with the metrics, if any.
func (m *Manager) count(f func(Metrics)) {
	if m.opts.Metrics != nil {
		f(m.opts.Metrics)
	}
}

// countMembers sets the members gauge; m.mu is held.
func (m *Manager) countMembers() {
	n := len(m.members)
	m.count(func(mt Metrics) { mt.QueueMembers(n) })
}

// check returns ErrInvalid, wrapped with the reason, unless req can be
// served.
func (m *Manager) check(req LeaseRequest) error {
	var why string
	switch {
	case req.Group == "":
		why = "a group is required"
	case len(req.Topics) == 0:
		why = "at least one topic is required"
	case len(req.Topics) > MaxTopics:
		why = fmt.Sprintf("at most %d topics, not %d", MaxTopics, len(req.Topics))
	case req.MaxRecords < 1 || req.MaxRecords > MaxRecords:
		why = fmt.Sprintf("max records must be 1 to %d, not %d", MaxRecords, req.MaxRecords)
	case req.Wait < 0:
		why = "the wait must not be negative"
	case req.Lease <= 0 || req.Lease > m.opts.MaxLease:
		why = fmt.Sprintf("the lease must be above 0 and at most %s, not %s", m.opts.MaxLease, req.Lease)
	}
	for _, t := range req.Topics {
		if err := naming.Topic(t); err != nil && why == "" {
			why = err.Error()
		}
	}
	if why != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, why)
	}
	return nil
}

// MaxTopics bounds LeaseRequest.Topics.
const MaxTopics = 100

// keyOf returns the key of the members that serve req.
func keyOf(req LeaseRequest) (memberKey, []string) {
	topics := slices.Clone(req.Topics)
	slices.Sort(topics)
	topics = slices.Compact(topics)
	return memberKey{group: req.Group, topics: strings.Join(topics, "\x00"), max: req.MaxRecords}, topics
}

// Lease leases up to req.MaxRecords records of req.Group's share of
// req.Topics, waiting up to req.Wait for the first (and at least one
// fetch's round trip). It fails with ErrInvalid, ErrBusy, ErrUnsupported
// or ErrClosed, or with a Kafka error (kafka.Classify).
func (m *Manager) Lease(ctx context.Context, req LeaseRequest) ([]Leased, error) {
	mb, sup, err := m.take(ctx, req)
	if err != nil {
		return nil, err
	}
	return mb.next(ctx, req, sup)
}

// next polls mb for req and hands out what it fetched.
func (mb *member) next(ctx context.Context, req LeaseRequest, sup support) ([]Leased, error) {
	polled := time.Now()
	recs, err := mb.poll(ctx, req.Wait)
	out := mb.hand(recs, polled, req.Lease, sup)
	if ctx.Err() != nil && len(out) > 0 {
		// The caller is gone: what it would have got goes back now,
		// not at its lease's end.
		mb.releaseAll(context.WithoutCancel(ctx))
		return nil, ctx.Err()
	}
	mb.settle() // idle again if nothing was handed out
	mb.m.count(func(mt Metrics) { mt.QueueLeased(len(out)) })
	return out, err
}

// take returns an idle member serving req, or a new one.
func (m *Manager) take(ctx context.Context, req LeaseRequest) (*member, support, error) {
	if err := m.check(req); err != nil {
		return nil, support{}, err
	}
	sup, err := m.support(ctx)
	if err != nil {
		return nil, support{}, err
	}
	key, topics := keyOf(req)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, support{}, ErrClosed
	}
	if idle := m.idle[key]; len(idle) > 0 {
		mb := idle[len(idle)-1]
		m.idle[key] = idle[:len(idle)-1]
		if len(m.idle[key]) == 0 {
			delete(m.idle, key)
		}
		m.mu.Unlock()
		return mb, sup, nil
	}
	var evicted *member
	if len(m.members)+m.opening >= m.opts.MaxMembers {
		if evicted = m.leastRecentIdle(); evicted == nil {
			m.mu.Unlock()
			return nil, support{}, fmt.Errorf("%w: %d open, every one holding leases", ErrBusy, len(m.members))
		}
		m.forget(evicted)
	}
	m.opening++
	m.nextID++
	id := m.nextID
	m.mu.Unlock()
	if evicted != nil {
		m.background(evicted.close)
	}
	mb, err := m.open(ctx, id, key, topics)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opening--
	switch {
	case err != nil:
		return nil, support{}, err
	case m.closed:
		m.background(mb.close)
		return nil, support{}, ErrClosed
	}
	m.members[id] = mb
	m.countMembers()
	return mb, sup, nil
}

// open checks that topics exist, configures the group, and makes a
// member.
func (m *Manager) open(ctx context.Context, id uint64, key memberKey, topics []string) (*member, error) {
	details, err := kadm.NewClient(m.opts.Admin).ListTopics(ctx, topics...)
	if err != nil {
		return nil, kafka.Wrap(fmt.Errorf("describing topics: %w", err))
	}
	for _, t := range topics {
		d, ok := details[t]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: %s", kafka.ErrTopicNotFound, t)
		case d.Err != nil:
			return nil, kafka.Wrap(fmt.Errorf("topic %s: %w", t, d.Err))
		}
	}
	m.configure(ctx, key.group)
	mb, err := m.newMember(id, key, topics)
	if err != nil {
		return nil, fmt.Errorf("share-group member: %w", err)
	}
	return mb, nil
}

// leastRecentIdle returns the idle member unused longest, nil when none is
// idle; m.mu is held.
func (m *Manager) leastRecentIdle() *member {
	var oldest *member
	for _, ms := range m.idle {
		if mb := ms[0]; oldest == nil || mb.lastUsed.Before(oldest.lastUsed) {
			oldest = mb
		}
	}
	return oldest
}

// forget takes mb out of the registry and the idle lists; m.mu is held.
func (m *Manager) forget(mb *member) {
	delete(m.members, mb.id)
	m.countMembers()
	idle := slices.DeleteFunc(m.idle[mb.key], func(o *member) bool { return o == mb })
	if len(idle) == 0 {
		delete(m.idle, mb.key)
	} else {
		m.idle[mb.key] = idle
	}
}

// putIdle makes mb available to the next lease of its key.
func (m *Manager) putIdle(mb *member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.members[mb.id] != mb || slices.Contains(m.idle[mb.key], mb) {
		return
	}
	mb.lastUsed = time.Now()
	m.idle[mb.key] = append(m.idle[mb.key], mb)
}

// background runs f on its own goroutine, with a context bounded by
// settleTimeout; Close waits for it.
func (m *Manager) background(f func(ctx context.Context)) {
	m.work.Add(1)
	go func() {
		defer m.work.Done()
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		f(ctx)
	}()
}

// settleTimeout bounds a settlement's dead letter and acknowledgement, and
// a member's leaving.
const settleTimeout = time.Minute

// Owner returns the node that leased the record token names, if token is
// a token of group signed with the secret.
func (m *Manager) Owner(group, token string) (node string, ok bool) {
	t, ok := verify(m.secret, group, token)
	return t.node, ok
}

// ackTimeout bounds the sending of one request's acknowledgements.
const ackTimeout = 10 * time.Second

// Acks applies acks, every one a token of group this node leased (Owner),
// and returns a result for each, in order. A token of another node is
// StatusInvalid here. Dead letters (reject, or a release past the most
// deliveries) are written before their acknowledgement is sent.
func (m *Manager) Acks(ctx context.Context, group string, acks []Ack) []AckResult {
	results := make([]AckResult, len(acks))
	sup, supErr := m.support(ctx)
	now := time.Now()
	type claimed struct {
		i int
		l *lease
	}
	byMember := map[*member][]claimed{}
	for i, a := range acks {
		results[i] = AckResult{Token: a.Token, Status: StatusInvalid}
		t, ok := verify(m.secret, group, a.Token)
		if !ok || t.node != m.opts.Node || a.Action < Accept || a.Action > Renew {
			continue
		}
		results[i].Status = StatusLeaseLost
		mb := m.member(t)
		if mb == nil || supErr != nil {
			continue
		}
		if a.Action == Renew {
			if exp, ok := mb.renew(t.lease, now, sup); ok {
				results[i] = AckResult{Token: a.Token, Status: StatusOK, ExpiresAt: exp}
			}
			continue
		}
		if l := mb.claim(t.lease, now); l != nil {
			byMember[mb] = append(byMember[mb], claimed{i, l})
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for mb, cs := range byMember {
		wg.Go(func() {
			ls := make([]*lease, len(cs))
			statuses := make(map[*lease]kgo.AckStatus, len(cs))
			for j, c := range cs {
				ls[j] = c.l
				statuses[c.l] = kgo.AckAccept
				switch acks[c.i].Action {
				case Release:
					statuses[c.l] = mb.release(ctx, c.l, sup)
				case Reject:
					statuses[c.l] = kgo.AckReject
					if m.opts.DeadLetters != nil {
						statuses[c.l] = mb.deadLetter(ctx, c.l, reasonRejected)
					}
				}
			}
			refused, err := mb.send(ctx, ls, func(l *lease) kgo.AckStatus { return statuses[l] })
			mb.settle(ls...)
			for _, c := range cs {
				if took(c.l, refused, err) {
					results[c.i].Status = StatusOK
				}
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		m.count(func(mt Metrics) { mt.QueueAcked(acks[i].Action.String(), string(r.Status)) })
	}
	return results
}

// member returns the member t names, nil when it is not this
// incarnation's or is gone.
func (m *Manager) member(t ticket) *member {
	if t.incarnation != m.incarnation {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.members[t.member]
}

// ensureTopic makes sure the dead-letter topic name exists, with
// Options.EnsureTopic, once per topic.
func (m *Manager) ensureTopic(ctx context.Context, name string) error {
	if m.opts.EnsureTopic == nil {
		return nil
	}
	if m.created.has(name) {
		return nil
	}
	if err := m.opts.EnsureTopic(ctx, name); err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", name, err)
	}
	m.created.add(name)
	return nil
}

// sweepInterval is how often leases are checked for expiry and the
// brokers' locks for renewal.
const sweepInterval = 50 * time.Millisecond

// sweep expires leases, renews the brokers' locks for leases that outlast
// them, and closes members idle past IdleTimeout, until Close.
func (m *Manager) sweep() {
	defer close(m.done)
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			m.sweepAt(now)
		}
	}
}

// sweepAt closes the members idle past IdleTimeout at now, and sweeps the
// leases of every member.
func (m *Manager) sweepAt(now time.Time) {
	m.mu.Lock()
	all := slices.Collect(maps.Values(m.members))
	var idle []*member
	for _, ms := range m.idle {
		for _, mb := range ms {
			if now.Sub(mb.lastUsed) > m.opts.IdleTimeout {
				idle = append(idle, mb)
			}
		}
	}
	for _, mb := range idle {
		m.forget(mb)
	}
	m.mu.Unlock()
	m.supportMu.Lock()
	sup := m.supported
	m.supportMu.Unlock()
	for _, mb := range idle {
		m.background(mb.close)
	}
	if sup == nil {
		return
	}
	for _, mb := range all {
		mb.sweep(now, *sup)
	}
}

// sweep settles mb's leases expired at now, and renews the brokers' locks
// of those about to outlast them, in the background.
func (mb *member) sweep(now time.Time, sup support) {
	var expired, renew []*lease
	mb.mu.Lock()
	margin := mb.margin()
	for _, l := range mb.leases {
		switch {
		case !l.settling && !now.Before(l.expires):
			l.settling = true
			expired = append(expired, l)
		case sup.renew && !l.renewing && !now.Before(l.locked.Add(-2*margin)) && (l.settling || l.expires.After(l.locked.Add(-margin))):
			// A lease settling is renewed too: its dead letter may take
			// longer than the lock.
			l.renewing = true
			renew = append(renew, l)
		}
	}
	mb.mu.Unlock()
	for _, l := range expired {
		mb.m.count(Metrics.QueueLeaseExpired)
		mb.m.background(func(ctx context.Context) { mb.finish(ctx, l, mb.release(ctx, l, sup)) })
	}
	if len(renew) > 0 {
		mb.m.background(func(ctx context.Context) { mb.renewLocks(ctx, renew) })
	}
}

// renewLocks extends the brokers' locks on ls.
func (mb *member) renewLocks(ctx context.Context, ls []*lease) {
	sent := time.Now()
	refused, err := mb.send(ctx, ls, func(*lease) kgo.AckStatus { return kgo.AckRenew })
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for _, l := range ls {
		l.renewing = false
		if took(l, refused, err) {
			l.locked = sent.Add(mb.lock)
		}
	}
}

// Close releases every lease and closes every member, within ctx; later
// leases fail with ErrClosed.
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	all := m.members
	m.members, m.idle = map[uint64]*member{}, map[memberKey][]*member{}
	m.countMembers()
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	// Settlements under way finish first: they use their members'
	// clients.
	settled := make(chan struct{})
	go func() { m.work.Wait(); close(settled) }()
	select {
	case <-settled:
	case <-ctx.Done():
	}
	var wg sync.WaitGroup
	for _, mb := range all {
		wg.Go(func() { mb.close(ctx) })
	}
	wg.Wait()
}

// Open holds a member of req.Group for one stream of leases (req.Wait is
// not used): each Next leases the next batch once the last is settled.
func (m *Manager) Open(ctx context.Context, req LeaseRequest) (*Stream, error) {
	mb, sup, err := m.take(ctx, req)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	mb.streamed = true
	mb.mu.Unlock()
	return &Stream{mb: mb, req: req, sup: sup}, nil
}

// Stream is a member held for one caller, leasing batch after batch.
type Stream struct {
	mb  *member
	req LeaseRequest
	sup support
}

// Next waits until every record of the last batch is settled and then up
// to wait for records, and leases them; none and nil when wait passes.
func (s *Stream) Next(ctx context.Context, wait time.Duration) ([]Leased, error) {
	deadline := time.Now().Add(wait)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-s.mb.idle():
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	req := s.req
	req.Wait = time.Until(deadline)
	return s.mb.next(ctx, req, s.sup)
}

// Close releases what the stream still holds and gives its member back.
func (s *Stream) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	s.mb.releaseAll(ctx)
	s.mb.mu.Lock()
	s.mb.streamed = false
	s.mb.mu.Unlock()
	s.mb.settle()
}
