package identity

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/singleflight"

	"krest/internal/admin"
	"krest/internal/auth"
	"krest/internal/kafka"
	"krest/internal/produce"
)

// Why a client left the pool: the values of the evictions metric's label.
const (
	reasonSize     = "size"     // the pool was full and it was the least recently used
	reasonIdle     = "idle"     // unused for IdleTimeout
	reasonExpiry   = "expiry"   // its token expires within ExpiryMargin
	reasonRefused  = "refused"  // the brokers refused its login
	reasonShutdown = "shutdown" // the pool closed
)

// maxTries bounds For's attempts at a client that an eviction closes
// before For can take it (a pool too small for the callers at once).
const maxTries = 3

// Pool keeps a Kafka client for each caller's login, made on first use
// and shared by every request with that login: at most Size of them, the
// least recently used evicted first, and each evicted when unused for
// IdleTimeout, ExpiryMargin before its token expires, or when the brokers
// refuse its login. Concurrent requests for a login not yet made wait for
// one login. An evicted client closes once the requests using it have
// ended and its producer has flushed, each wait bounded by CloseTimeout.
// Pool is safe for concurrent use.
type Pool struct {
	opts    Options
	keys    *keyer
	mapping *mapping // nil without a map file

	flight singleflight.Group // logins being made, by key

	mu      sync.Mutex
	clients map[[sha256.Size]byte]*client
	lru     list.List // of *client, the most recently used in front
	closed  bool

	closing    sync.WaitGroup // clients evicted and not yet closed
	closeOnce  sync.Once
	stop, done chan struct{} // of sweep
}

// client is one caller's login: a Kafka client, its producer and admin.
type client struct {
	pool     *Pool
	key      [sha256.Size]byte
	name     string // the principal it was made for, for logs
	cl       *kgo.Client
	producer *produce.Producer
	admin    *admin.Admin
	evictAt  time.Time // zero: no token to outlive
	refused  atomic.Bool

	// Guarded by Pool.mu.
	elem     *list.Element
	lastUsed time.Time
	uses     int  // requests using it
	evicted  bool // out of the pool: no request finds it
	closing  bool // its close has begun: no request may take it
}

// For returns the producer and admin p acts through at Kafka: those of
// p's login's client, made and logged in first if the pool has none. The
// client is in use until ctx, the request's, ends: an eviction closes it
// only after.
//
// Errors: ErrNoIdentity (wrapping kafka.ErrNotAuthorized) when p has no
// login to act with; ErrLoginRefused (wrapping auth.ErrUnauthenticated)
// when the brokers refuse it or its token has expired; errors wrapping
// kafka.ErrUnavailable when the brokers cannot be reached, the pool is
// closed (ErrClosed) or ctx ends first.
func (pl *Pool) For(ctx context.Context, p auth.Principal) (*produce.Producer, *admin.Admin, error) {
	l, err := pl.loginFor(p, time.Now())
	if err != nil {
		return nil, nil, err
	}
	for range maxTries {
		c, err := pl.get(ctx, l, p.Name)
		if err != nil {
			return nil, nil, err
		}
		if c != nil {
			context.AfterFunc(ctx, func() { pl.release(c) })
			return c.producer, c.admin, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: the identity pool keeps closing the Kafka client of %s before it can be used: more callers at once than its %d clients",
		kafka.ErrUnavailable, p.Name, pl.opts.Size)
}

// get returns l's client, taken for one use, making it if need be; nil
// when it was closed before it could be taken.
func (pl *Pool) get(ctx context.Context, l login, name string) (*client, error) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil, ErrClosed
	}
	if c := pl.lookupLocked(l.key, time.Now()); c != nil {
		pl.acquireLocked(c)
		pl.mu.Unlock()
		return c, nil
	}
	pl.mu.Unlock()
	ch := pl.flight.DoChan(string(l.key[:]), func() (any, error) { return pl.create(l, name) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		c := r.Val.(*client)
		pl.mu.Lock()
		defer pl.mu.Unlock()
		if c.closing {
			return nil, nil
		}
		pl.acquireLocked(c)
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for the Kafka login of %s: %w", kafka.ErrUnavailable, name, context.Cause(ctx))
	}
}

// lookupLocked returns the pooled client of key, evicting it instead if
// it should go.
func (pl *Pool) lookupLocked(key [sha256.Size]byte, now time.Time) *client {
	c := pl.clients[key]
	if c == nil {
		return nil
	}
	if reason := pl.staleLocked(c, now); reason != "" {
		pl.evictLocked(c, reason)
		return nil
	}
	return c
}

// staleLocked says why c should leave the pool at now, or "".
func (pl *Pool) staleLocked(c *client, now time.Time) string {
	switch {
	case c.refused.Load():
		return reasonRefused
	case !c.evictAt.IsZero() && !now.Before(c.evictAt):
		return reasonExpiry
	case c.uses == 0 && now.Sub(c.lastUsed) >= pl.opts.IdleTimeout:
		return reasonIdle
	}
	return ""
}

func (pl *Pool) acquireLocked(c *client) {
	c.uses++
	c.lastUsed = time.Now()
	if !c.evicted {
		pl.lru.MoveToFront(c.elem)
	}
}

// release ends one use of c, closing it if it was evicted meanwhile.
func (pl *Pool) release(c *client) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	c.uses--
	c.lastUsed = time.Now()
	if c.evicted && c.uses == 0 {
		pl.closeLocked(c)
	}
}

// create makes l's client and logs it in, and pools it, evicting the
// least recently used past Size.
func (pl *Pool) create(l login, name string) (*client, error) {
	now := time.Now()
	pl.mu.Lock()
	c := pl.lookupLocked(l.key, now) // made by a flight that just ended
	pl.mu.Unlock()
	if c != nil {
		return c, nil
	}
	sec, err := pl.opts.Kafka.Security.WithSASL(l.sasl)
	if err != nil {
		return nil, fmt.Errorf("%w: the Kafka login of %s: %v", ErrLoginRefused, name, err)
	}
	c = &client{pool: pl, key: l.key, name: name}
	if !l.expiry.IsZero() {
		c.evictAt = l.expiry.Add(-pl.opts.ExpiryMargin)
		if half := now.Add(l.expiry.Sub(now) / 2); c.evictAt.Before(half) {
			c.evictAt = half
		}
	}
	kopts := pl.opts.Kafka
	kopts.Security = sec
	kopts.Hooks = append(slices.Clip(kopts.Hooks), loginHook{c})
	if kopts.Logger != nil {
		kopts.Logger = kopts.Logger.With("principal", name)
	}
	cl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{Options: kopts,
		MaxBufferedRecords: pl.opts.MaxBufferedRecords, MaxBufferedBytes: pl.opts.MaxBufferedBytes,
		Linger: pl.opts.Linger, Compression: pl.opts.Compression, AutoCreateTopics: pl.opts.AutoCreateTopics}))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), pl.opts.LoginTimeout)
	err = cl.Ping(ctx) // logs in, so that a refused login is this request's 401
	cancel()
	if err != nil {
		cl.Close()
		if errors.Is(kafka.Classify(err), kafka.ErrAuthentication) {
			c.refuse()
			return nil, fmt.Errorf("%w: Kafka refused the login of %s: %v", ErrLoginRefused, name, err)
		}
		return nil, fmt.Errorf("%w: logging in to Kafka as %s: %v", kafka.ErrUnavailable, name, err)
	}
	c.cl = cl
	c.producer = produce.New(cl, produce.Options{Timeout: pl.opts.ProduceTimeout, Metrics: pl.opts.ProduceMetrics})
	c.admin = admin.New(cl, pl.opts.Admin...)

	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		cl.Close()
		return nil, ErrClosed
	}
	defer pl.mu.Unlock()
	c.lastUsed = time.Now()
	c.elem = pl.lru.PushFront(c)
	pl.clients[c.key] = c
	pl.opts.Metrics.IdentityClientCreated()
	for pl.lru.Len() > pl.opts.Size {
		pl.evictLocked(pl.lru.Back().Value.(*client), reasonSize)
	}
	return c, nil
}

// evictLocked takes c out of the pool, and closes it now if no request
// uses it, else once the last ends, or after CloseTimeout.
func (pl *Pool) evictLocked(c *client, reason string) {
	if c.evicted {
		return
	}
	c.evicted = true
	delete(pl.clients, c.key)
	pl.lru.Remove(c.elem)
	pl.closing.Add(1)
	pl.opts.Metrics.IdentityClientEvicted(reason)
	pl.opts.Logger.Debug("kafka client of a caller evicted", "principal", c.name, "reason", reason, "in_use", c.uses)
	if c.uses == 0 {
		pl.closeLocked(c)
		return
	}
	time.AfterFunc(pl.opts.CloseTimeout, func() {
		pl.mu.Lock()
		defer pl.mu.Unlock()
		pl.closeLocked(c)
	})
}

// closeLocked closes an evicted c, once: its producer flushes, within
// CloseTimeout, and its client closes.
func (pl *Pool) closeLocked(c *client) {
	if c.closing {
		return
	}
	c.closing = true
	go func() {
		defer pl.closing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), pl.opts.CloseTimeout)
		_ = c.producer.Flush(ctx)
		cancel()
		c.cl.Close()
		pl.opts.Metrics.IdentityClientClosed()
	}()
}

// sweep evicts the clients that should go, every sweepInterval, until
// Close.
func (pl *Pool) sweep() {
	defer close(pl.done)
	t := time.NewTicker(pl.sweepInterval())
	defer t.Stop()
	for {
		select {
		case <-pl.stop:
			return
		case now := <-t.C:
			pl.mu.Lock()
			for e := pl.lru.Back(); e != nil; {
				prev := e.Prev()
				c := e.Value.(*client)
				if reason := pl.staleLocked(c, now); reason != "" {
					pl.evictLocked(c, reason)
				}
				e = prev
			}
			pl.mu.Unlock()
		}
	}
}

// sweepInterval is a quarter of the shorter of the idle timeout and the
// expiry margin, from 10ms to 5s: a client outlives either by at most that.
func (pl *Pool) sweepInterval() time.Duration {
	d := min(pl.opts.IdleTimeout, pl.opts.ExpiryMargin) / 4
	return min(max(d, 10*time.Millisecond), 5*time.Second)
}

// refuse marks c's login refused, counting it once.
func (c *client) refuse() {
	if c.refused.CompareAndSwap(false, true) {
		c.pool.opts.Metrics.IdentityLoginRefused()
	}
}

// loginHook marks its client's login refused when a connection's SASL
// login is: the next request evicts the client and logs in afresh.
type loginHook struct{ c *client }

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (h loginHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil && errors.Is(kafka.Classify(err), kafka.ErrAuthentication) {
		h.c.refuse()
	}
}

var _ kgo.HookBrokerConnect = loginHook{}
