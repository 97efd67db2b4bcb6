package identity

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/auth"
	"krest/internal/auth/authtest"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// env is a kfake that requires SCRAM-SHA-512 over TLS and checks ACLs,
// with krest as its superuser and alice and bob as its users; and the
// Basic authenticator of an HTTP users file that knows alice, bob and
// carol (whom Kafka does not know).
type env struct {
	fake    *kafkatest.Fake
	krest   *kafka.Security // krest's own login: the TLS the pool keeps
	adm     *kadm.Client    // as krest, the superuser
	basic   *auth.Basic
	users   string // the users file
	brokers []string
}

// newEnv starts an env; t.Cleanup stops it.
func newEnv(t testing.TB) *env {
	t.Helper()
	f, sec := kafkatest.NewSecureFake(t, kafka.MechanismScramSHA512, kfake.EnableACLs(),
		kfake.User(kafka.MechanismScramSHA512, "alice", "alice-pw"), kfake.User(kafka.MechanismScramSHA512, "bob", "bob-pw"))
	krest, err := kafka.NewSecurity(kafka.SecurityOptions{TLS: kafka.TLSOptions{Enabled: true, CAFile: sec.Certs.CAFile},
		SASL: kafka.SASLOptions{Mechanism: kafka.MechanismScramSHA512, User: sec.User, Password: sec.Password}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: f, krest: krest, adm: kadm.NewClient(kafkatest.NewClient(t, f.Brokers())), brokers: f.Brokers(),
		users: authtest.UsersFile(t, "alice", "alice-pw", "bob", "bob-pw", "carol", "carol-pw")}
	e.basic, err = auth.NewBasic(auth.BasicOptions{File: e.users, ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.basic.Close() })
	return e
}

// options are a pool's options on e, in mode, counting into m.
func (e *env) options(mode string, m *counts) Options {
	return Options{
		Mode: mode, Kafka: kafka.Options{Brokers: e.brokers, ClientID: "krest", Security: e.krest},
		MaxBufferedRecords: 100, MaxBufferedBytes: 1 << 20, ProduceTimeout: 5 * time.Second,
		Metrics: m, ReloadInterval: -1,
	}
}

// newPool starts a pool with opts; t.Cleanup closes it.
func newPool(t testing.TB, opts Options) *Pool {
	t.Helper()
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// principal authenticates user with its password in the users file.
func (e *env) principal(t testing.TB, user string) auth.Principal {
	t.Helper()
	p, err := e.basic.Authenticate("127.0.0.1", user, user+"-pw")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// allow lets principal do ops on the topics (literal names, or a prefix
// when prefixed).
func (e *env) allow(t *testing.T, principal string, prefixed bool, topics []string, ops ...kadm.ACLOperation) {
	t.Helper()
	pattern := kadm.ACLPatternLiteral
	if prefixed {
		pattern = kadm.ACLPatternPrefixed
	}
	b := kadm.NewACLs().Allow(principal).AllowHosts().Topics(topics...).ResourcePatternType(pattern).Operations(ops...)
	res, err := e.adm.CreateACLs(context.Background(), b)
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		t.Fatalf("creating ACLs: %v", err)
	}
}

// setSCRAM creates or changes user's SCRAM-SHA-512 password in Kafka.
func (e *env) setSCRAM(t *testing.T, user, password string) {
	t.Helper()
	res, err := e.adm.AlterUserSCRAMs(context.Background(), nil,
		[]kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: password}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// createTopics creates topics as the superuser.
func (e *env) createTopics(t *testing.T, topics ...string) {
	t.Helper()
	res, err := e.adm.CreateTopics(context.Background(), 1, 1, nil, topics...)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// counts is the pool's metrics, counted.
type counts struct {
	mu                             sync.Mutex
	created, closed, refusedLogins int
	evicted                        map[string]int
}

func (c *counts) IdentityClientCreated() { c.mu.Lock(); c.created++; c.mu.Unlock() }
func (c *counts) IdentityClientEvicted(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.evicted == nil {
		c.evicted = map[string]int{}
	}
	c.evicted[reason]++
}
func (c *counts) IdentityClientClosed() { c.mu.Lock(); c.closed++; c.mu.Unlock() }
func (c *counts) IdentityLoginRefused() { c.mu.Lock(); c.refusedLogins++; c.mu.Unlock() }

// String describes the counts, for failures.
func (c *counts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("created %d, closed %d, evicted %v, logins refused %d", c.created, c.closed, c.evicted, c.refusedLogins)
}

// get returns a count under the lock.
func (c *counts) get(f func(*counts) int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f(c)
}

// want polls until cond holds of the counts.
func (c *counts) want(t *testing.T, what string, cond func(*counts) bool) {
	t.Helper()
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		c.mu.Lock()
		ok := cond(c)
		c.mu.Unlock()
		if !ok {
			return fmt.Errorf("want %s; %s", what, c)
		}
		return nil
	})
}

// write writes one record to topic through p, returning its error.
func write(t *testing.T, p interface {
	Write(context.Context, *kgo.Record) error
}, topic string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Write(ctx, &kgo.Record{Topic: topic, Value: []byte("v")})
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
