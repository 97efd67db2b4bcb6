package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaProperties(t *testing.T) {
	for _, tt := range []struct {
		name  string
		nodes int
		extra map[string]string
		want  []string
	}{
		{
			name:  "one node",
			nodes: 1,
			want: []string{
				"process.roles=broker,controller", "node.id=0", "controller.quorum.voters=0@127.0.0.1:9001",
				"listeners=PLAINTEXT://127.0.0.1:9000,CONTROLLER://127.0.0.1:9001",
				"default.replication.factor=1", "min.insync.replicas=1", "offsets.topic.replication.factor=1",
				"transaction.state.log.min.isr=1", "auto.create.topics.enable=false",
			},
		},
		{
			name:  "three nodes",
			nodes: 3,
			want: []string{
				"node.id=0", "controller.quorum.voters=0@127.0.0.1:9001,1@127.0.0.1:9003,2@127.0.0.1:9005",
				"advertised.listeners=PLAINTEXT://127.0.0.1:9000",
				"default.replication.factor=3", "min.insync.replicas=2", "offsets.topic.replication.factor=3",
				"transaction.state.log.replication.factor=3", "transaction.state.log.min.isr=2",
			},
		},
		{
			name:  "overrides",
			nodes: 1,
			extra: map[string]string{"auto.create.topics.enable": "true", "log.retention.ms": "1000"},
			want:  []string{"auto.create.topics.enable=true", "log.retention.ms=1000"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := &Kafka{dir: "/k"}
			for i := range tt.nodes {
				k.nodes = append(k.nodes, &kafkaNode{id: i, dir: fmt.Sprintf("/k/node-%d", i), port: 9000 + 2*i, controllerPort: 9001 + 2*i})
			}
			lines := strings.Split(string(k.properties(k.nodes[0], tt.extra)), "\n")
			for _, w := range tt.want {
				if !slices.Contains(lines, w) {
					t.Errorf("server.properties lacks %q; got:\n%s", w, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

func TestKafkaLogTail(t *testing.T) {
	dir := t.TempDir()
	k := &Kafka{nodes: []*kafkaNode{{dir: dir}}}
	if got := k.LogTail(0, 2); got != "" {
		t.Errorf("LogTail before any log = %q, want empty", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "kafka.log"), []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		node, n int
		want    string
	}{
		{0, 2, "b\nc"},
		{0, 10, "a\nb\nc"},
		{1, 2, ""},
	} {
		if got := k.LogTail(tt.node, tt.n); got != tt.want {
			t.Errorf("LogTail(%d, %d) = %q, want %q", tt.node, tt.n, got, tt.want)
		}
	}
}

func TestKafkaClusterID(t *testing.T) {
	for range 100 {
		id := kafkaClusterID(t)
		if len(id) != 22 || strings.HasPrefix(id, "-") {
			t.Fatalf("cluster ID %q: want 22 characters not starting with '-'", id)
		}
	}
}

func TestKafkaOneNode(t *testing.T) {
	SkipIfNoKafka(t)
	start := time.Now()
	k := StartKafka(t, KafkaOptions{Nodes: 1})
	t.Logf("Kafka %s, 1 node, ready in %v", k.Version(), time.Since(start).Round(time.Millisecond))

	cl := NewClient(t, k.Brokers())
	kafkaTestCreateTopic(t, cl, "one", 1)
	kafkaTestProduce(t, cl, "one", "a")
	kafkaTestConsume(t, k, "one", "a")

	k.Kill(t, 0)
	start = time.Now()
	k.StartNode(t, 0)
	t.Logf("restarted after SIGKILL in %v", time.Since(start).Round(time.Millisecond))
	kafkaTestProduce(t, cl, "one", "b")
	kafkaTestConsume(t, k, "one", "a", "b")

	start = time.Now()
	k.Stop(t)
	k.Start(t)
	t.Logf("Stop and Start in %v", time.Since(start).Round(time.Millisecond))
	kafkaTestConsume(t, k, "one", "a", "b")

	// A JVM that dies behind the helper's back is started again by Start.
	if err := k.nodes[0].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-k.nodes[0].done
	k.Start(t)
	kafkaTestProduce(t, cl, "one", "c")
	kafkaTestConsume(t, k, "one", "a", "b", "c")
	if tail := k.LogTail(0, 1000); !strings.Contains(tail, "Kafka Server started") {
		t.Errorf("node 0's log does not say it started; tail:\n%s", tail)
	}
}

func TestKafkaThreeNodes(t *testing.T) {
	SkipIfNoKafka(t)
	start := time.Now()
	k := StartKafka(t, KafkaOptions{Nodes: 3})
	t.Logf("Kafka %s, 3 nodes, ready in %v", k.Version(), time.Since(start).Round(time.Millisecond))
	if got := len(k.Brokers()); got != 3 {
		t.Fatalf("Brokers() has %d addresses, want 3", got)
	}

	cl := NewClient(t, k.Brokers())
	adm := kadm.NewClient(cl)
	kafkaTestCreateTopic(t, cl, "three", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Brokers learn of a new topic a moment after CreateTopics returns.
	WaitFor(t, 10*time.Second, func() error {
		m, err := adm.Metadata(ctx, "three")
		if err != nil {
			return err
		}
		if got := m.Topics["three"].Partitions[0].Replicas; len(got) != 3 {
			return fmt.Errorf("topic has replicas %v, want 3 (the default replication factor)", got)
		}
		return nil
	})
	rc, err := adm.DescribeTopicConfigs(ctx, "three")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc[0].Configs {
		if c.Key == "min.insync.replicas" && c.MaybeValue() != "2" {
			t.Errorf("min.insync.replicas = %q, want 2", c.MaybeValue())
		}
	}
	kafkaTestProduce(t, cl, "three", "a")

	leader := k.LeaderOf(t, "three", 0)
	k.Kill(t, leader)
	start = time.Now()
	next := k.LeaderOf(t, "three", 0)
	t.Logf("killed leader %d; node %d leads after %v", leader, next, time.Since(start).Round(time.Millisecond))
	if next == leader {
		t.Fatalf("leader is still the killed node %d", leader)
	}
	// Two of three replicas meet min.insync.replicas=2.
	kafkaTestProduce(t, cl, "three", "b")

	start = time.Now()
	k.StartNode(t, leader)
	t.Logf("restarted node %d in %v", leader, time.Since(start).Round(time.Millisecond))
	k.StopNode(t, next)
	kafkaTestProduce(t, cl, "three", "c")
	k.StartNode(t, next)
	kafkaTestConsume(t, k, "three", "a", "b", "c")

	start = time.Now()
	k.Stop(t)
	t.Logf("stopped 3 nodes in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	k.Start(t)
	t.Logf("started 3 nodes again in %v", time.Since(start).Round(time.Millisecond))
	kafkaTestConsume(t, k, "three", "a", "b", "c")

	// With the whole quorum killed, one node alone cannot register:
	// StartNode returns once it is launched, and Start waits for all.
	for i := range 3 {
		k.Kill(t, i)
	}
	start = time.Now()
	k.StartNode(t, 0)
	k.Start(t)
	t.Logf("recovered from killing all 3 nodes in %v", time.Since(start).Round(time.Millisecond))
	kafkaTestProduce(t, cl, "three", "d")
	kafkaTestConsume(t, k, "three", "a", "b", "c", "d")
}

func kafkaTestCreateTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, nil, topic); err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

func kafkaTestProduce(t *testing.T, cl *kgo.Client, topic, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatalf("producing %q to %s: %v", value, topic, err)
	}
}

// kafkaTestConsume reads the topic from the start with a new client and
// checks it holds exactly want, in order.
func kafkaTestConsume(t *testing.T, k *Kafka, topic string, want ...string) {
	t.Helper()
	var got []string
	for _, r := range Collect(t, k.Brokers(), topic, len(want), 30*time.Second) {
		got = append(got, string(r.Value))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("consumed %q from %s, want %q", got, topic, want)
	}
}

// TestKafkaSecurityProperties checks the listeners of the secured
// clusters: clients on SASL_SSL, the controllers on SASL_PLAINTEXT with
// PLAIN, and for OAUTHBEARER a listener of its own beside the nodes'.
func TestKafkaSecurityProperties(t *testing.T) {
	for _, tt := range []struct {
		kind string
		want []string
	}{
		{SecuritySCRAM, []string{
			"listeners=SASL_SSL://127.0.0.1:9000,CONTROLLER://127.0.0.1:9001",
			"listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
			"listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
			"sasl.mechanism.controller.protocol=PLAIN", "ssl.keystore.type=PEM", "ssl.truststore.type=PEM",
		}},
		{SecurityOAuth, []string{
			"listeners=OAUTH://127.0.0.1:9000,INTERNAL://127.0.0.1:9002,CONTROLLER://127.0.0.1:9001",
			"inter.broker.listener.name=INTERNAL",
			"listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER",
			"listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
		}},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			k := &Kafka{dir: t.TempDir()}
			if err := k.secure(t, tt.kind); err != nil {
				t.Fatal(err)
			}
			k.nodes = []*kafkaNode{{id: 0, dir: k.dir, port: 9000, controllerPort: 9001, internalPort: 9002}}
			lines := strings.Split(string(k.properties(k.nodes[0], nil)), "\n")
			for _, w := range tt.want {
				if !slices.Contains(lines, w) {
					t.Errorf("server.properties lacks %q; got:\n%s", w, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// TestKafkaSecurity starts one node of each secured cluster: its clients
// read and write over SASL_SSL, and a wrong password, a token signed by
// another key or an expired token is refused with SASL_AUTHENTICATION_FAILED.
func TestKafkaSecurity(t *testing.T) {
	SkipIfNoKafka(t)
	for _, kind := range []string{SecuritySCRAM, SecurityOAuth} {
		t.Run(kind, func(t *testing.T) {
			start := time.Now()
			k := StartKafka(t, KafkaOptions{Security: kind})
			t.Logf("Kafka %s, 1 node, %s, ready in %v", k.Version(), kind, time.Since(start).Round(time.Millisecond))
			if SecurityOf(k.Brokers()) != k.Security() || k.Security() == nil {
				t.Fatal("SecurityOf does not know the cluster")
			}
			cl := NewClient(t, k.Brokers())
			kafkaTestCreateTopic(t, cl, "secure", 1)
			kafkaTestProduce(t, cl, "secure", "a")
			kafkaTestConsume(t, k, "secure", "a")

			refused := []Security{*k.Security()}
			switch kind {
			case SecuritySCRAM:
				refused[0].Password = "wrong"
			case SecurityOAuth:
				other := newIssuer(t, t.TempDir())
				refused[0].TokenFile = other.tokenFile(t, t.TempDir(), "krest", time.Hour)
				expired := *k.Security()
				expired.TokenFile = filepath.Join(t.TempDir(), "expired.jwt")
				if err := os.WriteFile(expired.TokenFile, []byte(k.Token(t, "krest", -time.Minute)), 0o600); err != nil {
					t.Fatal(err)
				}
				refused = append(refused, expired)
			}
			for _, s := range refused {
				bad, err := kgo.NewClient(append(s.ClientOpts(t), kgo.SeedBrokers(k.Brokers()...), kgo.RequestRetries(0))...)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err = kadm.NewClient(bad).ListTopics(ctx)
				cancel()
				bad.Close()
				if !errors.Is(err, kerr.SaslAuthenticationFailed) {
					t.Errorf("refused login: %v, want SASL_AUTHENTICATION_FAILED", err)
				}
			}
		})
	}
}
