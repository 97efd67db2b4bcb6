package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"
)

// The auth rows: krest's POST /api/messages with every request logging in, by Basic (a bcrypt users
// file, at bcrypt's default cost, as `htpasswd -B` writes it; krest caches a verified login) or by an
// RS256 JWT bearer token whose key set the bench serves on loopback. Each row sends one credential on
// every request, and compares with the krest row, which sends none.

// benchUser is the principal of the auth rows.
const benchUser = "bench"

// startKrestBasic runs krest with Basic logins, and sends one on every request.
func startKrestBasic(ctx context.Context, b *bench, topic string) (*instance, error) {
	const password = "bench-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	users := filepath.Join(b.tmp, "users-"+strconv.FormatInt(seqs.Add(1), 10))
	if err := os.WriteFile(users, []byte(benchUser+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}
	p, base, err := b.startKrest(ctx, b.krest, topic, "bench-"+topic, "KREST_AUTH=basic", "KREST_AUTH_BASIC_USERS_FILE="+users)
	if err != nil {
		return nil, err
	}
	login := "Basic " + base64.StdEncoding.EncodeToString([]byte(benchUser+":"+password))
	return authInstance(p, base+"/api/messages", topic, login, p.stop), nil
}

// startKrestJWT runs krest with bearer tokens checked against a key set the bench serves, and sends one
// token, valid for a day, on every request.
func startKrestJWT(ctx context.Context, b *bench, topic string) (*instance, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: "bench", Use: "sig", Algorithm: string(jose.RS256)}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		srv.Close()
		return nil, err
	}
	const audience = "krest-bench"
	now := time.Now()
	token, err := jwt.Signed(signer).Claims(map[string]any{"sub": benchUser, "aud": audience, "iat": now.Unix(),
		"nbf": now.Unix(), "exp": now.Add(24 * time.Hour).Unix()}).Serialize()
	if err != nil {
		srv.Close()
		return nil, err
	}
	p, base, err := b.startKrest(ctx, b.krest, topic, "bench-"+topic, "KREST_AUTH=bearer",
		"KREST_AUTH_JWT_JWKS_URL=http://"+ln.Addr().String()+"/jwks", "KREST_AUTH_JWT_AUDIENCE="+audience)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return authInstance(p, base+"/api/messages", topic, "Bearer "+token, func() {
		p.stop()
		srv.Close()
	}), nil
}

// authInstance is singleInstance with the Authorization header authorization on every request. It
// names no URL for other load generators: wrk's script sends no credentials.
func authInstance(p *proc, url, topic, authorization string, stop func()) *instance {
	return &instance{proc: p, topic: topic, sender: singleSender(url, authorization), close: stop}
}
