package api

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"krest/internal/admin"
	"krest/internal/auth"
	"krest/internal/produce"
)

// The frame's security steps: authenticate (a principal from the
// request's credentials), authorize (the route's resource and operation
// for that principal), and the principal's rate limit. auth implements
// the interfaces declared here.

// basicAuthenticator checks a user and password; auth.Basic implements it.
type basicAuthenticator interface {
	Authenticate(client, user, password string) (auth.Principal, error)
}

// bearerAuthenticator checks a bearer token; auth.Bearer implements it.
type bearerAuthenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
}

// certAuthenticator names the principal of a verified client certificate;
// auth.MTLS implements it.
type certAuthenticator interface {
	Authenticate(cert *x509.Certificate) (auth.Principal, error)
}

// authorizer decides what a principal may do; auth.Authorizer implements
// it.
type authorizer interface {
	Allow(p auth.Principal, r auth.Resource, name string, op auth.Operation) (bool, string)
	AllowAny(p auth.Principal, r auth.Resource, op auth.Operation) bool
	Filter(p auth.Principal, r auth.Resource, op auth.Operation, names []string) []string
}

// identities gives the producer and admin a principal acts through at
// Kafka: its own login, for the brokers to authorize (KREST_KAFKA_IDENTITY
// passthrough or mapped); identity.Pool implements it.
type identities interface {
	For(ctx context.Context, p auth.Principal) (*produce.Producer, *admin.Admin, error)
}

// rateLimiter bounds a principal's requests; auth.Limiter implements it.
type rateLimiter interface {
	Allow(p auth.Principal) (bool, time.Duration)
}

var (
	_ basicAuthenticator  = (*auth.Basic)(nil)
	_ bearerAuthenticator = (*auth.Bearer)(nil)
	_ certAuthenticator   = (*auth.MTLS)(nil)
	_ authorizer          = (*auth.Authorizer)(nil)
	_ rateLimiter         = (*auth.Limiter)(nil)
)

// Security configures the frame's security steps. With no authenticator
// every caller is auth.Anonymous; with no Authorizer every principal may
// do everything.
type Security struct {
	// Basic, Bearer and MTLS authenticate callers by an Authorization
	// header (Basic or Bearer) or a verified client certificate; any set
	// makes credentials required.
	Basic  basicAuthenticator
	Bearer bearerAuthenticator
	MTLS   certAuthenticator
	// Authorizer decides what each principal may do on each route.
	Authorizer authorizer
	// Limiter bounds each principal's requests (429 past it).
	Limiter rateLimiter
	// Labeler names principals in metrics with a bounded set of labels;
	// nil counts no request by principal.
	Labeler interface{ Label(p auth.Principal) string }
	// Identities, when set, makes each principal act at Kafka through its
	// own login instead of krest's: a login the brokers refuse is 401,
	// an operation they deny 403.
	Identities identities
	// OpenMetrics serves /metrics and the OpenAPI document without
	// credentials (/healthz and /readyz always are).
	OpenMetrics bool
	// AllowedOrigins are the origins ("https://console.example.com") whose
	// browsers may make state-changing requests; a cross-origin request
	// from any other is refused.
	AllowedOrigins []string
}

// required reports whether requests must carry credentials.
func (s *Security) required() bool { return s.Basic != nil || s.Bearer != nil || s.MTLS != nil }

// public reports whether r answers without credentials.
func (s *Security) public(r *route) bool {
	switch r.pattern {
	case "/healthz", "/readyz":
		return true
	case "/metrics", "/openapi.yaml", "/openapi.json":
		return s.OpenMetrics
	}
	return false
}

// Error codes of the security steps, as upstream names them.
const (
	codeUnauthenticated = 40101
	codeForbiddenOrigin = 40302
	codeAuthUnavailable = 50305 // credentials cannot be checked now
)

// errUnauthenticated answers a request without valid credentials: 401
// with WWW-Authenticate for each scheme krest takes (challenge).
type errUnauthenticated struct{ reason string }

func (e *errUnauthenticated) Error() string { return e.reason }

// challenge sets WWW-Authenticate for each scheme krest takes.
func (s *Security) challenge(c *call) {
	if s.Basic != nil {
		c.fctx.Response.Header.Add("WWW-Authenticate", `Basic realm="krest", charset="UTF-8"`)
	}
	if s.Bearer != nil {
		c.fctx.Response.Header.Add("WWW-Authenticate", `Bearer realm="krest"`)
	}
}

// authenticate sets c's principal from its credentials: an Authorization
// header of a scheme krest takes, else a verified client certificate.
// Failures are 401 (40101); a login throttled or a check that cannot run
// now is 429 or 503 with Retry-After.
func (s *Server) authenticate(c *call) error {
	sec := &s.opts.Security
	c.principal = auth.Anonymous
	if !sec.required() || sec.public(c.route) {
		return nil
	}
	var p auth.Principal
	var err error
	header := c.fctx.Request.Header.Peek("Authorization")
	scheme, cred, _ := strings.Cut(string(header), " ")
	switch {
	case len(header) == 0:
		cert := c.peerCertificate()
		if sec.MTLS == nil || cert == nil {
			return &errUnauthenticated{"credentials are required"}
		}
		p, err = sec.MTLS.Authenticate(cert)
	case strings.EqualFold(scheme, "Basic") && sec.Basic != nil:
		user, password, ok := parseBasic(cred)
		if !ok {
			return &errUnauthenticated{"the Basic credentials are malformed"}
		}
		p, err = sec.Basic.Authenticate(c.fctx.RemoteIP().String(), user, password)
	case strings.EqualFold(scheme, "Bearer") && sec.Bearer != nil:
		p, err = sec.Bearer.Authenticate(c.context(), strings.TrimSpace(cred))
	default:
		return &errUnauthenticated{"the Authorization scheme is not one krest takes"}
	}
	if err != nil {
		c.cause = err
		return authError(err)
	}
	c.principal = p
	return nil
}

// authError maps an authenticator's error to its answer; the detail goes
// to the log only.
func authError(err error) error {
	var retry *auth.RetryError
	after := time.Second
	if errors.As(err, &retry) {
		after = retry.RetryAfter
	}
	switch {
	case errors.Is(err, auth.ErrTooManyFailures):
		return &apiError{http.StatusTooManyRequests, codeTooManyRequests, "too many failed logins; retry in " + retrySeconds(after) + "s"}
	case errors.Is(err, auth.ErrBusy), errors.Is(err, auth.ErrProviderUnavailable):
		return &apiError{http.StatusServiceUnavailable, codeAuthUnavailable, "credentials cannot be checked now; retry shortly"}
	}
	return &errUnauthenticated{"the credentials are not valid"}
}

// parseBasic decodes the credentials of a Basic Authorization header.
// The strings are copies: the principal keeps them past the request.
func parseBasic(cred string) (user, password string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// peerCertificate returns the client's verified certificate, or nil.
func (c *call) peerCertificate() *x509.Certificate {
	st := c.fctx.TLSConnectionState()
	if st == nil || len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return nil
	}
	return st.PeerCertificates[0]
}

// authorize checks the route's operation on the resource its path names
// (a listing: that the principal may see some of them; a name in the body:
// left to the handler, which calls c.allow). Denied is 403 (40301), as
// Kafka answers an authorization failure, even for a describe.
func (s *Server) authorize(c *call) error {
	r := c.route
	if s.opts.Security.Authorizer == nil || r.resource == resourceServer {
		return nil
	}
	switch {
	case r.nameInBody:
		return nil
	case r.listing:
		if !s.opts.Security.Authorizer.AllowAny(c.principal, auth.Resource(r.resource), auth.Operation(r.op)) {
			return c.denied(r.resource, "any", r.op, "no rule allows it")
		}
		return nil
	}
	name := r.name
	switch {
	case r.resource == resourceCluster:
		name = "kafka-cluster"
	case r.param != "":
		name = c.pathValue(r.param)
	}
	return c.allow(r.resource, name, r.op)
}

// allow fails with 403 unless c's principal may do op on the resource
// called name.
func (c *call) allow(res resource, name string, op operation) error {
	az := c.srv.opts.Security.Authorizer
	if az == nil {
		return nil
	}
	if ok, reason := az.Allow(c.principal, auth.Resource(res), name, auth.Operation(op)); !ok {
		return c.denied(res, name, op, reason)
	}
	return nil
}

// visible returns the items of a listing of resources of kind res whose
// names (name gives an item's) the principal may op, in order: a listing
// shows a caller only what it may see.
func visible[T any](c *call, res resource, op operation, items []T, name func(T) string) []T {
	az := c.srv.opts.Security.Authorizer
	if az == nil {
		return items
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = name(it)
	}
	allowed := make(map[string]bool, len(names))
	for _, n := range az.Filter(c.principal, auth.Resource(res), auth.Operation(op), names) {
		allowed[n] = true
	}
	out := items[:0:0]
	for _, it := range items {
		if allowed[name(it)] {
			out = append(out, it)
		}
	}
	return out
}

// denied is the 403 of an operation the principal may not do; the reason
// goes to the log.
func (c *call) denied(res resource, name string, op operation, reason string) error {
	c.cause = fmt.Errorf("%s may not %s %s %s: %s", c.principal.Name, op, res, name, reason)
	return &apiError{http.StatusForbidden, codeNotAuthorized,
		fmt.Sprintf("%s is not authorized to %s %s %s", c.principal.Name, op, res, name)}
}

// actAs makes c act at Kafka as its principal when Security.Identities is
// set (krest's own routes excepted).
func (s *Server) actAs(c *call) error {
	ids := s.opts.Security.Identities
	if ids == nil || c.route.resource == resourceServer {
		return nil
	}
	// The principal's client is in use as long as the request lives, a
	// stream included: until finish.
	var life context.Context
	life, c.endLife = context.WithCancel(context.Background())
	p, adm, err := ids.For(life, c.principal)
	if err != nil {
		return err
	}
	c.p, c.adm, c.asPrincipal = p, adm, true
	return nil
}

// limit applies the principal's rate limit: 429 with Retry-After past it.
func (s *Server) limit(c *call) error {
	l := s.opts.Security.Limiter
	if l == nil || c.route.unlimited {
		return nil
	}
	if ok, after := l.Allow(c.principal); !ok {
		c.fctx.Response.Header.Set("Retry-After", retrySeconds(after))
		return &apiError{http.StatusTooManyRequests, codeTooManyRequests, "request rate limit reached; retry in " + retrySeconds(after) + "s"}
	}
	return nil
}

// countPrincipal counts c's request by its principal's bounded label and
// its outcome.
func (s *Server) countPrincipal(c *call, status int) {
	l := s.opts.Security.Labeler
	if l == nil || c.route == nil || s.opts.Security.public(c.route) {
		return
	}
	outcome := "served"
	switch status {
	case http.StatusUnauthorized:
		outcome = "unauthenticated"
	case http.StatusForbidden:
		outcome = "denied"
	case http.StatusTooManyRequests:
		outcome = "rate_limited"
	}
	s.opts.Metrics.PrincipalRequest(l.Label(c.principal), outcome)
}

// retrySeconds is d as a Retry-After value: whole seconds, at least 1.
func retrySeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// checkOrigin refuses a state-changing request a browser sends from
// another origin, as Go's http.CrossOriginProtection does: by its
// Sec-Fetch-Site header, else by its Origin against the Host, with the
// allowed origins let through.
func (s *Server) checkOrigin(c *call) error {
	switch c.route.method {
	case http.MethodGet, http.MethodHead:
		return nil
	}
	h := &c.fctx.Request.Header
	origin := string(h.Peek("Origin"))
	for _, o := range s.opts.Security.AllowedOrigins {
		if origin == o {
			return nil
		}
	}
	switch string(h.Peek("Sec-Fetch-Site")) {
	case "same-origin", "none":
		return nil
	case "":
	default:
		return errForbiddenOrigin(origin)
	}
	if origin == "" {
		return nil // not a browser's cross-origin request
	}
	if u, err := url.Parse(origin); err == nil && u.Host == string(c.fctx.Host()) {
		return nil
	}
	return errForbiddenOrigin(origin)
}

func errForbiddenOrigin(origin string) error {
	return &apiError{http.StatusForbidden, codeForbiddenOrigin,
		"cross-origin request from " + strconv.Quote(origin) + " refused; allow the origin with KREST_ALLOWED_ORIGINS"}
}
