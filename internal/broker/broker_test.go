package broker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/broker"
	"krest/internal/kafkatest"
)

// start runs an in-memory broker with partitions per new topic on a free
// loopback port; t.Cleanup closes it.
func start(t *testing.T, partitions int) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Options{Addr: fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t)), InMemory: true, Partitions: partitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestStart starts the broker, talks Kafka to it, and checks that a second
// one on the same address fails with broker.ErrAddrInUse.
func TestStart(t *testing.T) {
	b := start(t, 2)
	addr := b.Addrs()[0]
	cl := kafkatest.NewClient(t, b.Addrs())
	if err := cl.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := broker.Start(broker.Options{Addr: addr, InMemory: true}); !errors.Is(err, broker.ErrAddrInUse) {
		t.Errorf("second broker on %s: %v, want broker.ErrAddrInUse", addr, err)
	}
}

// partitionsOf returns the partition count of topic, or an error wrapping
// kerr.UnknownTopicOrPartition when it does not exist. It asks in a way
// that creates nothing.
func partitionsOf(t *testing.T, b *broker.Broker, topic string) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(kafkatest.NewClient(t, b.Addrs())).ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	return len(tds[topic].Partitions), tds[topic].Err
}

// TestAutoCreateTopics checks that the broker creates a missing topic, with
// the configured partition count, for a kgo client that asks
// (AllowAutoTopicCreation), as a default Kafka broker does, and not for one
// that does not.
func TestAutoCreateTopics(t *testing.T) {
	b := start(t, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	polite := kafkatest.NewClient(t, b.Addrs(), kgo.UnknownTopicRetries(1))
	err := polite.ProduceSync(ctx, &kgo.Record{Topic: "unasked", Value: []byte("v")}).FirstErr()
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("produce without AllowAutoTopicCreation: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	if _, err := partitionsOf(t, b, "unasked"); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("topic unasked: %v; a client that did not ask created it", err)
	}

	eager := kafkatest.NewClient(t, b.Addrs(), kgo.AllowAutoTopicCreation())
	if err := eager.ProduceSync(ctx, &kgo.Record{Topic: "asked", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce with AllowAutoTopicCreation: %v", err)
	}
	if n, err := partitionsOf(t, b, "asked"); err != nil || n != 5 {
		t.Errorf("topic asked: %d partitions, %v; want 5", n, err)
	}
}

// TestKcatProducesToNewTopic runs what a newcomer runs against "krest
// broker": kcat -P to a topic that does not exist yet. librdkafka's
// producer asks for auto-creation by default, so the topic appears and
// holds the record.
func TestKcatProducesToNewTopic(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat): skipping the librdkafka check of auto-created topics")
	}
	b := start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", b.Addrs()[0], "-P", "-t", "newtopic", "-k", "k1")
	cmd.Stdin = strings.NewReader("hello\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	if n, err := partitionsOf(t, b, "newtopic"); err != nil || n != 3 {
		t.Fatalf("topic newtopic: %d partitions, %v; want 3", n, err)
	}
	recs := kafkatest.Collect(t, b.Addrs(), "newtopic", 1, 10*time.Second)
	if r := recs[0]; string(r.Key) != "k1" || !bytes.Equal(r.Value, []byte("hello")) {
		t.Errorf("record = %q: %q, want k1: hello", r.Key, r.Value)
	}
}
