package identity

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"krest/internal/auth"
	"krest/internal/auth/authtest"
	"krest/internal/kafka"
)

// TestPassthrough acts as alice with her own SCRAM login: the brokers let
// her produce to a, and deny her b and deleting a; bob, with no ACLs, may
// do neither.
func TestPassthrough(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "a", "b")
	e.allow(t, "User:alice", false, []string{"a"}, kadm.OpWrite)
	m := &counts{}
	p := newPool(t, e.options(ModePassthrough, m))
	ctx := t.Context()

	alice, aliceAdm, err := p.For(ctx, e.principal(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, alice, "a"); err != nil {
		t.Errorf("alice producing to a: %v", err)
	}
	if err := write(t, alice, "b"); !errors.Is(err, kafka.ErrNotAuthorized) {
		t.Errorf("alice producing to b: %v, want kafka.ErrNotAuthorized", err)
	}
	if err := aliceAdm.DeleteTopic(ctx, "a"); !errors.Is(err, kafka.ErrNotAuthorized) {
		t.Errorf("alice deleting a: %v, want kafka.ErrNotAuthorized", err)
	}
	bob, _, err := p.For(ctx, e.principal(t, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, bob, "a"); !errors.Is(err, kafka.ErrNotAuthorized) {
		t.Errorf("bob producing to a: %v, want kafka.ErrNotAuthorized", err)
	}
	if got := m.get(func(c *counts) int { return c.created }); got != 2 {
		t.Errorf("%d clients for two logins", got)
	}
	again, _, err := p.For(ctx, e.principal(t, "alice"))
	if err != nil || again != alice {
		t.Errorf("alice's second request got another producer (%v)", err)
	}
}

// TestLoginRefused logs in as carol, whom Kafka does not know: 401, at
// once, with her password nowhere in the error. Once carol is made a
// Kafka user, at runtime, her next request logs in, without a new pool.
func TestLoginRefused(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "c")
	m := &counts{}
	p := newPool(t, e.options(ModePassthrough, m))
	carol := e.principal(t, "carol")

	start := time.Now()
	_, _, err := p.For(t.Context(), carol)
	if !errors.Is(err, ErrLoginRefused) || !errors.Is(err, auth.ErrUnauthenticated) || !errors.Is(err, kafka.ErrAuthentication) {
		t.Fatalf("carol's login: %v, want ErrLoginRefused", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("refused after %s, not at once", took)
	}
	if strings.Contains(err.Error(), "carol-pw") {
		t.Errorf("the error holds the password: %v", err)
	}
	if m.get(func(c *counts) int { return c.refusedLogins }) != 1 || m.get(func(c *counts) int { return c.created }) != 0 {
		t.Errorf("after a refused login: %s", m)
	}

	e.setSCRAM(t, "carol", "carol-pw")
	e.allow(t, "User:carol", false, []string{"c"}, kadm.OpWrite)
	prod, _, err := p.For(t.Context(), carol)
	if err != nil {
		t.Fatalf("carol once a Kafka user: %v", err)
	}
	if err := write(t, prod, "c"); err != nil {
		t.Errorf("carol producing to c: %v", err)
	}
}

// TestNoIdentity asks for principals with no credentials to pass on: a
// client certificate's and the anonymous one are refused, 403, saying
// why and what to set.
func TestNoIdentity(t *testing.T) {
	e := newEnv(t)
	p := newPool(t, e.options(ModePassthrough, &counts{}))
	for _, tt := range []struct {
		name string
		p    auth.Principal
		want string
	}{
		{"client certificate", auth.Principal{Name: "User:CN=reports", Method: auth.MethodMTLS}, "a client certificate carries no credentials to pass on to Kafka; map the principal to a Kafka login in KREST_KAFKA_IDENTITY_MAP_FILE"},
		{"anonymous", auth.Anonymous, "this request brought none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := p.For(t.Context(), tt.p)
			if !errors.Is(err, ErrNoIdentity) || !errors.Is(err, kafka.ErrNotAuthorized) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrNoIdentity saying %q", err, tt.want)
			}
		})
	}
}

// TestNewPasswordNewClient changes alice's password, in Kafka and in the
// users file: her next request is a new client that logs in with the new
// password, and the old one is left to idle out.
func TestNewPasswordNewClient(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "a")
	e.allow(t, "User:alice", false, []string{"a"}, kadm.OpWrite)
	m := &counts{}
	p := newPool(t, e.options(ModePassthrough, m))
	before, _, err := p.For(t.Context(), e.principal(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	e.setSCRAM(t, "alice", "new-pw")
	// A principal with the new password is what her next request brings.
	after, _, err := p.For(t.Context(), principalWithPassword(t, "alice", "new-pw"))
	if err != nil {
		t.Fatalf("alice with her new password: %v", err)
	}
	if after == before {
		t.Fatal("the new password got the old client")
	}
	if err := write(t, after, "a"); err != nil {
		t.Errorf("producing with the new password: %v", err)
	}
	if got := m.get(func(c *counts) int { return c.created }); got != 2 {
		t.Errorf("%d clients, want 2: %s", got, m)
	}
}

// principalWithPassword returns the principal Basic authentication gives
// user with password.
func principalWithPassword(t *testing.T, user, password string) auth.Principal {
	t.Helper()
	basic, err := auth.NewBasic(auth.BasicOptions{File: authtest.UsersFile(t, user, password), ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer basic.Close()
	p, err := basic.Authenticate("127.0.0.1", user, password)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdminAsCaller checks that the admin For returns acts as the caller
// too: alice lists only the topics she may describe.
func TestAdminAsCaller(t *testing.T) {
	e := newEnv(t)
	e.createTopics(t, "a", "b", "alice-1")
	e.allow(t, "User:alice", false, []string{"a"}, kadm.OpDescribe)
	e.allow(t, "User:alice", true, []string{"alice-"}, kadm.OpDescribe)
	p := newPool(t, e.options(ModePassthrough, &counts{}))
	_, adm, err := p.For(t.Context(), e.principal(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := adm.TopicNames(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a,alice-1" {
		t.Errorf("alice sees %v, want [a alice-1]", names)
	}
}
