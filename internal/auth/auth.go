// Package auth authenticates krest's callers and authorizes what they do:
// principals from HTTP Basic credentials (an htpasswd users file), bearer
// JWTs (an OIDC issuer's keys) and client certificates (Kafka's principal
// mapping rules); a Kafka-style ACL policy file; per-principal rate limits.
// It knows no HTTP types: the HTTP layer parses the request and calls it.
//
// Principals are named as Kafka names them, "User:alice" and "Group:ops".
// Both files this package reads (the users file and the policy file) are
// watched and reloaded when they change; a reload that fails keeps the
// last good contents.
package auth

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Method is how a principal proved who it is.
type Method string

// The authentication methods.
const (
	// MethodNone is the anonymous principal's: nothing was proved.
	MethodNone Method = "none"
	// MethodBasic is HTTP Basic, checked against the users file.
	MethodBasic Method = "basic"
	// MethodBearer is a bearer JWT, checked against the issuer's keys.
	MethodBearer Method = "bearer"
	// MethodMTLS is a client certificate the TLS layer verified.
	MethodMTLS Method = "mtls"
)

// The principal types, as Kafka spells them.
const (
	// UserType prefixes a user principal's name: "User:alice".
	UserType = "User:"
	// GroupType prefixes a group's name: "Group:ops".
	GroupType = "Group:"
)

// Anonymous is the principal of a request that presented no credentials
// where none are required, "User:ANONYMOUS" as Kafka names it.
var Anonymous = Principal{Name: UserType + "ANONYMOUS", Method: MethodNone}

// Principal is an authenticated caller. It is a value: copy it freely, but
// treat Groups as read-only (copies share it).
//
// The credentials the principal came with are kept for passing the
// caller's identity on to Kafka; they are unexported and never appear in
// String, GoString, LogValue or JSON, so a Principal is safe to log.
type Principal struct {
	// Name is the principal's Kafka name, "User:<name>".
	Name string
	// Groups are the principal's groups, each "Group:<name>", from the
	// bearer token's groups claim; nil for the other methods.
	Groups []string
	// Method is how the principal authenticated.
	Method Method
	// Expiry is when the principal's bearer token expires; zero for the
	// other methods, whose credentials do not expire.
	Expiry time.Time

	// creds is a pointer so that even fmt's reflection, printing a
	// Principal in an unexported field where String cannot be called,
	// prints an address rather than the secrets.
	creds *Credentials
}

// User returns the principal's name without its "User:" prefix.
func (p Principal) User() string { return strings.TrimPrefix(p.Name, UserType) }

// Credentials returns the credentials the principal authenticated with,
// for passing its identity on to Kafka. The zero Credentials for mTLS and
// the anonymous principal.
func (p Principal) Credentials() Credentials {
	if p.creds == nil {
		return Credentials{}
	}
	return *p.creds
}

// String returns the principal's name.
func (p Principal) String() string { return p.Name }

// GoString returns the principal's name and method, so that %#v does not
// print its credentials.
func (p Principal) GoString() string {
	return "auth.Principal{Name: " + strconv.Quote(p.Name) + ", Method: " + strconv.Quote(string(p.Method)) + "}"
}

// LogValue logs the principal as its name, method and groups, never its
// credentials.
func (p Principal) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", p.Name), slog.String("method", string(p.Method))}
	if len(p.Groups) > 0 {
		attrs = append(attrs, slog.Any("groups", p.Groups))
	}
	return slog.GroupValue(attrs...)
}

// Credentials are what a principal authenticated with: a Basic user and
// password, or a bearer token and its expiry. Its String, GoString,
// LogValue and MarshalJSON redact the secrets.
type Credentials struct {
	// Username and Password are the HTTP Basic credentials.
	Username, Password string
	// Token is the raw bearer JWT.
	Token string
	// Expiry is the token's exp claim.
	Expiry time.Time
}

// String describes the credentials without their secrets.
func (c Credentials) String() string {
	switch {
	case c.Token != "":
		return "bearer token (redacted)"
	case c.Username != "":
		return "basic credentials for " + c.Username + " (password redacted)"
	default:
		return "no credentials"
	}
}

// GoString is String, so that %#v does not print the secrets.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs the credentials as String.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes the credentials as String.
func (c Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }
