package identity

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/auth"
	"krest/internal/auth/authtest"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

// TestPoolSize holds one client: alice, then bob, then alice again
// evicts the least recently used each time, so that alice's second
// request logs in anew; each evicted client is closed.
func TestPoolSize(t *testing.T) {
	e := newEnv(t)
	m := &counts{}
	opts := e.options(ModePassthrough, m)
	opts.Size = 1
	p := newPool(t, opts)
	var producers []*produce.Producer
	for _, user := range []string{"alice", "bob", "alice"} {
		ctx, cancel := context.WithCancel(t.Context())
		prod, _, err := p.For(ctx, e.principal(t, user))
		cancel() // the request ends
		if err != nil {
			t.Fatal(err)
		}
		producers = append(producers, prod)
	}
	if producers[0] == producers[2] {
		t.Error("alice's client survived bob's")
	}
	m.want(t, "3 created, 2 evicted for size and closed", func(c *counts) bool {
		return c.created == 3 && c.evicted[reasonSize] == 2 && c.closed == 2
	})
	if err := write(t, producers[0], "a"); !errors.Is(err, produce.ErrClosed) && !errors.Is(err, kafka.ErrUnavailable) {
		t.Errorf("an evicted client still produces: %v", err)
	}
}

// TestPoolIdle evicts a client unused for the idle timeout; the next
// request logs in anew.
func TestPoolIdle(t *testing.T) {
	e := newEnv(t)
	m := &counts{}
	opts := e.options(ModePassthrough, m)
	opts.IdleTimeout = 200 * time.Millisecond
	p := newPool(t, opts)
	alice := e.principal(t, "alice")
	ctx, cancel := context.WithCancel(t.Context())
	first, _, err := p.For(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	m.want(t, "an idle eviction, closed", func(c *counts) bool { return c.evicted[reasonIdle] == 1 && c.closed == 1 })
	second, _, err := p.For(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if first == second || m.get(func(c *counts) int { return c.created }) != 2 {
		t.Errorf("alice's idle client was reused: %s", m)
	}
}

// TestPoolEvictedInUse evicts a client while a request uses it: it
// closes only when that request ends, and until then its records are
// answered.
func TestPoolEvictedInUse(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "a")
	e.allow(t, "User:alice", false, []string{"a"}, kadm.OpWrite)
	m := &counts{}
	opts := e.options(ModePassthrough, m)
	opts.Size, opts.CloseTimeout = 1, time.Minute
	p := newPool(t, opts)
	request, end := context.WithCancel(t.Context())
	alice, _, err := p.For(request, e.principal(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	aliceClient := p.lru.Front().Value.(*client)
	p.mu.Unlock()
	if _, _, err := p.For(t.Context(), e.principal(t, "bob")); err != nil {
		t.Fatal(err)
	}
	if m.get(func(c *counts) int { return c.evicted[reasonSize] }) != 1 {
		t.Fatalf("alice's client not evicted: %s", m)
	}
	p.mu.Lock()
	closing := aliceClient.closing
	p.mu.Unlock()
	if closing {
		t.Error("alice's client is closing while her request uses it")
	}
	if err := write(t, alice, "a"); err != nil {
		t.Errorf("alice's request, its client evicted, producing: %v", err)
	}
	end()
	m.want(t, "alice's client closed once her request ended", func(c *counts) bool { return c.closed == 1 })
}

// TestPoolExpiry evicts the client of a principal whose credentials
// expire, the expiry margin before: its next request logs in anew.
func TestPoolExpiry(t *testing.T) {
	e := newEnv(t)
	m := &counts{}
	opts := e.options(ModePassthrough, m)
	opts.ExpiryMargin = time.Second
	p := newPool(t, opts)
	alice := e.principal(t, "alice")
	alice.Expiry = time.Now().Add(2 * time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	if _, _, err := p.For(ctx, alice); err != nil {
		t.Fatal(err)
	}
	cancel()
	m.want(t, "an expiry eviction", func(c *counts) bool { return c.evicted[reasonExpiry] == 1 })
	if time.Until(alice.Expiry) < 500*time.Millisecond {
		t.Errorf("evicted %s before expiry, not about the 1s margin", time.Until(alice.Expiry))
	}
}

// TestPoolOneLogin sends many concurrent first requests of one principal:
// one client logs in, and every request gets it.
func TestPoolOneLogin(t *testing.T) {
	e := newEnv(t)
	m := &counts{}
	p := newPool(t, e.options(ModePassthrough, m))
	alice := e.principal(t, "alice")
	var wg sync.WaitGroup
	got := make([]*produce.Producer, 20)
	for i := range got {
		wg.Go(func() {
			prod, _, err := p.For(t.Context(), alice)
			if err != nil {
				t.Error(err)
			}
			got[i] = prod
		})
	}
	wg.Wait()
	for _, prod := range got {
		if prod != got[0] {
			t.Fatal("concurrent requests got different clients")
		}
	}
	if n := m.get(func(c *counts) int { return c.created }); n != 1 {
		t.Errorf("%d clients for one login", n)
	}
}

// TestPoolClose closes every client and refuses requests after.
func TestPoolClose(t *testing.T) {
	e := newEnv(t)
	m := &counts{}
	p, err := New(e.options(ModePassthrough, m))
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "bob"} {
		ctx, cancel := context.WithCancel(t.Context())
		if _, _, err := p.For(ctx, e.principal(t, user)); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	p.Close()
	if m.get(func(c *counts) int { return c.closed }) != 2 || m.get(func(c *counts) int { return c.evicted[reasonShutdown] }) != 2 {
		t.Errorf("after Close: %s", m)
	}
	if _, _, err := p.For(t.Context(), e.principal(t, "alice")); !errors.Is(err, ErrClosed) {
		t.Errorf("For after Close: %v", err)
	}
}

// oauthFake is a kfake that takes any OAUTHBEARER login through its
// ControlKey hooks (kfake has no OAUTHBEARER of its own) and records the
// tokens sent, refusing those in refuse.
type oauthFake struct {
	*kafkatest.Fake
	mu     sync.Mutex
	tokens []string
	refuse map[string]bool
}

func newOAuthFake(t *testing.T) *oauthFake {
	t.Helper()
	f := &oauthFake{Fake: kafkatest.NewFake(t), refuse: map[string]bool{}}
	f.ControlKey(kmsg.SASLHandshake.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		f.KeepControl()
		resp := req.(*kmsg.SASLHandshakeRequest).ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{kafka.MechanismOAuthBearer}
		return resp, nil, true
	})
	f.ControlKey(kmsg.SASLAuthenticate.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		f.KeepControl()
		auth := req.(*kmsg.SASLAuthenticateRequest)
		resp := auth.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		// The client-first message: "n,,\x01auth=Bearer <token>\x01\x01".
		_, token, _ := bytes.Cut(auth.SASLAuthBytes, []byte("auth=Bearer "))
		token, _, _ = bytes.Cut(token, []byte("\x01"))
		f.mu.Lock()
		defer f.mu.Unlock()
		f.tokens = append(f.tokens, string(token))
		if f.refuse[string(token)] {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		}
		return resp, nil, true
	})
	return f
}

func (f *oauthFake) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokens...)
}

// TestBearerPassthrough logs a bearer principal in with OAUTHBEARER and
// its own token; a new token is a new client with the new token, and a
// token the brokers refuse is 401.
func TestBearerPassthrough(t *testing.T) {
	f := newOAuthFake(t)
	issuer := authtest.NewIssuer(t)
	bearer, err := auth.NewBearer(t.Context(), auth.BearerOptions{Issuer: issuer.URL(), Audience: "krest"})
	if err != nil {
		t.Fatal(err)
	}
	m := &counts{}
	p := newPool(t, Options{Mode: ModePassthrough, Kafka: kafka.Options{Brokers: f.Brokers()},
		MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20, ProduceTimeout: 5 * time.Second, Metrics: m})
	principal := func(token string) auth.Principal {
		t.Helper()
		pr, err := bearer.Authenticate(t.Context(), token)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}

	first := issuer.Token(t, "alice", "krest", map[string]any{"n": 1})
	prod, _, err := p.For(t.Context(), principal(first))
	if err != nil {
		t.Fatal(err)
	}
	if seen := f.seen(); len(seen) == 0 || seen[0] != first {
		t.Fatalf("the broker saw tokens %q, want the caller's", seen)
	}
	second := issuer.Token(t, "alice", "krest", map[string]any{"n": 2})
	again, _, err := p.For(t.Context(), principal(second))
	if err != nil {
		t.Fatal(err)
	}
	if again == prod || m.get(func(c *counts) int { return c.created }) != 2 {
		t.Errorf("a new token reused the old client: %s", m)
	}
	if seen := f.seen(); seen[len(seen)-1] != second {
		t.Errorf("the last login sent %q, want the new token", seen[len(seen)-1])
	}

	refused := issuer.Token(t, "alice", "krest", map[string]any{"n": 3})
	f.mu.Lock()
	f.refuse[refused] = true
	f.mu.Unlock()
	if _, _, err := p.For(t.Context(), principal(refused)); !errors.Is(err, ErrLoginRefused) {
		t.Errorf("a refused token: %v, want ErrLoginRefused", err)
	}
}

// TestBearerExpiry evicts a bearer principal's client before its token
// expires, never after: the next request, with a fresh token, logs in
// anew; an expired token is refused without a login.
func TestBearerExpiry(t *testing.T) {
	f := newOAuthFake(t)
	issuer := authtest.NewIssuer(t)
	bearer, err := auth.NewBearer(t.Context(), auth.BearerOptions{Issuer: issuer.URL(), Audience: "krest", ClockSkew: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := &counts{}
	p := newPool(t, Options{Mode: ModePassthrough, Kafka: kafka.Options{Brokers: f.Brokers()},
		MaxBufferedRecords: 10, MaxBufferedBytes: 1 << 20, ProduceTimeout: 5 * time.Second, Metrics: m,
		ExpiryMargin: time.Second})
	exp := time.Now().Add(3 * time.Second)
	token := issuer.Token(t, "alice", "krest", map[string]any{"exp": exp.Unix()})
	pr, err := bearer.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if _, _, err := p.For(ctx, pr); err != nil {
		t.Fatal(err)
	}
	cancel()
	m.want(t, "an expiry eviction", func(c *counts) bool { return c.evicted[reasonExpiry] == 1 })
	if !time.Now().Before(pr.Expiry) {
		t.Errorf("evicted after the token expired")
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if time.Now().Before(pr.Expiry) {
			return errors.New("the token has not expired yet")
		}
		return nil
	})
	logins := len(f.seen())
	if _, _, err := p.For(t.Context(), pr); !errors.Is(err, ErrLoginRefused) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired token: %v", err)
	}
	if len(f.seen()) != logins {
		t.Error("an expired token was sent to the brokers")
	}
}

// TestMechanismRefused passes a bearer token on to brokers that take no
// OAUTHBEARER: their UNSUPPORTED_SASL_MECHANISM is a refused login, 401.
func TestMechanismRefused(t *testing.T) {
	e := newEnv(t)
	issuer := authtest.NewIssuer(t)
	bearer, err := auth.NewBearer(t.Context(), auth.BearerOptions{Issuer: issuer.URL(), Audience: "krest"})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := bearer.Authenticate(t.Context(), issuer.Token(t, "alice", "krest", nil))
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, e.options(ModePassthrough, &counts{}))
	if _, _, err := p.For(t.Context(), pr); !errors.Is(err, ErrLoginRefused) {
		t.Errorf("a token to a SCRAM listener: %v, want ErrLoginRefused", err)
	}
}
