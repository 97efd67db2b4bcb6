package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/consumers"
	"krest/internal/kafkatest"
)

// consumerManager returns a manager of consumer instances (node
// "node1") on the brokers the returned slice is set to before the first
// request; t.Cleanup closes it.
func consumerManager(t *testing.T, copts consumers.Options) (*consumers.Manager, *[]string) {
	t.Helper()
	brokers := new([]string)
	copts.Node = "node1"
	copts.NewClient = func(o ...kgo.Opt) (*kgo.Client, error) {
		return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(*brokers...)}, o...)...)
	}
	m, err := consumers.New(copts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m, brokers
}

// consumerEnv is a proxyEnv whose v2 consumer instances live in a
// manager on its broker (consumerManager), with opts changed by each of
// mod.
func consumerEnv(t *testing.T, copts consumers.Options, mod ...func(*Options)) *proxyEnv {
	t.Helper()
	m, brokers := consumerManager(t, copts)
	e := newProxyEnv(t, append([]func(*Options){func(o *Options) { o.Consumers = m }}, mod...)...)
	*brokers = e.brokers
	return e
}

// produceRecords creates topic with one partition and produces n records
// to it, with fixed timestamps, keys "k<i>" (JSON strings), JSON values {"n":i} and two
// headers, one repeated.
func (e *proxyEnv) produceRecords(t *testing.T, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf(`"k%d"`, i)), Value: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Timestamp: time.UnixMilli(1700000000000 + int64(i)),
			Headers:   []kgo.RecordHeader{{Key: "h", Value: []byte("a")}, {Key: "h", Value: []byte("b")}, {Key: "none"}}})
	}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

const v2Type = "application/vnd.kafka.v2+json"

// readRecords polls GET records of instance path until it answers at
// least one record, and returns that answer.
func (e *proxyEnv) readRecords(t *testing.T, path, accept string, header ...string) reply {
	t.Helper()
	var r reply
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		r = e.do(t, "GET", path+"/records?timeout=500", "", append([]string{"Accept", accept}, header...)...)
		if r.status != 200 {
			t.Fatalf("records: %d %s", r.status, r.body)
		}
		if string(r.body) == "[]\n" {
			return errors.New("no records yet")
		}
		return nil
	})
	return r
}

// TestV2ConsumerQuickstart follows upstream's v2 consumer quick start and
// compares each answer with the one upstream documents, byte for byte.
func TestV2ConsumerQuickstart(t *testing.T) {
	e := consumerEnv(t, consumers.Options{}, func(o *Options) {
		o.AdvertisedURL = "http://localhost:8082"
		o.BareConsumerRecords = true
	})
	e.setupTopic(t, "binarytest", 1, nil)
	r := e.mustDo(t, 200, "POST", "/topics/binarytest", `{"records":[{"value":"S2Fma2E="}]}`, "Content-Type", mediaV2Binary)
	if !bytes.Contains(r.body, []byte(`"offset":0`)) {
		t.Fatalf("produce answered %s", r.body)
	}
	const base = "/consumers/my_binary_consumer/instances/my_consumer_instance"
	for _, step := range []struct {
		method, path, body, accept string
		status                     int
		want                       string
	}{
		{"POST", "/consumers/my_binary_consumer", `{"name": "my_consumer_instance", "format": "binary", "auto.offset.reset": "earliest"}`, v2Type, 200,
			`{"instance_id":"my_consumer_instance","base_uri":"http://localhost:8082/consumers/my_binary_consumer/instances/my_consumer_instance"}`},
		{"POST", base + "/subscription", `{"topics":["binarytest"]}`, v2Type, 204, ""},
		{"GET", base + "/records", "", mediaV2Binary, 200, `[{"topic":"binarytest","key":null,"value":"S2Fma2E=","partition":0,"offset":0}]`},
		{"DELETE", base, "", v2Type, 204, ""},
	} {
		var r reply
		if step.method == "GET" {
			r = e.readRecords(t, base, step.accept)
		} else {
			r = e.mustDo(t, step.status, step.method, step.path, step.body, "Content-Type", v2Type, "Accept", step.accept)
		}
		if got := strings.TrimSpace(string(r.body)); got != step.want {
			t.Errorf("%s %s answered\n%s\nwant\n%s", step.method, step.path, got, step.want)
		}
	}
	e.mustDo(t, 404, "GET", base+"/subscription", "")
}

// TestV2Consumers checks every consumer route's answer, and its errors,
// against its golden file.
func TestV2Consumers(t *testing.T) {
	e := consumerEnv(t, consumers.Options{MaxInstances: 4})
	e.produceRecords(t, "orders", 3)
	const (
		g = "/consumers/grp"
		a = g + "/instances/a"
		// b assigns partitions: a group of its own, as Kafka takes a
		// commit outside group management only for a group without
		// members.
		solo = "/consumers/solo"
		b    = solo + "/instances/b"
	)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		header                   []string
	}{
		{"create", "POST", g, `{"name":"a","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false","fetch.min.bytes":"1","consumer.request.timeout.ms":1000}`, 200, nil},
		{"create_generated", "POST", g, `{}`, 200, nil},
		{"create_exists", "POST", g, `{"name":"a"}`, 409, nil},
		{"create_bad_reset", "POST", g, `{"name":"x","auto.offset.reset":"smallest"}`, 422, nil},
		{"create_bad_format", "POST", g, `{"name":"x","format":"xml"}`, 422, nil},
		{"create_bad_timeout", "POST", g, `{"name":"x","consumer.request.timeout.ms":"soon"}`, 422, nil},
		{"create_bad_fetch", "POST", g, `{"name":"x","fetch.min.bytes":-1}`, 422, nil},
		{"create_bad_commit", "POST", g, `{"name":"x","auto.commit.enable":"yes"}`, 422, nil},
		{"create_bad_name", "POST", g, `{"name":"a/b"}`, 422, nil},
		{"create_avro", "POST", g, `{"name":"x","format":"avro"}`, 415, nil},
		{"create_unknown_field", "POST", g, `{"name":"x","color":"red"}`, 400, nil},
		{"subscription_empty", "GET", a + "/subscription", "", 200, nil},
		{"records_unsubscribed", "GET", a + "/records?timeout=0", "", 409, []string{"Accept", mediaV2JSON}},
		{"subscribe", "POST", a + "/subscription", `{"topics":["orders"]}`, 204, nil},
		{"subscribe_both", "POST", a + "/subscription", `{"topics":["orders"],"topic_pattern":"o.*"}`, 400, nil},
		{"subscription", "GET", a + "/subscription", "", 200, nil},
		{"assign_subscribed", "POST", a + "/assignments", `{"partitions":[{"topic":"orders","partition":0}]}`, 409, nil},
		{"records_format_mismatch", "GET", a + "/records", "", 406, []string{"Accept", mediaV2Binary}},
		{"records_avro", "GET", a + "/records", "", 415, []string{"Accept", "application/vnd.kafka.avro.v2+json"}},
		{"records_bad_timeout", "GET", a + "/records?timeout=x", "", 400, []string{"Accept", mediaV2JSON}},
		{"not_found", "GET", g + "/instances/nope/subscription", "", 404, nil},
		{"create_b", "POST", solo, `{"name":"b","format":"binary","auto.offset.reset":"earliest"}`, 200, nil},
		{"assign", "POST", b + "/assignments", `{"partitions":[{"topic":"orders","partition":0}]}`, 204, nil},
		{"assignments", "GET", b + "/assignments", "", 200, nil},
		{"subscribe_assigned", "POST", b + "/subscription", `{"topics":["orders"]}`, 409, nil},
		{"positions", "POST", b + "/positions", `{"offsets":[{"topic":"orders","partition":0,"offset":1}]}`, 204, nil},
		{"positions_unassigned", "POST", b + "/positions", `{"offsets":[{"topic":"orders","partition":2,"offset":1}]}`, 409, nil},
		{"positions_end", "POST", b + "/positions/end", `{"partitions":[{"topic":"orders","partition":0}]}`, 204, nil},
		{"positions_beginning", "POST", b + "/positions/beginning", `{"partitions":[{"topic":"orders","partition":0}]}`, 204, nil},
		{"commit", "POST", b + "/offsets", `{"offsets":[{"topic":"orders","partition":0,"offset":1}]}`, 200, nil},
		{"committed", "GET", b + "/offsets", `{"partitions":[{"topic":"orders","partition":0},{"topic":"orders","partition":1}]}`, 200, nil},
		{"commit_unassigned", "POST", b + "/offsets", `{"offsets":[{"topic":"orders","partition":1,"offset":1}]}`, 409, nil},
		{"commit_bad", "POST", b + "/offsets", `{"offsets":[{"topic":"orders","partition":0,"offset":-1}]}`, 400, nil},
		{"create_past_cap", "POST", g, `{"name":"c"}`, 201, nil}, // the status is checked below
		{"unsubscribe", "DELETE", a + "/subscription", "", 204, nil},
		{"delete", "DELETE", a, "", 204, nil},
		{"delete_again", "DELETE", a, "", 404, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := append([]string{"Content-Type", v2Type}, tt.header...)
			r := e.do(t, tt.method, tt.path, tt.body, h...)
			want := tt.status
			if tt.name == "create_past_cap" {
				// Instances so far: a, the generated one, b: this is the
				// fourth, the cap; the next is refused.
				want = 200
				if r.status == want {
					r = e.do(t, tt.method, tt.path, `{"name":"d"}`, h...)
					want = 503
				}
			}
			if r.status != want {
				t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
			}
			golden(t, "v2_consumer_"+tt.name, r)
		})
	}

	t.Run("records", func(t *testing.T) {
		e.mustDo(t, 204, "POST", b+"/positions/beginning", `{"partitions":[{"topic":"orders","partition":0}]}`, "Content-Type", v2Type)
		golden(t, "v2_consumer_records_binary", e.readRecords(t, b, mediaV2Binary))
	})
	t.Run("records_json", func(t *testing.T) {
		const j = solo + "/instances/j"
		e.mustDo(t, 200, "POST", solo, `{"name":"j","format":"json"}`, "Content-Type", v2Type)
		e.mustDo(t, 204, "POST", j+"/assignments", `{"partitions":[{"topic":"orders","partition":0}]}`, "Content-Type", v2Type)
		e.mustDo(t, 204, "POST", j+"/positions", `{"offsets":[{"topic":"orders","partition":0,"offset":1}]}`, "Content-Type", v2Type)
		golden(t, "v2_consumer_records_json", e.readRecords(t, j, mediaV2JSON))
		e.mustDo(t, 200, "POST", j+"/offsets", "", "Content-Type", v2Type)
		r := e.mustDo(t, 200, "GET", j+"/offsets", `{"partitions":[{"topic":"orders","partition":0}]}`, "Content-Type", v2Type)
		if !bytes.Contains(r.body, []byte(`"offset":3`)) {
			t.Errorf("after an empty-body commit of offsets 1 and 2, committed %s, want offset 3", r.body)
		}
	})
}

// TestV2ConsumerUndelivered closes the connection of a read before its
// answer is taken: the next read answers the same records, and an
// empty-body commit commits none of them.
func TestV2ConsumerUndelivered(t *testing.T) {
	e := consumerEnv(t, consumers.Options{})
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 1, 1, nil, "big"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for range n {
		recs = append(recs, &kgo.Record{Topic: "big", Value: bytes.Repeat([]byte("x"), 16<<10)})
	}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	const inst = "/consumers/g/instances/a"
	e.mustDo(t, 200, "POST", "/consumers/g", `{"name":"a","auto.offset.reset":"earliest"}`, "Content-Type", v2Type)
	e.mustDo(t, 204, "POST", inst+"/assignments", `{"partitions":[{"topic":"big","partition":0}]}`, "Content-Type", v2Type)
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	// Read on a connection that takes the answer's headers and then
	// resets: the answer (over a MiB) cannot all be written to it. The
	// client's small receive buffer keeps krest's writes from all fitting
	// in the sockets' buffers before the reset.
	dialer := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	first := func(r reply) int64 {
		var got []struct{ Offset int64 }
		if err := json.Unmarshal(r.body, &got); err != nil || len(got) == 0 {
			t.Fatalf("records answer %.200s: %v", r.body, err)
		}
		return got[0].Offset
	}
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		conn, err := dialer.Dial("tcp", u.Host)
		if err != nil {
			return err
		}
		fmt.Fprintf(conn, "GET %s/records?timeout=1000 HTTP/1.1\r\nHost: krest\r\nAccept: %s\r\n\r\n", inst, mediaV2Binary)
		head, err := bufio.NewReader(conn).ReadString('\n')
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
		if err != nil || !strings.HasPrefix(head, "HTTP/1.1 200") {
			t.Fatalf("records answered %q, %v", head, err)
		}
		r := e.do(t, "GET", inst+"/offsets", `{"partitions":[{"topic":"big","partition":0}]}`, "Content-Type", v2Type)
		if string(r.body) != `{"offsets":[]}`+"\n" {
			t.Fatalf("committed %s before any delivery", r.body)
		}
		// The empty-body commit commits nothing nobody received.
		e.mustDo(t, 200, "POST", inst+"/offsets", "", "Content-Type", v2Type)
		r = e.mustDo(t, 200, "GET", inst+"/records?timeout=1000&max_bytes=100000", "", "Accept", mediaV2Binary)
		if string(r.body) == "[]\n" {
			return errors.New("no records yet")
		}
		if got := first(r); got != 0 {
			t.Fatalf("after an undelivered read, the next starts at offset %d, want 0", got)
		}
		return nil
	})
	e.mustDo(t, 200, "POST", inst+"/offsets", "", "Content-Type", v2Type)
	r := e.mustDo(t, 200, "GET", inst+"/offsets", `{"partitions":[{"topic":"big","partition":0}]}`, "Content-Type", v2Type)
	if !bytes.Contains(r.body, []byte(`"offset":`)) || bytes.Contains(r.body, []byte(`"offset":0,`)) {
		t.Errorf("after a delivered read, committed %s", r.body)
	}
}

// TestV2ConsumerReadID answers a retried read id with the same batch, and
// a new id with the next records.
func TestV2ConsumerReadID(t *testing.T) {
	e := consumerEnv(t, consumers.Options{})
	e.produceRecords(t, "t", 6)
	const inst = "/consumers/g/instances/a"
	e.mustDo(t, 200, "POST", "/consumers/g", `{"name":"a","auto.offset.reset":"earliest"}`, "Content-Type", v2Type)
	e.mustDo(t, 204, "POST", inst+"/subscription", `{"topics":["t"]}`, "Content-Type", v2Type)
	var first reply
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		first = e.mustDo(t, 200, "GET", inst+"/records?timeout=500&max_bytes=10", "", "Accept", mediaV2Binary, readIDHeader, "read-1")
		if string(first.body) == "[]\n" {
			return errors.New("no records yet")
		}
		return nil
	})
	again := e.mustDo(t, 200, "GET", inst+"/records?max_bytes=1000000", "", "Accept", mediaV2Binary, readIDHeader, "read-1")
	if !bytes.Equal(again.body, first.body) {
		t.Errorf("retried read answered\n%s\nwant\n%s", again.body, first.body)
	}
	next := e.mustDo(t, 200, "GET", inst+"/records?timeout=500", "", "Accept", mediaV2Binary, readIDHeader, "read-2")
	if bytes.Equal(next.body, first.body) || string(next.body) == "[]\n" {
		t.Errorf("a new read id answered %s after %s", next.body, first.body)
	}
	e.mustDo(t, 400, "GET", inst+"/records", "", "Accept", mediaV2Binary, readIDHeader, strings.Repeat("x", 200))
}

// TestV2ConsumerRebalance has two instances of one group share a backlog
// over HTTP: the second joins while the first is mid-way, a commit of a
// partition the first lost is a 409 (40903), and every offset is read by
// one of them.
func TestV2ConsumerRebalance(t *testing.T) {
	e := consumerEnv(t, consumers.Options{})
	const partitions, perPartition = 4, 100
	e.setupTopic(t, "backlog", partitions, nil, perPartition, perPartition, perPartition, perPartition)
	seen := map[string]bool{}
	read := func(inst string) {
		r := e.mustDo(t, 200, "GET", inst+"/records?timeout=200&max_bytes=16", "", "Accept", mediaV2Binary)
		var recs []v2Offset
		if err := json.Unmarshal(r.body, &recs); err != nil {
			t.Fatalf("records %s: %v", r.body, err)
		}
		for _, rec := range recs {
			seen[fmt.Sprintf("%d/%d", rec.Partition, rec.Offset)] = true
		}
	}
	assigned := func(inst string) []v2TopicPartition {
		var got v2PartitionsBody
		if err := json.Unmarshal(e.mustDo(t, 200, "GET", inst+"/assignments", "").body, &got); err != nil {
			t.Fatal(err)
		}
		return got.Partitions
	}
	const a, b = "/consumers/g/instances/a", "/consumers/g/instances/b"
	for _, name := range []string{"a", "b"} {
		e.mustDo(t, 200, "POST", "/consumers/g", `{"name":"`+name+`","auto.offset.reset":"earliest"}`, "Content-Type", v2Type)
	}
	e.mustDo(t, 204, "POST", a+"/subscription", `{"topics":["backlog"]}`, "Content-Type", v2Type)
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		read(a)
		if len(seen) == 0 {
			return errors.New("no records yet")
		}
		return nil
	})
	e.mustDo(t, 200, "POST", a+"/offsets", "", "Content-Type", v2Type)
	before := assigned(a)
	e.mustDo(t, 204, "POST", b+"/subscription", `{"topics":["backlog"]}`, "Content-Type", v2Type)
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		read(a)
		read(b)
		if n := len(assigned(a)); n == 0 || n == len(before) {
			return fmt.Errorf("a holds %d partitions", n)
		}
		return nil
	})
	now := assigned(a)
	var lost v2TopicPartition
	for _, p := range before {
		if !slices.Contains(now, p) {
			lost = p
		}
	}
	r := e.do(t, "POST", a+"/offsets", fmt.Sprintf(`{"offsets":[{"topic":"backlog","partition":%d,"offset":0}]}`, lost.Partition), "Content-Type", v2Type)
	if r.status != 409 || errorCode(t, r) != codeIllegalState {
		t.Errorf("commit of a revoked partition: %d %s, want 409 (40903)", r.status, r.body)
	}
	kafkatest.WaitFor(t, 60*time.Second, func() error {
		read(a)
		read(b)
		if len(seen) < partitions*perPartition {
			return fmt.Errorf("%d of %d offsets read", len(seen), partitions*perPartition)
		}
		return nil
	})
}

// TestV2ConsumerAuthorization checks that subscribing and assigning need
// read on each topic beside read on the group, and that a topic_pattern
// is refused under an authorizer.
func TestV2ConsumerAuthorization(t *testing.T) {
	m, brokers := consumerManager(t, consumers.Options{})
	e := securedEnv(t, `superusers: [User:admin]
rules:
  - {principal: User:alice, permission: allow, resource: group, pattern: literal, name: g, operations: [read]}
  - {principal: User:alice, permission: allow, resource: topic, pattern: literal, name: ok, operations: [read]}
`, func(o *Options) { o.Consumers = m })
	*brokers = e.brokers
	alice := append(basicHeader("alice"), "Content-Type", v2Type)
	const inst = "/consumers/g/instances/a"
	e.mustDo(t, 200, "POST", "/consumers/g", `{"name":"a"}`, alice...)
	for _, tt := range []struct {
		name, path, body string
		status           int
	}{
		{"subscribe allowed", inst + "/subscription", `{"topics":["ok"]}`, 204},
		{"subscribe denied topic", inst + "/subscription", `{"topics":["ok","no"]}`, 403},
		{"pattern", inst + "/subscription", `{"topic_pattern":"o.*"}`, 403},
		{"other group", "/consumers/h", `{"name":"a"}`, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", tt.path, tt.body, alice...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 403 && errorCode(t, r) != codeNotAuthorized {
				t.Errorf("code %d, want %d", errorCode(t, r), codeNotAuthorized)
			}
		})
	}
	e.mustDo(t, 204, "DELETE", inst+"/subscription", "", alice...)
	e.mustDo(t, 403, "POST", inst+"/assignments", `{"partitions":[{"topic":"no","partition":0}]}`, alice...)
	if r := e.mustDo(t, 200, "GET", inst+"/assignments", "", alice...); !bytes.Equal(r.body, []byte(`{"partitions":[]}`+"\n")) {
		t.Errorf("a denied assignment changed it: %s", r.body)
	}
}

// FuzzConsumerBodies checks the invariants of the consumer body decoders
// (decodeConsumerConfig, decodeSubscription, decodePartitions,
// decodeOffsets).
func FuzzConsumerBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"true","fetch.min.bytes":"10","consumer.request.timeout.ms":500}`,
		`{"topics":["a","b"]}`, `{"topic_pattern":"a.*"}`,
		`{"partitions":[{"topic":"t","partition":0}]}`,
		`{"offsets":[{"topic":"t","partition":1,"offset":5,"metadata":"m"}]}`,
		`{}`, `[]`, `{"name":"a/b"}`, `{"fetch.min.bytes":1e99}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(err error) bool {
			if err == nil {
				return true
			}
			if ae := errorFor(err); ae.Status < 400 || ae.Status >= 500 {
				t.Fatalf("error %v answers %d, not a 4xx", err, ae.Status)
			}
			return false
		}
		if name, cfg, err := decodeConsumerConfig(body); check(err) {
			if name != "" && !validInstanceName(name) || cfg.Format != v2FormatBinary && cfg.Format != v2FormatJSON ||
				cfg.FetchMinBytes < 0 || cfg.FetchMinBytes > consumers.MaxFetchMinBytes ||
				cfg.RequestTimeout < 0 || cfg.RequestTimeout > consumers.MaxRequestTimeout {
				t.Fatalf("decoded %q, %+v", name, cfg)
			}
		}
		if topics, pattern, err := decodeSubscription(body); check(err) && (len(topics) > 0) == (pattern != "") {
			t.Fatalf("decoded topics %q and pattern %q", topics, pattern)
		}
		if ps, err := decodePartitions(body); check(err) {
			for _, p := range ps {
				if p.Partition < 0 || p.Topic == "" {
					t.Fatalf("decoded %+v", p)
				}
			}
		}
		if os, err := decodeOffsets(body); check(err) {
			for _, o := range os {
				if o.Partition < 0 || o.Offset < 0 || o.Topic == "" {
					t.Fatalf("decoded %+v", o)
				}
			}
		}
	})
}
