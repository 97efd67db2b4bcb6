package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/admin"
	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/metrics"
	"krest/internal/produce"
)

// update rewrites the golden files under testdata/ from the answers the
// tests get: go test ./internal/api/ -run 'V2|V3' -update. Review the diff
// against upstream's documentation before committing it.
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the answers received")

// proxyEnv is krest's REST Proxy routes, both versions on, over real HTTP
// in front of an in-process kfake broker.
type proxyEnv struct {
	url     string
	srv     *Server
	brokers []string
	cl      *kgo.Client     // a client on the broker, for tests to set up state
	fake    *kafkatest.Fake // the broker, for tests to stop
}

// newProxyEnv starts a kfake broker (cluster id "kfake", one broker) and
// krest's handler on a free loopback port, its options changed by each of
// opts; t.Cleanup stops both.
func newProxyEnv(t testing.TB, opts ...func(*Options)) *proxyEnv {
	t.Helper()
	return newProxyEnvAdmin(t, nil, opts...)
}

// newProxyEnvAdmin is newProxyEnv with the admin made with adminOpts.
func newProxyEnvAdmin(t testing.TB, adminOpts []admin.Opt, opts ...func(*Options)) *proxyEnv {
	t.Helper()
	return newProxyEnvOn(t, kafkatest.NewFake(t), adminOpts, opts...)
}

// newProxyEnvOn is newProxyEnvAdmin on the broker fake.
func newProxyEnvOn(t testing.TB, fake *kafkatest.Fake, adminOpts []admin.Opt, opts ...func(*Options)) *proxyEnv {
	t.Helper()
	o, cl := proxyOptions(t, fake.Brokers(), adminOpts)
	for _, opt := range opts {
		opt(&o)
	}
	srv, url := startServer(t, o)
	return &proxyEnv{url: url, srv: srv, brokers: fake.Brokers(), cl: cl, fake: fake}
}

// proxyOptions returns the options of a proxyEnv's server on brokers, its
// admin made with adminOpts, and the client it is made on.
func proxyOptions(t testing.TB, brokers []string, adminOpts []admin.Opt) (Options, *kgo.Client) {
	t.Helper()
	cl := kafkatest.NewClient(t, brokers)
	pcl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{
		Options: kafka.Options{Brokers: brokers}, MaxBufferedRecords: 100_000,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pcl.Close)
	o := Options{
		Logger:            slog.New(slog.DiscardHandler),
		Metrics:           metrics.New(),
		Producer:          produce.New(pcl, produce.Options{Timeout: 3 * time.Second}),
		MaxRequestRecords: 1000,
		Admin:             admin.New(cl, adminOpts...),
		APIV2:             true,
		APIV3:             true,
		Limits:            Limits{MaxBodyBytes: 1 << 20, MaxInFlight: 64},
	}
	return o, cl
}

// reply is one HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path with body (none if empty) and the given header
// pairs, and returns the answer.
func (e *proxyEnv) do(t *testing.T, method, path, body string, header ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

// mustDo is do that fails the test unless the status is want.
func (e *proxyEnv) mustDo(t *testing.T, want int, method, path, body string, header ...string) reply {
	t.Helper()
	r := e.do(t, method, path, body, header...)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// volatile matches what changes from run to run in an answer, with what
// goldens show instead: the HTTP address, the broker port, and the random
// part of consumer member ids (kfake's static members are
// "<instance id>-<32 hex digits>", Kafka's end in a UUID).
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`http://127\.0\.0\.1:\d+`), "http://krest"},
	{regexp.MustCompile(`"port": \d+`), `"port": 9092`},
	{regexp.MustCompile(`kgo-[0-9a-f-]{36}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{32}\b`), "MEMBER_ID"},
	{regexp.MustCompile(`"timestamp": "[^"]*"`), `"timestamp": "TIMESTAMP"`}, // of produced records
}

// golden formats an answer (status line, content type, indented JSON
// body), normalises what varies between runs, and compares it with
// testdata/<name>.golden, or writes that file with -update.
func golden(t *testing.T, name string, r reply) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(http.StatusText(r.status) + "\n")
	b.WriteString("Content-Type: " + r.header.Get("Content-Type") + "\n")
	if loc := r.header.Get("Location"); loc != "" {
		b.WriteString("Location: " + loc + "\n")
	}
	if len(r.body) > 0 {
		b.WriteString("\n")
		if err := json.Indent(&b, r.body, "", "  "); err != nil {
			t.Fatalf("%s: body is not JSON: %v: %s", name, err, r.body)
		}
	}
	got := b.Bytes()
	for _, v := range volatile {
		got = v.re.ReplaceAll(got, []byte(v.with))
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
