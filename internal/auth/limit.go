package auth

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimiterOptions configure NewLimiter. Zero fields take the defaults
// stated.
type LimiterOptions struct {
	// Rate is each principal's sustained requests per second. Required,
	// positive.
	Rate float64
	// Burst is how many requests a principal may make at once above Rate.
	// Default: Rate rounded up, at least 1.
	Burst int
	// MaxPrincipals is how many principals' limiters are kept; the least
	// recently seen are forgotten first (and start again with a full
	// burst). Default 10,000.
	MaxPrincipals int
}

// Limiter limits each principal's request rate with a token bucket. It is
// safe for concurrent use.
type Limiter struct {
	opts LimiterOptions
	now  func() time.Time

	mu   sync.Mutex
	lims *lru[string, *rate.Limiter]
}

// NewLimiter checks opts.
func NewLimiter(opts LimiterOptions) (*Limiter, error) {
	if !(opts.Rate > 0) || math.IsInf(opts.Rate, 0) {
		return nil, fmt.Errorf("the per-principal rate limit must be a positive number of requests a second")
	}
	if opts.Burst < 0 || opts.MaxPrincipals < 0 {
		return nil, fmt.Errorf("the per-principal burst and principal count must not be negative")
	}
	if opts.Burst == 0 {
		opts.Burst = max(1, int(math.Ceil(opts.Rate)))
	}
	if opts.MaxPrincipals == 0 {
		opts.MaxPrincipals = 10_000
	}
	return &Limiter{opts: opts, now: time.Now, lims: newLRU[string, *rate.Limiter](opts.MaxPrincipals)}, nil
}

// Allow takes one request from p's bucket, returning true, or false and
// how long until the bucket holds a request again (for Retry-After).
func (l *Limiter) Allow(p Principal) (bool, time.Duration) {
	l.mu.Lock()
	lim, ok := l.lims.get(p.Name)
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.opts.Rate), l.opts.Burst)
		l.lims.add(p.Name, lim)
	}
	l.mu.Unlock()
	now := l.now()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// OtherLabel is the label Labeler gives the principals past its first.
const OtherLabel = "other"

// Labeler maps principals to a bounded set of metric label values: the
// first max distinct principal names it sees keep their own name, every
// later one is OtherLabel. The names kept are kept for the process's life,
// so a principal's label does not change under a running dashboard. It is
// safe for concurrent use.
type Labeler struct {
	max int

	mu    sync.Mutex
	names map[string]struct{}
}

// NewLabeler returns a Labeler of at most max own labels (plus
// OtherLabel); max 0 labels every principal OtherLabel.
func NewLabeler(max int) (*Labeler, error) {
	if max < 0 {
		return nil, fmt.Errorf("the principal label count must not be negative")
	}
	return &Labeler{max: max, names: make(map[string]struct{}, max)}, nil
}

// Label returns p's label value: its name, or OtherLabel.
func (l *Labeler) Label(p Principal) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.names[p.Name]; ok {
		return p.Name
	}
	if len(l.names) < l.max {
		l.names[p.Name] = struct{}{}
		return p.Name
	}
	return OtherLabel
}
