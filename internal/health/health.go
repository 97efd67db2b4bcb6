// Package health tracks whether krest is ready to serve: a background loop
// runs a check against the cluster (Check: the brokers answer, the topics
// exist or get created, and can take writes), and shutdown marks it not
// ready first. Beside readiness, a Monitor reports details that do not make
// the instance unready.
package health

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Monitor runs a check periodically and remembers its last result.
type Monitor struct {
	check    func(context.Context) error
	interval time.Duration
	logger   *slog.Logger

	mu        sync.Mutex
	last      error
	draining  bool
	everReady bool
	ready     chan struct{} // closed when a check first passes
	details   map[string]func() any
}

// New returns a Monitor that runs check every interval once Run starts.
func New(check func(context.Context) error, interval time.Duration, logger *slog.Logger) *Monitor {
	return &Monitor{check: check, interval: interval, logger: logger, last: errNotChecked, ready: make(chan struct{})}
}

// Run checks at once and then every interval until ctx ends. Each check gets
// at most one interval (or 5s, whichever is longer) to finish.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, max(m.interval, 5*time.Second))
		err := m.check(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		m.set(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) set(err error) {
	m.mu.Lock()
	was := m.last
	m.last = err
	if err == nil && !m.everReady {
		m.everReady = true
		close(m.ready)
	}
	m.mu.Unlock()
	switch {
	case err != nil && (was == nil || was.Error() != err.Error()):
		m.logger.Warn("not ready", "err", err)
	case err == nil && was != nil:
		m.logger.Info("ready")
	}
}

// Ready returns nil when the last check passed and shutdown has not begun.
func (m *Monitor) Ready() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.draining {
		return ErrShuttingDown
	}
	return m.last
}

// Readied is closed the first time a check passes.
func (m *Monitor) Readied() <-chan struct{} { return m.ready }

// Drain makes Ready fail from now on: the first step of shutdown.
func (m *Monitor) Drain() {
	m.mu.Lock()
	m.draining = true
	m.mu.Unlock()
}

// AddDetail registers fn to report the detail called name beside
// readiness: something worth showing that does not make the instance
// unready, such as the partitions a consumer has paused. Details calls fn
// each time, so fn must be quick and safe for concurrent use, and its
// answer must encode as JSON; an untyped nil answer leaves the detail out
// (return nil, not a nil slice). A second
// AddDetail with the same name replaces the first.
func (m *Monitor) AddDetail(name string, fn func() any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.details == nil {
		m.details = make(map[string]func() any)
	}
	m.details[name] = fn
}

// Details returns the current answer of every detail registered with
// AddDetail, by name, leaving out nil answers; it is nil when there are
// none. It does not depend on, or change, Ready.
func (m *Monitor) Details() map[string]any {
	m.mu.Lock()
	fns := make(map[string]func() any, len(m.details))
	for name, fn := range m.details {
		fns[name] = fn
	}
	m.mu.Unlock()
	var out map[string]any
	for name, fn := range fns { // called unlocked: fn may take its own locks
		if v := fn(); v != nil {
			if out == nil {
				out = make(map[string]any, len(fns))
			}
			out[name] = v
		}
	}
	return out
}
