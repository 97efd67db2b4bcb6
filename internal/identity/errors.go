package identity

import (
	"fmt"

	"krest/internal/auth"
	"krest/internal/kafka"
)

// The pool's own states, each wrapping the shared sentinel its answer
// follows from.
var (
	// ErrNoIdentity is returned, wrapped with the principal and why, when
	// a principal has no Kafka login to act with: it brought no
	// credentials to pass on (a client certificate, or none at all) and
	// the map names no login for it. It wraps kafka.ErrNotAuthorized: the
	// caller may not act at Kafka (403).
	ErrNoIdentity = fmt.Errorf("%w: no Kafka identity", kafka.ErrNotAuthorized)
	// ErrLoginRefused is returned when the brokers refuse a principal's
	// login (an unknown user, a wrong password, a token they do not
	// accept, a mechanism they do not take) or its token has expired. It
	// wraps auth.ErrUnauthenticated and kafka.ErrAuthentication: the
	// caller's credentials do not get it in (401).
	ErrLoginRefused = fmt.Errorf("%w: %w", auth.ErrUnauthenticated, kafka.ErrAuthentication)
	// ErrClosed is returned once the pool is closed. It wraps
	// kafka.ErrUnavailable.
	ErrClosed = fmt.Errorf("%w: the identity pool is closed", kafka.ErrUnavailable)
)
