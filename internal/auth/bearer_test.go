package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"krest/internal/auth/authtest"
)

// idp is an OpenID Connect issuer on a loopback httptest server: its
// discovery document, and a key set the test changes.
type idp struct {
	srv     *httptest.Server
	fetches atomic.Int64

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	status  int    // of the key set; 0 is 200
	issuer  string // in the discovery document; "" is the server's URL
	jwksURI string // in the discovery document; "" is the server's
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	i := &idp{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		iss, jwks := i.issuer, i.jwksURI
		i.mu.Unlock()
		if iss == "" {
			iss = i.srv.URL
		}
		if jwks == "" {
			jwks = i.srv.URL + "/jwks"
		}
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": jwks, "id_token_signing_alg_values_supported": []string{"RS256", "ES256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		i.fetches.Add(1)
		i.mu.Lock()
		defer i.mu.Unlock()
		if i.status != 0 {
			w.WriteHeader(i.status)
			return
		}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: i.keys})
	})
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	return i
}

// publish replaces the key set with the public halves of keys.
func (i *idp) publish(keys ...jose.JSONWebKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = nil
	for _, k := range keys {
		i.keys = append(i.keys, k.Public())
	}
}

func (i *idp) setStatus(code int) {
	i.mu.Lock()
	i.status = code
	i.mu.Unlock()
}

// signingKey is a private key with its id.
func signingKey(t testing.TB, kind, kid string) jose.JSONWebKey {
	t.Helper()
	var (
		key any
		err error
	)
	switch kind {
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ec":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: key, KeyID: kid, Use: "sig"}
}

// sign signs claims with key by alg.
func sign(t testing.TB, key jose.JSONWebKey, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	return authtest.Sign(t, key, alg, claims)
}

// unsigned returns a token of header and claims with an empty signature.
func unsigned(header string, claims map[string]any) string {
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc(payload) + "."
}

func newBearer(t testing.TB, opts BearerOptions) *Bearer {
	t.Helper()
	b, err := NewBearer(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBearerAuthenticate(t *testing.T) {
	i := newIDP(t)
	rsaKey, ecKey, edKey := signingKey(t, "rsa", "rsa1"), signingKey(t, "ec", "ec1"), signingKey(t, "ed", "ed1")
	i.publish(rsaKey, ecKey, edKey)
	b := newBearer(t, BearerOptions{Issuer: i.srv.URL, Audience: "krest", GroupsClaim: "groups"})
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": i.srv.URL, "aud": "krest", "sub": "alice", "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "groups": []string{"ops", "dev"}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	rsaPub := rsaKey.Public().Key.(*rsa.PublicKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(rsaPub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWithPublicKey := func() string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubPEM}, (&jose.SignerOptions{}).WithHeader("kid", "rsa1"))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := jwt.Signed(s).Claims(claims(nil)).Serialize()
		return tok
	}
	for _, tt := range []struct {
		name   string
		token  string
		want   string // the principal; "" for ErrUnauthenticated
		groups []string
	}{
		{name: "RSA", token: sign(t, rsaKey, jose.RS256, claims(nil)), want: "User:alice", groups: []string{"Group:ops", "Group:dev"}},
		{name: "RSA-PSS", token: sign(t, rsaKey, jose.PS256, claims(nil)), want: "User:alice", groups: []string{"Group:ops", "Group:dev"}},
		{name: "EC", token: sign(t, ecKey, jose.ES256, claims(nil)), want: "User:alice", groups: []string{"Group:ops", "Group:dev"}},
		{name: "EdDSA", token: sign(t, edKey, jose.EdDSA, claims(nil)), want: "User:alice", groups: []string{"Group:ops", "Group:dev"}},
		{name: "groups as a string", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["groups"] = "ops" })), want: "User:alice", groups: []string{"Group:ops"}},
		{name: "no groups", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { delete(c, "groups") })), want: "User:alice"},
		{name: "aud among several", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["aud"] = []string{"other", "krest"} })), want: "User:alice", groups: []string{"Group:ops", "Group:dev"}},
		{name: "expired within the skew", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() })), want: "User:alice", groups: []string{"Group:ops", "Group:dev"}},
		{name: "expired", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }))},
		{name: "not yet valid", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() }))},
		{name: "issued in the future", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() }))},
		{name: "no exp", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { delete(c, "exp") }))},
		{name: "wrong issuer", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["iss"] = "https://evil.example" }))},
		{name: "wrong audience", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["aud"] = "other" }))},
		{name: "no sub", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { delete(c, "sub") }))},
		{name: "sub not a string", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["sub"] = 42 }))},
		{name: "groups not strings", token: sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["groups"] = []any{"ops", 7} }))},
		{name: "alg none", token: unsigned(`{"alg":"none","typ":"JWT"}`, claims(nil))},
		{name: "alg none with a kid", token: unsigned(`{"alg":"none","kid":"rsa1"}`, claims(nil))},
		{name: "HS256 keyed by the RSA public key", token: hmacWithPublicKey()},
		{name: "signed by a key not published", token: sign(t, signingKey(t, "ec", "ec1"), jose.ES256, claims(nil))},
		{name: "unknown kid", token: sign(t, signingKey(t, "ec", "nope"), jose.ES256, claims(nil))},
		{name: "RSA key id, EC signature", token: sign(t, jose.JSONWebKey{Key: ecKey.Key, KeyID: "rsa1"}, jose.ES256, claims(nil))},
		{name: "tampered payload", token: func() string {
			parts := strings.Split(sign(t, ecKey, jose.ES256, claims(nil)), ".")
			parts[1] = strings.Split(sign(t, ecKey, jose.ES256, claims(func(c map[string]any) { c["sub"] = "admin" })), ".")[1]
			parts[2] = strings.Split(sign(t, ecKey, jose.ES256, claims(nil)), ".")[2]
			return strings.Join(parts, ".")
		}()},
		{name: "not a JWT", token: "hello"},
		{name: "empty", token: ""},
		{name: "too long", token: strings.Repeat("a", maxTokenBytes+1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := b.Authenticate(context.Background(), tt.token)
			if tt.want == "" {
				if !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("principal %v, err = %v; want ErrUnauthenticated", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := p.Credentials()
			if p.Name != tt.want || !slices.Equal(p.Groups, tt.groups) || p.Method != MethodBearer || c.Token != tt.token || p.Expiry.IsZero() || !c.Expiry.Equal(p.Expiry) {
				t.Fatalf("principal = %#v groups %q expiry %v", p, p.Groups, p.Expiry)
			}
		})
	}
}

func TestBearerPrincipalClaim(t *testing.T) {
	i := newIDP(t)
	key := signingKey(t, "ec", "k")
	i.publish(key)
	b := newBearer(t, BearerOptions{JWKSURL: i.srv.URL + "/jwks", Audience: "krest", PrincipalClaim: "preferred_username"})
	exp := time.Now().Add(time.Minute)
	p, err := b.Authenticate(context.Background(), sign(t, key, jose.ES256, map[string]any{"aud": "krest", "sub": "123", "preferred_username": "alice", "exp": exp.Unix(), "iss": "anyone"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "User:alice" || p.Expiry.Unix() != exp.Unix() {
		t.Fatalf("principal %#v, expiry %v", p, p.Expiry)
	}
}

// rotation is an issuer publishing k1 (k2 made, not published), a Bearer
// on it, and the Bearer's clock, which a test moves.
type rotation struct {
	t      *testing.T
	idp    *idp
	k1, k2 jose.JSONWebKey
	b      *Bearer
	clock  time.Time
}

func newRotation(t *testing.T) *rotation {
	r := &rotation{t: t, idp: newIDP(t), k1: signingKey(t, "ec", "k1"), k2: signingKey(t, "ec", "k2"), clock: time.Now()}
	r.idp.publish(r.k1)
	r.b = newBearer(t, BearerOptions{JWKSURL: r.idp.srv.URL + "/jwks", Audience: "krest"})
	r.b.now = func() time.Time { return r.clock }
	return r
}

// token signs alice's token with k, expiring life from the clock.
func (r *rotation) token(k jose.JSONWebKey, life time.Duration) string {
	return sign(r.t, k, jose.ES256, map[string]any{"aud": "krest", "sub": "alice", "exp": r.clock.Add(life).Unix()})
}

// auth authenticates tok.
func (r *rotation) auth(tok string) error {
	_, err := r.b.Authenticate(context.Background(), tok)
	return err
}

func TestBearerKeyRotation(t *testing.T) {
	r := newRotation(t)
	i, k1, k2 := r.idp, r.k1, r.k2
	token := func(k jose.JSONWebKey) string { return r.token(k, time.Hour) }
	step := func(name string, err error, want error, fetches int64) {
		t.Helper()
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("%s: err = %v, want %v", name, err, want)
		}
		if n := i.fetches.Load(); n != fetches {
			t.Fatalf("%s: %d fetches, want %d", name, n, fetches)
		}
	}

	step("first token fetches the set", r.auth(token(k1)), nil, 1)
	step("known key, no fetch", r.auth(token(k1)), nil, 1)

	i.publish(k1, k2)
	step("rotated within the minute: not fetched again", r.auth(token(k2)), ErrUnauthenticated, 1)

	r.clock = r.clock.Add(61 * time.Second)
	step("a minute later the new key is fetched", r.auth(token(k2)), nil, 2)
	step("the old key still works", r.auth(token(k1)), nil, 2)

	bogus := signingKey(t, "ec", "bogus")
	for range 10 {
		step("made-up key ids do not fetch", r.auth(token(bogus)), ErrUnauthenticated, 2)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { r.auth(token(bogus)) })
	}
	wg.Wait()
	step("nor at once", nil, nil, 2)

	r.clock = r.clock.Add(time.Hour)
	step("an hour old, the set is fetched again", r.auth(token(k1)), nil, 3)

	i.setStatus(http.StatusInternalServerError)
	r.clock = r.clock.Add(time.Hour)
	step("stale, the issuer down: the old keys serve", r.auth(token(k1)), nil, 4)
	r.clock = r.clock.Add(61 * time.Second)
	step("an unknown key, the issuer down", r.auth(token(bogus)), ErrProviderUnavailable, 5)
	step("still down, as far as we know", r.auth(token(bogus)), ErrProviderUnavailable, 5)

	i.setStatus(0)
	i.publish(k2)
	r.clock = r.clock.Add(61 * time.Second)
	step("back up, k1 withdrawn", r.auth(token(bogus)), ErrUnauthenticated, 6)
	r.clock = r.clock.Add(time.Hour + time.Second)
	step("a withdrawn key fails once the set is refreshed", r.auth(token(k1)), ErrUnauthenticated, 7)
}

// TestBearerRemembersVerified checks what a remembered token may not
// outlive: its expiry, and the key set it was verified against.
func TestBearerRemembersVerified(t *testing.T) {
	r := newRotation(t)
	i, k1, k2 := r.idp, r.k1, r.k2

	short := r.token(k1, 2*time.Minute)
	for range 3 {
		if err := r.auth(short); err != nil {
			t.Fatal(err)
		}
	}
	r.clock = r.clock.Add(3*time.Minute + time.Second) // past exp and the clock skew
	if err := r.auth(short); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an expired token, verified before: %v, want ErrUnauthenticated", err)
	}

	long := r.token(k1, 3*time.Hour)
	if err := r.auth(long); err != nil {
		t.Fatal(err)
	}
	i.publish(k2) // k1 withdrawn
	r.clock = r.clock.Add(time.Hour + time.Second)
	if err := r.auth(long); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a token of a withdrawn key, verified before the set was refreshed: %v, want ErrUnauthenticated", err)
	}
	if n := i.fetches.Load(); n != 2 {
		t.Errorf("%d fetches of the key set, want 2", n)
	}
}

func TestBearerProviderUnavailable(t *testing.T) {
	i := newIDP(t)
	i.setStatus(http.StatusServiceUnavailable)
	b := newBearer(t, BearerOptions{JWKSURL: i.srv.URL + "/jwks", Audience: "krest"})
	_, err := b.Authenticate(context.Background(), sign(t, signingKey(t, "ec", "k"), jose.ES256, map[string]any{"aud": "krest", "sub": "a", "exp": time.Now().Add(time.Hour).Unix()}))
	if !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewBearerDiscovery(t *testing.T) {
	i := newIDP(t)
	key := signingKey(t, "rsa", "k")
	i.publish(key)
	b := newBearer(t, BearerOptions{Issuer: i.srv.URL, Audience: "krest"})
	if b.keys.url != i.srv.URL+"/jwks" {
		t.Fatalf("jwks url %q", b.keys.url)
	}

	i.mu.Lock()
	i.issuer = "https://other.example"
	i.mu.Unlock()
	if _, err := NewBearer(context.Background(), BearerOptions{Issuer: i.srv.URL, Audience: "krest"}); err == nil || !strings.Contains(err.Error(), "other.example") {
		t.Fatalf("issuer mismatch: err = %v", err)
	}

	i.mu.Lock()
	i.issuer, i.jwksURI = "", "http://keys.example/jwks"
	i.mu.Unlock()
	if _, err := NewBearer(context.Background(), BearerOptions{Issuer: i.srv.URL, Audience: "krest"}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("http jwks_uri: err = %v", err)
	}

	i.srv.Close()
	if _, err := NewBearer(context.Background(), BearerOptions{Issuer: i.srv.URL, Audience: "krest"}); err == nil {
		t.Fatal("an unreachable issuer: no error")
	}
}

func TestNewBearerRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts BearerOptions
		ok   bool
	}{
		{"https", BearerOptions{JWKSURL: "https://idp.example/jwks", Audience: "a"}, true},
		{"http on 127.0.0.1", BearerOptions{JWKSURL: "http://127.0.0.1:8080/jwks", Audience: "a"}, true},
		{"http on ::1", BearerOptions{JWKSURL: "http://[::1]/jwks", Audience: "a"}, true},
		{"http on localhost", BearerOptions{JWKSURL: "http://localhost/jwks", Audience: "a"}, true},
		{"http elsewhere", BearerOptions{JWKSURL: "http://idp.example/jwks", Audience: "a"}, false},
		{"http on a private address", BearerOptions{JWKSURL: "http://10.0.0.1/jwks", Audience: "a"}, false},
		{"http issuer", BearerOptions{Issuer: "http://idp.example", JWKSURL: "https://idp.example/jwks", Audience: "a"}, false},
		{"another scheme", BearerOptions{JWKSURL: "file:///etc/jwks", Audience: "a"}, false},
		{"no audience", BearerOptions{JWKSURL: "https://idp.example/jwks"}, false},
		{"no issuer or JWKS", BearerOptions{Audience: "a"}, false},
		{"HS256", BearerOptions{JWKSURL: "https://idp.example/jwks", Audience: "a", Algorithms: []string{"RS256", "HS256"}}, false},
		{"none", BearerOptions{JWKSURL: "https://idp.example/jwks", Audience: "a", Algorithms: []string{"none"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBearer(context.Background(), tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
