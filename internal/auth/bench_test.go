package auth

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"
)

// BenchmarkBasic compares a cached login with a bcrypt check at the
// default cost, which the cache saves each request from.
func BenchmarkBasic(b *testing.B) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.DefaultCost)
	for _, bb := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"bcrypt", -1}} {
		b.Run(bb.name, func(b *testing.B) {
			ba, _ := newBasic(b, "alice:"+string(h)+"\n", BasicOptions{ReloadInterval: -1, CacheTTL: bb.ttl})
			for b.Loop() {
				if _, err := ba.Authenticate("192.0.2.1", "alice", "pw"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBearer verifies a token per algorithm family.
func BenchmarkBearer(b *testing.B) {
	t := b
	i := newIDP(t)
	keys := map[jose.SignatureAlgorithm]jose.JSONWebKey{jose.RS256: signingKey(t, "rsa", "r"), jose.ES256: signingKey(t, "ec", "e"), jose.EdDSA: signingKey(t, "ed", "d")}
	i.publish(keys[jose.RS256], keys[jose.ES256], keys[jose.EdDSA])
	be, err := NewBearer(context.Background(), BearerOptions{JWKSURL: i.srv.URL + "/jwks", Audience: "krest", GroupsClaim: "groups"})
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			tok := sign(t, keys[alg], alg, map[string]any{"aud": "krest", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(), "groups": []string{"a", "b"}})
			for b.Loop() {
				if _, err := be.Authenticate(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPolicyAllow decides against a policy of 1,000 rules over 100
// principals, and filters a listing of 1,000 topics.
func BenchmarkPolicyAllow(b *testing.B) {
	var f strings.Builder
	f.WriteString("rules:\n")
	for i := range 1000 {
		fmt.Fprintf(&f, "  - {principal: User:u%d, permission: allow, resource: topic, pattern: prefixed, name: t%d., operations: [read]}\n", i%100, i)
	}
	pol, err := ParsePolicy([]byte(f.String()))
	if err != nil {
		b.Fatal(err)
	}
	p := Principal{Name: "User:u7", Groups: []string{"Group:g1", "Group:g2"}}
	b.Run("allow", func(b *testing.B) {
		for b.Loop() {
			if ok, _ := pol.Allow(p, ResourceTopic, "t907.x", OpDescribe); !ok {
				b.Fatal("denied")
			}
		}
	})
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("t%d.x", i)
	}
	b.Run("filter-1000", func(b *testing.B) {
		for b.Loop() {
			if got := pol.Filter(p, ResourceTopic, OpRead, names); len(got) != 10 {
				b.Fatal(len(got))
			}
		}
	})
}
