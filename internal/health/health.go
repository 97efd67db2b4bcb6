// Package health tracks whether krest is ready to serve: a background loop
// runs a check against the cluster, and shutdown marks it not ready first.
package health

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrShuttingDown is returned by Ready once Drain was called.
var ErrShuttingDown = errors.New("shutting down")

// errNotChecked is returned by Ready before the first check finished.
var errNotChecked = errors.New("cluster not checked yet")

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
