package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultAlgorithms are the signature algorithms a bearer token may use
// unless BearerOptions.Algorithms says otherwise: the RSA, RSA-PSS, ECDSA
// and EdDSA families. HMAC and "none" are never allowed.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

const (
	// maxTokenBytes bounds a bearer token; real ones are a few KiB.
	maxTokenBytes = 64 << 10
	// maxFetchBytes bounds a discovery document or key set.
	maxFetchBytes = 1 << 20
	// maxKeys bounds the keys kept from a key set.
	maxKeys = 100
	// verifiedTokens bounds the tokens remembered as verified, and
	// verifiedFor how long one is remembered at most.
	verifiedTokens = 10_000
	verifiedFor    = 5 * time.Minute
)

// BearerOptions configure NewBearer. Zero fields take the defaults stated.
type BearerOptions struct {
	// Issuer is the tokens' issuer, which their iss claim must equal. With
	// JWKSURL empty, the issuer's keys are found by OpenID Connect
	// discovery: NewBearer reads Issuer + "/.well-known/openid-configuration"
	// and takes its jwks_uri. Required unless JWKSURL is set.
	Issuer string
	// JWKSURL is the issuer's JSON Web Key Set, fetched instead of
	// discovering it. With Issuer empty, the iss claim is not checked.
	JWKSURL string
	// Audience is the value the aud claim must hold (krest's client id at
	// the issuer). Required.
	Audience string
	// Algorithms are the signature algorithms accepted. Default
	// DefaultAlgorithms; none, HS256, HS384 and HS512 are refused.
	Algorithms []string
	// PrincipalClaim is the claim whose string value names the user, the
	// principal being "User:<value>". Default "sub".
	PrincipalClaim string
	// GroupsClaim is the claim holding the user's groups, a string or an
	// array of strings, each becoming "Group:<value>". Default: none.
	GroupsClaim string
	// ClockSkew is how far exp, nbf and iat may be off from this clock.
	// Default 60 s; negative: none.
	ClockSkew time.Duration
	// MinRefreshInterval is the least time between two fetches of the key
	// set. A token signed by a key not in the set (the issuer rotated its
	// keys) makes the set be fetched again, but not sooner than this, so
	// that tokens with made-up key ids cannot make krest hammer the issuer.
	// Default 1 minute.
	MinRefreshInterval time.Duration
	// MaxKeyAge is how long a fetched key set is used before it is fetched
	// again (when a token next needs it; the old keys stay in use if that
	// fails). Default 1 hour.
	MaxKeyAge time.Duration
	// FetchTimeout bounds each fetch of the discovery document or the key
	// set. Default 10 s.
	FetchTimeout time.Duration
	// RootCAs verifies the issuer's TLS certificates. Default: the system's.
	RootCAs *x509.CertPool
	// Logger receives key set fetches and their errors. Default: discard.
	Logger *slog.Logger
}

func (o BearerOptions) withDefaults() BearerOptions {
	if len(o.Algorithms) == 0 {
		o.Algorithms = DefaultAlgorithms
	}
	if o.PrincipalClaim == "" {
		o.PrincipalClaim = "sub"
	}
	if o.ClockSkew == 0 {
		o.ClockSkew = 60 * time.Second
	} else if o.ClockSkew < 0 {
		o.ClockSkew = 0
	}
	if o.MinRefreshInterval == 0 {
		o.MinRefreshInterval = time.Minute
	}
	if o.MaxKeyAge == 0 {
		o.MaxKeyAge = time.Hour
	}
	if o.FetchTimeout == 0 {
		o.FetchTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o BearerOptions) validate() error {
	switch {
	case o.Issuer == "" && o.JWKSURL == "":
		return fmt.Errorf("bearer authentication needs an issuer or a JWKS URL")
	case o.Audience == "":
		return fmt.Errorf("bearer authentication needs an audience")
	case o.MinRefreshInterval < 0, o.MaxKeyAge < 0, o.FetchTimeout < 0:
		return fmt.Errorf("bearer authentication's refresh interval, key age and fetch timeout must not be negative")
	}
	if o.Issuer != "" {
		if err := checkFetchURL(o.Issuer); err != nil {
			return fmt.Errorf("bearer issuer %q: %w", o.Issuer, err)
		}
	}
	if o.JWKSURL != "" {
		if err := checkFetchURL(o.JWKSURL); err != nil {
			return fmt.Errorf("bearer JWKS URL %q: %w", o.JWKSURL, err)
		}
	}
	for _, a := range o.Algorithms {
		if !slices.Contains(DefaultAlgorithms, a) {
			return fmt.Errorf("bearer algorithm %q is not allowed (want some of %s)", a, strings.Join(DefaultAlgorithms, ", "))
		}
	}
	return nil
}

// checkFetchURL allows an https URL, and an http one only on a loopback
// host, where nothing on the network can read or change what is fetched.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("no host")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("http is allowed only on a loopback host; use https")
	default:
		return fmt.Errorf("scheme %q: want https", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Bearer checks bearer JWTs against an issuer's published keys. It is safe
// for concurrent use.
type Bearer struct {
	opts  BearerOptions
	algs  []jose.SignatureAlgorithm
	keys  *keySet
	now   func() time.Time
	claim string

	mu       sync.Mutex // guards verified
	verified *lru[[sha256.Size]byte, verifiedToken]
}

// verifiedToken is a token whose signature and claims were checked: its
// principal serves again, without the signature check, until the token
// expires or verifiedFor passes, and only while the key set is the one it
// was checked against (a refreshed set may have withdrawn its key).
type verifiedToken struct {
	p         Principal
	keysAt    time.Time // the key set's fetch it was checked against
	validTill time.Time
}

// NewBearer checks opts and, for an issuer without a JWKS URL, runs OpenID
// Connect discovery (bounded by ctx and opts.FetchTimeout), failing if the
// issuer cannot be reached or names a different issuer. The key set itself
// is fetched when the first token needs it. NewBearer starts no goroutine.
func NewBearer(ctx context.Context, opts BearerOptions) (*Bearer, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	client := newFetchClient(opts)
	jwksURL := opts.JWKSURL
	if jwksURL == "" {
		var err error
		if jwksURL, err = discover(ctx, client, opts); err != nil {
			return nil, err
		}
	}
	b := &Bearer{opts: opts, now: time.Now, claim: opts.PrincipalClaim, verified: newLRU[[sha256.Size]byte, verifiedToken](verifiedTokens)}
	for _, a := range opts.Algorithms {
		b.algs = append(b.algs, jose.SignatureAlgorithm(a))
	}
	b.keys = &keySet{
		url: jwksURL, client: client, timeout: opts.FetchTimeout,
		minRefresh: opts.MinRefreshInterval, maxAge: opts.MaxKeyAge,
		now: func() time.Time { return b.now() }, log: opts.Logger,
	}
	return b, nil
}

// discover reads the issuer's discovery document, returning its jwks_uri.
func discover(ctx context.Context, client *http.Client, opts BearerOptions) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.FetchTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), opts.Issuer)
	if err != nil {
		return "", fmt.Errorf("bearer issuer %q: discovery: %w", opts.Issuer, err)
	}
	var doc struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		return "", fmt.Errorf("bearer issuer %q: discovery: %w", opts.Issuer, err)
	}
	if doc.JWKSURL == "" {
		return "", fmt.Errorf("bearer issuer %q: discovery names no jwks_uri", opts.Issuer)
	}
	if err := checkFetchURL(doc.JWKSURL); err != nil {
		return "", fmt.Errorf("bearer issuer %q: jwks_uri %q: %w", opts.Issuer, doc.JWKSURL, err)
	}
	return doc.JWKSURL, nil
}

// newFetchClient returns the client discovery and key fetches use: bounded
// in time and size, verifying TLS against opts.RootCAs, following
// redirects only to URLs checkFetchURL allows.
func newFetchClient(opts BearerOptions) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
	return &http.Client{
		Timeout:   opts.FetchTimeout,
		Transport: limitTransport{tr},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("too many redirects")
			}
			return checkFetchURL(req.URL.String())
		},
	}
}

// limitTransport cuts every response body off at maxFetchBytes, with an
// error rather than silently.
type limitTransport struct{ rt http.RoundTripper }

// RoundTrip sends req, limiting the response body.
func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err == nil {
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxFetchBytes}
	}
	return resp, err
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

// Read reads, failing once maxFetchBytes have been read.
func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("response larger than %d bytes", maxFetchBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// Authenticate verifies token, the credentials of an "Authorization:
// Bearer" header: its signature by one of the issuer's keys, with an
// allowed algorithm; its issuer and audience; its exp (required), nbf and
// iat, within the clock skew. It returns the principal named by the
// principal claim, with the groups claim's groups, the token's expiry and
// the token itself. Errors wrap ErrUnauthenticated, or
// ErrProviderUnavailable when the token's key is unknown and the key set
// cannot be fetched. A token verified once is remembered (see
// verifiedToken), so that a client sending the same token on every
// request pays for its signature check once.
func (b *Bearer) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > maxTokenBytes {
		return Principal{}, fmt.Errorf("%w: token empty or longer than %d bytes", ErrUnauthenticated, maxTokenBytes)
	}
	sum := sha256.Sum256([]byte(token))
	b.keys.mu.RLock()
	keysAt := b.keys.fetchedAt
	b.keys.mu.RUnlock()
	now := b.now()
	b.mu.Lock()
	v, ok := b.verified.get(sum)
	if ok && (v.keysAt != keysAt || !now.Before(v.validTill) || now.Sub(keysAt) >= b.keys.maxAge) {
		b.verified.remove(sum)
		ok = false
	}
	b.mu.Unlock()
	if ok {
		return v.p, nil
	}
	p, keysAt, err := b.verify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	till := now.Add(verifiedFor)
	if exp := p.Expiry.Add(b.opts.ClockSkew); exp.Before(till) {
		till = exp
	}
	b.mu.Lock()
	b.verified.add(sum, verifiedToken{p: p, keysAt: keysAt, validTill: till})
	b.mu.Unlock()
	return p, nil
}

// verify checks token's signature and claims, returning its principal and
// the fetch of the key set that verified it.
func (b *Bearer) verify(ctx context.Context, token string) (Principal, time.Time, error) {
	tok, err := jwt.ParseSigned(token, b.algs)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	if len(tok.Headers) != 1 {
		return Principal{}, time.Time{}, fmt.Errorf("%w: want one signature", ErrUnauthenticated)
	}
	h := tok.Headers[0]
	keys, keysAt, err := b.keys.forToken(ctx, h.KeyID, jose.SignatureAlgorithm(h.Algorithm))
	if err != nil {
		return Principal{}, time.Time{}, err
	}
	var (
		std    jwt.Claims
		claims map[string]any
	)
	err = errNoKey
	for _, k := range keys {
		if err = tok.Claims(k.Key, &std, &claims); err == nil {
			break
		}
	}
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: signature: %v", ErrUnauthenticated, err)
	}
	if std.Expiry == nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: token has no exp", ErrUnauthenticated)
	}
	want := jwt.Expected{Issuer: b.opts.Issuer, AnyAudience: jwt.Audience{b.opts.Audience}, Time: b.now()}
	if err := std.ValidateWithLeeway(want, b.opts.ClockSkew); err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	name, _ := claims[b.claim].(string)
	if err := checkName(name); err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: claim %q: a user name that %v", ErrUnauthenticated, b.claim, err)
	}
	groups, err := b.groups(claims)
	if err != nil {
		return Principal{}, time.Time{}, err
	}
	exp := std.Expiry.Time()
	return Principal{
		Name: UserType + name, Groups: groups, Method: MethodBearer, Expiry: exp,
		creds: &Credentials{Token: token, Expiry: exp},
	}, keysAt, nil
}

var errNoKey = errors.New("no key")

// groups returns the groups claim's groups, each "Group:<name>".
func (b *Bearer) groups(claims map[string]any) ([]string, error) {
	if b.opts.GroupsClaim == "" {
		return nil, nil
	}
	var names []string
	switch v := claims[b.opts.GroupsClaim].(type) {
	case nil:
		return nil, nil
	case string:
		names = []string{v}
	case []any:
		for _, g := range v {
			s, ok := g.(string)
			if !ok {
				return nil, fmt.Errorf("%w: claim %q: want a string or an array of strings", ErrUnauthenticated, b.opts.GroupsClaim)
			}
			names = append(names, s)
		}
	default:
		return nil, fmt.Errorf("%w: claim %q: want a string or an array of strings", ErrUnauthenticated, b.opts.GroupsClaim)
	}
	groups := make([]string, 0, len(names))
	for _, n := range names {
		if err := checkName(n); err != nil {
			return nil, fmt.Errorf("%w: claim %q: a group name that %v", ErrUnauthenticated, b.opts.GroupsClaim, err)
		}
		groups = append(groups, GroupType+n)
	}
	return groups, nil
}

// keySet is an issuer's key set, fetched when first needed, again when a
// token names a key it lacks (at most once per minRefresh), and again when
// older than maxAge.
type keySet struct {
	url                string
	client             *http.Client
	timeout            time.Duration
	minRefresh, maxAge time.Duration
	now                func() time.Time
	log                *slog.Logger

	fetchMu sync.Mutex // one fetch at a time; guards triedAt and lastErr
	triedAt time.Time  // the last fetch's start
	lastErr error      // the last fetch's error

	mu        sync.RWMutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time // the last successful fetch

	fetches atomic.Int64 // attempts, for tests
}

// forToken returns the keys that may have signed a token whose header
// names kid and alg, and the fetch of the set they are from, fetching the
// set if it lacks them.
func (k *keySet) forToken(ctx context.Context, kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, time.Time, error) {
	keys, fetchedAt := k.lookup(kid, alg)
	fresh := !fetchedAt.IsZero() && k.now().Sub(fetchedAt) < k.maxAge
	if len(keys) > 0 && fresh {
		return keys, fetchedAt, nil
	}
	// With the keys in hand but stale, do not queue behind a fetch
	// already running: the old keys serve meanwhile.
	err := k.refresh(ctx, fetchedAt, len(keys) == 0)
	if refreshed, at := k.lookup(kid, alg); len(refreshed) > 0 {
		return refreshed, at, nil
	}
	if len(keys) > 0 && err != nil {
		return keys, fetchedAt, nil // stale, but the set could not be fetched now
	}
	switch {
	case errors.Is(err, ErrProviderUnavailable):
		return nil, time.Time{}, err
	case kid != "":
		return nil, time.Time{}, fmt.Errorf("%w: unknown key id %q", ErrUnauthenticated, kid)
	default:
		return nil, time.Time{}, fmt.Errorf("%w: no key for algorithm %s", ErrUnauthenticated, alg)
	}
}

// lookup returns the keys matching kid (any, when kid is empty) that can
// verify alg, and when the set was fetched.
func (k *keySet) lookup(kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, time.Time) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []jose.JSONWebKey
	for _, key := range k.keys {
		if (kid == "" || key.KeyID == kid) && (key.Algorithm == "" || key.Algorithm == string(alg)) && keyFits(key.Key, alg) {
			out = append(out, key)
		}
	}
	return out, k.fetchedAt
}

// keyFits reports whether key is of the type alg verifies with.
func keyFits(key any, alg jose.SignatureAlgorithm) bool {
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case jose.ES256, jose.ES384, jose.ES512:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		want := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		return pub.Curve == want
	case jose.EdDSA:
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// errRefreshTooSoon is refresh's answer within minRefresh of the last
// attempt.
var errRefreshTooSoon = errors.New("key set fetched too recently to fetch again")

// refresh fetches the key set unless another caller has done so since
// seen, or the last attempt was less than minRefresh ago (then it returns
// that attempt's error, or errRefreshTooSoon). Unless told to wait, it
// does nothing while another fetch runs. The fetch is not
// cut short by ctx's cancellation (a client hanging up must not waste the
// attempt), only by the fetch timeout.
func (k *keySet) refresh(ctx context.Context, seen time.Time, wait bool) error {
	if wait {
		k.fetchMu.Lock()
	} else if !k.fetchMu.TryLock() {
		return errRefreshTooSoon
	}
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	fetchedAt := k.fetchedAt
	k.mu.RUnlock()
	if fetchedAt.After(seen) {
		return nil
	}
	now := k.now()
	if !k.triedAt.IsZero() && now.Sub(k.triedAt) < k.minRefresh {
		if k.lastErr != nil {
			return k.lastErr // still unavailable, as far as we know
		}
		return errRefreshTooSoon
	}
	k.triedAt = now
	k.fetches.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.timeout)
	defer cancel()
	keys, err := k.fetch(ctx)
	if err != nil {
		k.log.Error("key set not fetched", "url", k.url, "err", err)
		k.lastErr = fmt.Errorf("%w: key set %s: %v", ErrProviderUnavailable, k.url, err)
		return k.lastErr
	}
	k.lastErr = nil
	k.mu.Lock()
	k.keys, k.fetchedAt = keys, now
	k.mu.Unlock()
	k.log.Info("key set fetched", "url", k.url, "keys", len(keys))
	return nil
}

// fetch reads the key set, keeping the public signature keys among its
// first maxKeys and skipping keys it cannot use (another key type, or an
// encryption key).
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys[:min(len(set.Keys), maxKeys)] {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() {
			continue
		}
		key = key.Public()
		if !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable signature keys")
	}
	return keys, nil
}
