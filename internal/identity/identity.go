// Package identity makes krest act at Kafka as each of its callers: a Pool
// keeps one Kafka client per caller's login (SASL is per connection), so
// that the brokers authenticate and authorize the caller, not krest.
//
// Under passthrough a caller's own credentials are its login: HTTP Basic
// credentials as a PLAIN or SCRAM login, a bearer token as OAUTHBEARER.
// Under mapped, and under passthrough for callers who bring no credentials
// to pass on (a client certificate), a map file names each principal's
// login. The background consumer group is no caller: it runs as krest.
package identity

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"krest/internal/admin"
	"krest/internal/kafka"
	"krest/internal/produce"
	"krest/internal/watch"
)

// The modes of a Pool: where a caller's Kafka login comes from.
const (
	// ModePassthrough logs each caller in with its own credentials, or
	// the map's login for callers that bring none.
	ModePassthrough = "passthrough"
	// ModeMapped logs each caller in with the login the map file gives
	// its principal.
	ModeMapped = "mapped"
)

// The defaults of Options.
const (
	DefaultSize         = 100
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultExpiryMargin = 30 * time.Second
	DefaultLoginTimeout = 10 * time.Second
	DefaultCloseTimeout = 10 * time.Second
)

// Metrics counts what the pool does; metrics.Metrics implements it.
type Metrics interface {
	// IdentityClientCreated counts a client created, and open.
	IdentityClientCreated()
	// IdentityClientEvicted counts a client taken out of use, by reason:
	// size, idle, expiry, refused or shutdown.
	IdentityClientEvicted(reason string)
	// IdentityClientClosed counts an evicted client closed.
	IdentityClientClosed()
	// IdentityLoginRefused counts a client whose login the brokers
	// refused.
	IdentityLoginRefused()
}

// Options configure a Pool. Zero fields take the defaults stated.
type Options struct {
	// Mode is ModePassthrough or ModeMapped. Required.
	Mode string
	// Mechanism is the SASL mechanism of Basic credentials under
	// passthrough: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Default
	// SCRAM-SHA-512.
	Mechanism string
	// MapFile maps principals to Kafka logins (see parseMap): required by
	// ModeMapped; under ModePassthrough, the logins of principals that
	// bring no credentials. It and the secret files it names are
	// reloaded when they change.
	MapFile string
	// ReloadInterval is how often the map file and its secrets are
	// checked for changes. Default watch.DefaultInterval; negative:
	// never (Reload checks).
	ReloadInterval time.Duration

	// Kafka is how each client reaches the brokers: krest's seed
	// brokers, client id, logger and Security, whose TLS each client
	// keeps and whose SASL login it replaces with its caller's. Hooks
	// are added to every client, so they must be safe to share (kprom's
	// are not).
	Kafka kafka.Options
	// MaxBufferedRecords and MaxBufferedBytes bound each caller's
	// producer buffer (kafka.ProducerOptions). Required.
	MaxBufferedRecords, MaxBufferedBytes int
	// Linger, Compression and AutoCreateTopics are each producer's, as
	// krest's own.
	Linger           time.Duration
	Compression      string
	AutoCreateTopics bool
	// ProduceTimeout is each producer's timeout (produce.Options).
	// Required.
	ProduceTimeout time.Duration
	// ProduceMetrics, if set, counts each producer's records.
	ProduceMetrics produce.Metrics
	// Admin are the options of each caller's admin, as krest's own.
	Admin []admin.Opt

	// Size bounds the clients kept; past it, the least recently used is
	// evicted. Default DefaultSize.
	Size int
	// IdleTimeout evicts a client unused this long. Default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ExpiryMargin evicts a client this long before its token expires
	// (but not before half the token's remaining life has passed), so
	// that no client outlives its caller's token. Default
	// DefaultExpiryMargin.
	ExpiryMargin time.Duration
	// LoginTimeout bounds a new client's first login, which For waits
	// for. Default DefaultLoginTimeout.
	LoginTimeout time.Duration
	// CloseTimeout bounds each wait of an evicted client's close: for the
	// requests using it to end, then for its producer to flush. Default
	// DefaultCloseTimeout.
	CloseTimeout time.Duration

	// Metrics, if set, counts the pool's clients.
	Metrics Metrics
	// Logger receives the pool's evictions (debug) and map reload errors.
	// Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Mechanism == "" {
		o.Mechanism = kafka.MechanismScramSHA512
	}
	if o.ReloadInterval == 0 {
		o.ReloadInterval = watch.DefaultInterval
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ExpiryMargin == 0 {
		o.ExpiryMargin = DefaultExpiryMargin
	}
	if o.LoginTimeout == 0 {
		o.LoginTimeout = DefaultLoginTimeout
	}
	if o.CloseTimeout == 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	switch o.Mode {
	case ModePassthrough:
	case ModeMapped:
		if o.MapFile == "" {
			return errors.New("identity mode mapped needs a map file")
		}
	default:
		return fmt.Errorf("identity mode %q: want passthrough or mapped", o.Mode)
	}
	switch o.Mechanism {
	case kafka.MechanismPlain, kafka.MechanismScramSHA256, kafka.MechanismScramSHA512:
	default:
		return fmt.Errorf("identity mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", o.Mechanism)
	}
	switch {
	case len(o.Kafka.Brokers) == 0:
		return errors.New("identity pool needs seed brokers")
	case o.MaxBufferedRecords < 1 || o.MaxBufferedBytes < 1:
		return errors.New("identity pool's producer buffers must be positive")
	case o.ProduceTimeout <= 0:
		return errors.New("identity pool's produce timeout must be positive")
	case o.Size < 1:
		return fmt.Errorf("identity pool size must be positive, not %d", o.Size)
	case o.IdleTimeout < 0, o.ExpiryMargin < 0, o.LoginTimeout < 0, o.CloseTimeout < 0:
		return errors.New("identity pool's timeouts and margin must not be negative")
	}
	return nil
}

type nopMetrics struct{}

func (nopMetrics) IdentityClientCreated()       {}
func (nopMetrics) IdentityClientEvicted(string) {}
func (nopMetrics) IdentityClientClosed()        {}
func (nopMetrics) IdentityLoginRefused()        {}

// New validates opts and loads the map file, if any, failing if it cannot.
// It starts a goroutine that evicts idle and expiring clients, and, with a
// map file and a positive ReloadInterval, goroutines that watch it; Close
// stops them.
func New(opts Options) (*Pool, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	keys, err := newKeyer()
	if err != nil {
		return nil, err
	}
	p := &Pool{opts: opts, keys: keys, clients: make(map[[sha256.Size]byte]*client), stop: make(chan struct{}), done: make(chan struct{})}
	if opts.MapFile != "" {
		m, err := newMapping(opts.MapFile, opts.ReloadInterval, opts.Logger, keys)
		if err != nil {
			return nil, err
		}
		p.mapping = m
	}
	go p.sweep()
	return p, nil
}

// Reload checks the map file and its secrets for changes now, returning
// why they could not be loaded (the last good map stays in use).
func (p *Pool) Reload() error {
	if p.mapping == nil {
		return nil
	}
	return p.mapping.reload()
}

// Close closes every client, each once the requests using it end and its
// producer has flushed (each within CloseTimeout), and stops the pool's
// goroutines. For fails with ErrClosed from then on.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		p.closed = true
		for p.lru.Len() > 0 {
			p.evictLocked(p.lru.Back().Value.(*client), reasonShutdown)
		}
		p.mu.Unlock()
		p.closing.Wait()
		if p.mapping != nil {
			p.mapping.close()
		}
	})
}
