// Package authtest makes credentials for tests: an OpenID Connect issuer
// on a loopback server that signs tokens, and bcrypt users files.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"
)

// Issuer is an OpenID Connect issuer on a loopback httptest server: a
// discovery document and a key set of one RSA key, which signs its
// tokens.
type Issuer struct {
	srv *httptest.Server
	key jose.JSONWebKey
}

// NewIssuer starts an issuer; t.Cleanup stops it.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	i := &Issuer{key: jose.JSONWebKey{Key: rk, KeyID: "test-key", Use: "sig", Algorithm: string(jose.RS256)}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": i.srv.URL, "jwks_uri": i.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(i.JWKS())
	})
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	return i
}

// URL is the issuer's URL (the iss of its tokens).
func (i *Issuer) URL() string { return i.srv.URL }

// JWKS is the issuer's public key set, JSON.
func (i *Issuer) JWKS() []byte {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.key.Public()}})
	return b
}

// Token returns a token for subject sub and audience aud, valid for an
// hour, with the extra claims (which win over the defaults).
func (i *Issuer) Token(t testing.TB, sub, aud string, extra map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": i.srv.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	return Sign(t, i.key, jose.RS256, claims)
}

// Sign signs claims with key by alg, as a JWT.
func Sign(t testing.TB, key jose.JSONWebKey, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Hash returns a bcrypt hash of password at bcrypt.MinCost, as
// `htpasswd -B` writes them but cheap.
func Hash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// UsersFile writes a users file of user:password pairs (hashed) in a test
// directory and returns its path.
func UsersFile(t testing.TB, pairs ...string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString(pairs[i] + ":" + Hash(t, pairs[i+1]) + "\n")
	}
	path := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
