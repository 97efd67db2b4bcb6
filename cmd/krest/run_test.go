package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/consume"
	"krest/internal/kafkatest"
)

// TestSeedContract is the seed's curl: 201 "message produced", the record on
// topic messages with key 123 and the exact value, and the consumer's line.
func TestSeedContract(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","))
	k.waitReady(t)

	resp, body := k.post(t, "/api/messages", "application/json", `{"id":"123","content":"Hello, Kafka!"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, `"status":"message produced"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	recs := kafkatest.Collect(t, c.Brokers(), "messages", 1, 10*time.Second)
	if got := string(recs[0].Key); got != "123" {
		t.Errorf("key %q, want 123", got)
	}
	if got, want := string(recs[0].Value), `{"id":"123","content":"Hello, Kafka!"}`; got != want {
		t.Errorf("value %s, want %s", got, want)
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if !strings.Contains(k.logs.String(), `msg="consumed message" id=123 content="Hello, Kafka!" topic=messages partition=`) {
			return errors.New("no consumed line logged")
		}
		return nil
	})
}

func TestGeneratedID(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	a := k.produceMessage(t, "", "no id")
	b := k.produceMessage(t, "", "no id")
	if len(a.ID) != 36 || a.ID == b.ID {
		t.Fatalf("generated ids %q and %q: want two distinct UUIDs", a.ID, b.ID)
	}
	recs := kafkatest.Collect(t, c.Brokers(), "messages", 2, 10*time.Second)
	for _, r := range recs {
		if string(r.Key) != a.ID && string(r.Key) != b.ID {
			t.Errorf("record key %q is not a generated id", r.Key)
		}
	}
}

// TestBadInput sends each class of bad input and checks its JSON error and
// that nothing reached Kafka.
func TestBadInput(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false", "--max-body-bytes", "1048576")
	k.waitReady(t)
	for _, tt := range []struct {
		name, method, path, contentType, body string
		status, code                          int
	}{
		{"broken JSON", "POST", "/api/messages", "application/json", `{"id":"1",`, 400, 40001},
		{"not an object", "POST", "/api/messages", "application/json", `["a"]`, 400, 40001},
		{"trailing data", "POST", "/api/messages", "application/json", `{"id":"1","content":"x"} {}`, 400, 40001},
		{"id not a string", "POST", "/api/messages", "application/json", `{"id":1,"content":"x"}`, 400, 40002},
		{"content not a string", "POST", "/api/messages", "application/json", `{"id":"1","content":{}}`, 400, 40002},
		{"content missing", "POST", "/api/messages", "application/json", `{"id":"1"}`, 400, 40002},
		{"unknown field", "POST", "/api/messages", "application/json", `{"id":"1","content":"x","extra":1}`, 400, 40002},
		{"empty body", "POST", "/api/messages", "application/json", ``, 400, 40003},
		{"not JSON content type", "POST", "/api/messages", "text/plain", `{"id":"1","content":"x"}`, 415, 41501},
		{"no content type", "POST", "/api/messages", "", `{"id":"1","content":"x"}`, 415, 41501},
		{"2 MB body", "POST", "/api/messages", "application/json", `{"id":"1","content":"` + strings.Repeat("x", 2<<20) + `"}`, 413, 41301},
		{"wrong method", "GET", "/api/messages", "", ``, 405, 405},
		{"unknown route", "POST", "/api/nope", "application/json", `{}`, 404, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, k.url+tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				ErrorCode int    `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || e.ErrorCode != tt.code || e.Message == "" {
				t.Errorf("got %d %+v, want %d with error_code %d", resp.StatusCode, e, tt.status, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
	if n := endOffsets(t, c.Brokers(), "messages"); n != 0 {
		t.Errorf("bad input wrote %d records", n)
	}
}

// TestDeadLetter writes an undecodable record between two good ones: it
// lands on messages.dlq with headers saying why and where, and the consumer
// goes on to the next record.
func TestDeadLetter(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","))
	k.waitReady(t)
	k.produceMessage(t, "before", "ok")
	cl := kafkatest.NewClient(t, c.Brokers())
	bad := &kgo.Record{Topic: "messages", Key: []byte("bad"), Value: []byte("not json"), Partition: 0}
	if err := cl.ProduceSync(context.Background(), bad).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k.produceMessage(t, "after", "ok")

	dead := kafkatest.Collect(t, c.Brokers(), "messages.dlq", 1, 15*time.Second)[0]
	if string(dead.Value) != "not json" || string(dead.Key) != "bad" {
		t.Errorf("dead letter %q=%q", dead.Key, dead.Value)
	}
	headers := map[string]string{}
	for _, h := range dead.Headers {
		headers[h.Key] = string(h.Value)
	}
	if headers[consume.HeaderTopic] != "messages" || headers[consume.HeaderPartition] != strconv.Itoa(int(bad.Partition)) ||
		headers[consume.HeaderOffset] != strconv.FormatInt(bad.Offset, 10) || !strings.Contains(headers[consume.HeaderError], "not a message") {
		t.Errorf("dead letter headers %v, want where %d@%d came from and why", headers, bad.Partition, bad.Offset)
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if ids := consumedIDs(k.logs.String()); ids["before"] == 0 || ids["after"] == 0 {
			return fmt.Errorf("consumed %v, want before and after", ids)
		}
		return nil
	})
}

// TestBrokerDown points krest at a closed port: it serves, reports not
// ready, answers produce with 503 (50301, Retry-After: 1) within the
// timeout, and recovers without a restart once a broker listens there.
// With no broker to write a produce request to, the record is certainly
// not written, so the answer is 503, never the "maybe" of 504.
func TestBrokerDown(t *testing.T) {
	c := kafkatest.NewCluster(t)
	c.Stop(t)
	timeout := 2 * time.Second
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--produce-timeout", timeout.String())

	code, body := k.get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"error_code":50303`) {
		t.Errorf("readyz: %d %s", code, body)
	}
	start := time.Now()
	resp, body := k.post(t, "/api/messages", "application/json", `{"id":"1","content":"x"}`)
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"error_code":50301`) {
		t.Errorf("produce with broker down: %d %s, want 503 with error_code 50301", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if took > timeout+2*time.Second {
		t.Errorf("produce answered after %s, want about %s", took, timeout)
	}

	// Back up, the broker is found within krest's metadata refresh and
	// retry backoff (about a second each); until then produce answers 503.
	c.Start(t)
	back := time.Now()
	k.waitReady(t)
	ready := time.Since(back)
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		resp, body := k.post(t, "/api/messages", "application/json", `{"id":"2","content":"back"}`)
		switch {
		case resp.StatusCode == http.StatusCreated:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
			return fmt.Errorf("produce after the broker came back: %d %s", resp.StatusCode, body)
		}
		t.Fatalf("produce after the broker came back: %d %s", resp.StatusCode, body)
		return nil
	})
	t.Logf("broker back: ready after %s, produced after %s", ready.Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
	kafkatest.Collect(t, c.Brokers(), "messages", 1, 10*time.Second)
	if n := endOffsets(t, c.Brokers(), "messages"); n != 1 {
		t.Errorf("topic holds %d records, want 1: a 503 promises the record was not written", n)
	}
}

// TestShutdownFlushes stops krest while clients are producing: run returns
// nil and every acknowledged message is in the topic.
func TestShutdownFlushes(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	stopping := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopping:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				resp, err := http.Post(k.url+"/api/messages", "application/json",
					strings.NewReader(`{"id":"`+id+`","content":"x"}`))
				if err != nil {
					return // the server has closed
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 200 {
			return fmt.Errorf("%d acknowledged", len(acked))
		}
		return nil
	})
	if err := k.stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	close(stopping)
	wg.Wait()
	recs := kafkatest.Collect(t, c.Brokers(), "messages", len(acked), 15*time.Second)
	found := map[string]bool{}
	for _, r := range recs {
		found[string(r.Key)] = true
	}
	for id := range acked {
		if !found[id] {
			t.Errorf("acknowledged %s not in the topic", id)
		}
	}
}

// TestKcatReadsProduced reads what krest produced with librdkafka's kcat.
func TestKcatReadsProduced(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	k.produceMessage(t, "123", "Hello, Kafka!")
	out, err := exec.Command(kcat, append(kcatSecurity(c.Brokers()), "-b", c.Brokers()[0], "-C", "-t", "messages", "-e", "-q", "-f", "%k %s\n")...).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), `123 {"id":"123","content":"Hello, Kafka!"}`; got != want {
		t.Errorf("kcat read %q, want %q", got, want)
	}
}

// endOffsets sums the end offsets of topic's partitions.
func endOffsets(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	adm := kadm.NewClient(kafkatest.NewClient(t, brokers))
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// TestMetrics checks the request, produce and Kafka client metrics, and that
// labels carry route patterns, never raw paths.
func TestMetrics(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	k.produceMessage(t, "1", "x")
	k.get(t, "/no/such/path")
	req, _ := http.NewRequest("BREW", k.url+"/api/messages", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	code, body := k.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`krest_http_request_duration_seconds_count{code="201",method="POST",route="POST /api/messages"} 1`,
		`krest_http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 1`,
		`krest_produced_records_total 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The client counts a batch in a hook that may run after the record's
	// acknowledgement reached its caller.
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		const want = `kafka_produce_records_total{client="producer",node_id="`
		if _, body := k.get(t, "/metrics"); !strings.Contains(body, want) {
			return fmt.Errorf("metrics lack %s", want)
		}
		return nil
	})
	if strings.Contains(body, "/no/such/path") || strings.Contains(body, "BREW") {
		t.Error("a raw path or method became a label")
	}
}
