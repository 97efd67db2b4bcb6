package auth

import (
	"errors"
	"time"

	"krest/internal/watch"
)

// The package's sentinels; the HTTP layer maps each to one status.
var (
	// ErrUnauthenticated is returned when credentials are missing, malformed
	// or wrong: an unknown user or a bad password (the two are not told
	// apart), or a token that is unsigned, expired, not yet valid, for
	// another audience or from another issuer. It maps to 401. The wrapped
	// detail is for logs; answer the client without it.
	ErrUnauthenticated = errors.New("authentication failed")
	// ErrTooManyFailures is returned, in a *RetryError, when a client
	// address has failed to log in too often recently; no credentials are
	// checked until it may try again. It maps to 429 with Retry-After.
	ErrTooManyFailures = errors.New("too many failed logins")
	// ErrBusy is returned, in a *RetryError, when as many password checks
	// as allowed are already running: bcrypt is deliberately slow, and
	// queueing more would only add latency. It maps to 503 with
	// Retry-After.
	ErrBusy = errors.New("too many concurrent credential checks")
	// ErrProviderUnavailable is returned when a token's signing key is not
	// among the keys fetched and the issuer's key set cannot be fetched now.
	// It maps to 503.
	ErrProviderUnavailable = errors.New("identity provider unavailable")
	// ErrInvalidFile is returned, wrapped with the file's name and the line
	// or rule at fault, when a users file or a policy file cannot be used.
	ErrInvalidFile = watch.ErrInvalidFile
)

// RetryError is an error that says how long to wait before trying again.
// It wraps ErrTooManyFailures or ErrBusy; find it with errors.As to set
// Retry-After.
type RetryError struct {
	// Err is the sentinel.
	Err error
	// RetryAfter is how long to wait; at least a second.
	RetryAfter time.Duration
}

// Error returns the sentinel's text.
func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the sentinel.
func (e *RetryError) Unwrap() error { return e.Err }

// retryAfter wraps err with a delay of at least a second, the resolution
// of Retry-After.
func retryAfter(err error, d time.Duration) error {
	if d < time.Second {
		d = time.Second
	}
	return &RetryError{Err: err, RetryAfter: d}
}
