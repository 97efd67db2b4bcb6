// Package kafkatest holds test helpers shared across packages, as
// net/http/httptest does for HTTP: a Kafka cluster to run against (the
// in-process kfake broker, or real Apache Kafka when KREST_TEST_KAFKA=kafka),
// clients on it, and polling.
package kafkatest

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is a Kafka cluster a test runs against.
type Cluster interface {
	// Brokers returns the seed addresses.
	Brokers() []string
	// Stop takes every node down, keeping its data and addresses.
	Stop(t testing.TB)
	// Start brings every node back on the same addresses with the same data.
	Start(t testing.TB)
}

var (
	_ Cluster = (*Fake)(nil)
	_ Cluster = (*Kafka)(nil)
)

// NewCluster starts the cluster chosen by KREST_TEST_KAFKA: "kfake" (the
// default) for an in-process kfake broker, "kafka" for one node of real
// Apache Kafka (skipping the test when Java or Maven is missing), secured
// as KREST_TEST_KAFKA_SECURITY says (see SecurityKind; SecurityOf returns
// how to reach it, and NewClient uses it). t.Cleanup stops it and wipes its
// data.
func NewCluster(t testing.TB) Cluster {
	t.Helper()
	security := SecurityKind(t)
	switch kind := os.Getenv("KREST_TEST_KAFKA"); kind {
	case "", "kfake":
		switch security {
		case SecuritySCRAM:
			f, _ := NewSecureFake(t, "SCRAM-SHA-512")
			return f
		case SecurityOAuth:
			t.Skip("KREST_TEST_KAFKA_SECURITY=oauth needs real Kafka (KREST_TEST_KAFKA=kafka): kfake has no OAUTHBEARER")
		}
		return NewFake(t)
	case "kafka":
		SkipIfNoKafka(t)
		return StartKafka(t, KafkaOptions{Security: security})
	default:
		t.Fatalf("KREST_TEST_KAFKA=%q: want kfake or kafka", kind)
		return nil
	}
}

// Fake is a single in-process kfake broker persisted in a test directory,
// so Stop and Start keep its records and committed offsets.
type Fake struct {
	*kfake.Cluster
	port int
	dir  string
	opts []kfake.Opt // kept for Start
}

// NewFake starts a kfake broker on a free loopback port, with opts (such as
// kfake.TLS or kfake.EnableSASL) after its defaults, as Start restarts it;
// t.Cleanup closes it.
func NewFake(t testing.TB, opts ...kfake.Opt) *Fake {
	t.Helper()
	dir, err := os.MkdirTemp("", "kfake")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{port: FreePort(t), dir: dir, opts: opts}
	f.start(t)
	t.Cleanup(func() {
		f.Stop(t)
		// A request the broker was still finishing may write after Close;
		// the directory goes regardless.
		_ = os.RemoveAll(dir)
	})
	return f
}

func (f *Fake) start(t testing.TB) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1), kfake.Ports(f.port), kfake.DataDir(f.dir), kfake.DefaultNumPartitions(3),
	}, f.opts...)...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	f.Cluster = c
}

// Brokers returns the broker's address.
func (f *Fake) Brokers() []string {
	return []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port))}
}

// Stop closes the broker, keeping its data.
func (f *Fake) Stop(testing.TB) {
	if f.Cluster != nil {
		f.Cluster.Close()
		f.Cluster = nil
	}
}

// Start reopens the broker on the same port with the same data.
func (f *Fake) Start(t testing.TB) {
	t.Helper()
	if f.Cluster == nil {
		f.start(t)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NewClient returns a client on brokers, secured as their cluster
// requires (SecurityOf); t.Cleanup closes it.
func NewClient(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	if s := SecurityOf(brokers); s != nil {
		base = append(base, s.ClientOpts(t)...)
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Collect reads topic from the start with a fresh client until it has n
// records or timeout passes, and fails the test if it got fewer. It returns
// what it read, which may be more than n.
func Collect(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := NewClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s in %s", len(recs), n, topic, timeout)
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// Header returns the value of r's header key, "" when it has none.
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// WaitFor polls cond every 20ms until it returns nil, failing the test with
// cond's last error after timeout.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		<-tick.C
	}
}
