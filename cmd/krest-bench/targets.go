package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"
)

// target is one row group of the produce table.
type target struct {
	name  string // --targets name and JSON key
	title string // row label
	kafka bool   // needs a broker and a topic
	group string // the --targets group that selects it; "" for its name
	// uncharted keeps the target's rows off the charts (its checks compare
	// it with a charted row).
	uncharted bool
	topic     string // the topic the target is bound to; "" for a fresh one
	start     func(ctx context.Context, b *bench, topic string) (*instance, error)
}

// produceTargets are the produce row groups, in table order.
var produceTargets = []target{
	{name: "http", title: "HTTP ceiling (net/http, no Kafka)", start: startRef("http")},
	{name: "client", title: "client ceiling (franz-go ProduceSync)", kafka: true, start: startClient},
	{name: "minimal", title: "minimal net/http gateway (net/http + ProduceSync)", kafka: true, start: startRef("minimal")},
	{name: "fasthttp", title: "minimal fasthttp gateway (fasthttp + ProduceSync)", kafka: true, start: startRef("fasthttp")},
	{name: "classic", title: "classic design (Gorilla Mux + Sarama)", kafka: true, topic: "messages", start: startClassic},
	{name: "krest", title: "krest POST /api/messages", kafka: true, start: startKrestSingle},
	// The older krest of --krest-before or --krest-bin-before, measured beside krest when both are set.
	{name: "krest-before", title: "krest before POST /api/messages", kafka: true, start: startKrestBefore},
	{name: "batch", title: "krest batch produce", kafka: true, start: startKrestBatch},
	{name: "krest-basic", title: "krest POST /api/messages, Basic logins", kafka: true, group: "auth", uncharted: true, start: startKrestBasic},
	{name: "krest-jwt", title: "krest POST /api/messages, JWT bearer tokens", kafka: true, group: "auth", uncharted: true, start: startKrestJWT},
}

// spec is one point of a row group: its load shape.
type spec struct {
	concurrency int  // requests in flight
	size        int  // bytes of one record's JSON message
	batch       int  // records per request
	chart       bool // part of the concurrency sweep the charts draw
}

// instance is a running target.
type instance struct {
	proc   *proc  // the gateway process; nil when the target runs inside the bench
	topic  string // the topic the target writes; "" for none
	owned  bool   // the bench created the topic, so it may delete records from it
	route  string // which route a target with several serves, for the row label
	url    string // where to POST one message, for other load generators; "" for none
	sender func(hc *fasthttp.Client, s spec) sendFunc
	close  func()
}

// pid returns the process whose CPU and memory are the target's.
func (in *instance) pid() int {
	if in.proc == nil {
		return os.Getpid()
	}
	return in.proc.pid()
}

// errSkip marks a target that cannot run here; its rows are reported as skipped.
type errSkip struct{ reason string }

// Error returns the reason.
func (e errSkip) Error() string { return e.reason }

// startRef starts a reference server of kind http, minimal or fasthttp as a child process (see runRef).
func startRef(kind string) func(ctx context.Context, b *bench, topic string) (*instance, error) {
	return func(ctx context.Context, b *bench, topic string) (*instance, error) {
		pprofAddr, err := b.pprofAddr()
		if err != nil {
			return nil, err
		}
		p, base, err := b.startServer(ctx, "ref-"+kind, "/readyz", b.self, func(addr string) ([]string, []string) {
			args := []string{"ref", kind, "--http-addr", addr}
			if kind != "http" {
				args = append(args, "--brokers", b.kafka.brokers, "--topic", topic)
			}
			if pprofAddr != "" {
				args = append(args, "--pprof-addr", pprofAddr)
			}
			return args, nil
		})
		if err != nil {
			return nil, err
		}
		p.setProfiler(pprofAddr)
		return singleInstance(p, base+"/api/messages", topic), nil
	}
}

// startClient returns the client ceiling: ProduceSync from the bench's own goroutines, of one record per
// call, or of a whole batch of s.batch records per call.
func startClient(ctx context.Context, b *bench, topic string) (*instance, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	send := func(_ *fasthttp.Client, s spec) sendFunc {
		return func(ctx context.Context, seq int64) outcome {
			recs := make([]*kgo.Record, s.batch)
			for i := range recs {
				id := strconv.FormatInt(seq, 10)
				if s.batch > 1 {
					id += "-" + strconv.Itoa(i)
				}
				recs[i] = &kgo.Record{Key: []byte(id), Value: messageBody(id, s.size)}
			}
			o := outcome{sent: s.batch}
			for _, r := range cl.ProduceSync(ctx, recs...) {
				if r.Err == nil {
					o.acked++
				} else if o.err == nil {
					o.err = r.Err
				}
			}
			return o
		}
	}
	return &instance{topic: topic, sender: send, close: cl.Close}, nil
}

// startClassic runs the classic design, built when the bench started.
func startClassic(ctx context.Context, b *bench, topic string) (*instance, error) {
	if b.seedErr != nil {
		return nil, b.seedErr
	}
	// It has no readiness route; any HTTP answer means its producer has connected.
	p, base, err := b.startServer(ctx, "seed-app", "/api/messages", b.seedBin, func(addr string) ([]string, []string) {
		return nil, []string{"SEED_BROKERS=" + b.kafka.brokers, "SEED_HTTP_ADDR=" + addr}
	})
	if err != nil {
		return nil, err
	}
	return singleInstance(p, base+"/api/messages", topic), nil
}

// startKrestSingle runs krest for POST /api/messages.
func startKrestSingle(ctx context.Context, b *bench, topic string) (*instance, error) {
	p, base, err := b.startKrest(ctx, b.krest, topic, "bench-"+topic)
	if err != nil {
		return nil, err
	}
	return singleInstance(p, base+"/api/messages", topic), nil
}

// startKrestBefore runs the older krest for POST /api/messages.
func startKrestBefore(ctx context.Context, b *bench, topic string) (*instance, error) {
	p, base, err := b.startKrest(ctx, *b.before, topic, "bench-"+topic)
	if err != nil {
		return nil, err
	}
	return singleInstance(p, base+"/api/messages", topic), nil
}

// startKrestBatch runs krest and probes its batch routes, v3 first; the target is skipped when neither
// answers.
func startKrestBatch(ctx context.Context, b *bench, topic string) (*instance, error) {
	p, base, err := b.startKrest(ctx, b.krest, topic, "bench-"+topic)
	if err != nil {
		return nil, err
	}
	in := &instance{proc: p, topic: topic, close: p.stop}
	hc := newHTTPClient(1)
	var answers []string
	for _, route := range []batchRoute{
		{name: "v3 records:batch", url: fmt.Sprintf("%s/v3/clusters/%s/topics/%s/records:batch", base, url.PathEscape(b.kafka.id), topic),
			contentType: "application/json", body: v3Body, ack: v3Ack},
		{name: "v2 /topics", url: base + "/topics/" + topic, contentType: "application/vnd.kafka.json.v2+json", body: v2Body, ack: v2Ack},
	} {
		o := route.sender(hc, spec{size: b.opt.bodyBytes, batch: 1})(ctx, seqs.Add(1))
		if o.err == nil && o.acked == 1 {
			in.sender, in.route = route.sender, route.name
			return in, nil
		}
		answers = append(answers, fmt.Sprintf("POST %s: %v", route.url, o.err))
	}
	p.stop()
	return nil, errSkip{"no batch route answers yet (" + strings.Join(answers, "; ") + ")"}
}

// singleInstance is an HTTP target that takes one message per POST to url.
func singleInstance(p *proc, url, topic string) *instance {
	return &instance{proc: p, topic: topic, url: url, sender: singleSender(url, ""), close: p.stop}
}

// singleSender POSTs one message a request to url, with the Authorization header authorization unless
// it is empty.
func singleSender(url, authorization string) func(hc *fasthttp.Client, s spec) sendFunc {
	return func(hc *fasthttp.Client, s spec) sendFunc {
		body := func(seq int64) []byte { return messageBody(strconv.FormatInt(seq, 10), s.size) }
		return postSender(hc, url, "application/json", authorization, 1, body, singleAck)
	}
}

// batchRoute is one of krest's batch produce routes.
type batchRoute struct {
	name        string
	url         string
	contentType string
	body        func(seq int64, s spec) []byte
	ack         func(status int, body []byte) (int, error)
}

// bodyRing is how many distinct batch bodies a batch sender cycles through.
const bodyRing = 64

// sender sends batches of s.batch records. A batch's body costs the generator more to build than to send,
// so the bodies are built once, a ring of them with distinct ids, and reused; the records are counted by
// offsets, not by id.
func (r batchRoute) sender(hc *fasthttp.Client, s spec) sendFunc {
	base := seqs.Add(bodyRing) - bodyRing
	ring := make([][]byte, bodyRing)
	for i := range ring {
		ring[i] = r.body(base+int64(i), s)
	}
	return postSender(hc, r.url, r.contentType, "", s.batch, func(seq int64) []byte { return ring[seq%bodyRing] }, r.ack)
}

// postSender POSTs the body of each request to url, with the Authorization header authorization unless
// it is empty, and counts the records ack finds acknowledged.
func postSender(hc *fasthttp.Client, url, contentType, authorization string, records int, body func(seq int64) []byte,
	ack func(status int, body []byte) (int, error)) sendFunc {
	return func(_ context.Context, seq int64) outcome {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType(contentType)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		req.SetBodyRaw(body(seq))
		if err := hc.Do(req, resp); err != nil {
			return outcome{sent: records, err: err}
		}
		status := resp.StatusCode()
		o := outcome{sent: records, status: status, retryAfter: len(resp.Header.Peek("Retry-After")) > 0}
		var err error
		if o.acked, err = ack(status, resp.Body()); err != nil {
			o.err = fmt.Errorf("HTTP %d: %w", status, err)
		}
		return o
	}
}

// singleAck acknowledges the one record of a 2xx answer.
func singleAck(status int, body []byte) (int, error) {
	if status/100 != 2 {
		return 0, errors.New(firstLine(body))
	}
	return 1, nil
}

// v3Ack counts the successes of a 207 answer from the v3 batch route. An answer without failures, as
// krest writes it, is counted by its reports' openings: decoding it would cost the generator more than
// krest spends writing it. The bench's verification counts the topic's records independently.
func v3Ack(status int, body []byte) (int, error) {
	var r struct {
		Successes []json.RawMessage `json:"successes"`
		Failures  []json.RawMessage `json:"failures"`
	}
	if status != http.StatusMultiStatus {
		return 0, errors.New(firstLine(body))
	}
	if reports, ok := bytes.CutPrefix(body, []byte(`{"successes":[`)); ok {
		// Quotes inside strings are escaped, so these openings are the reports'.
		if reports, ok = bytes.CutSuffix(bytes.TrimRight(reports, " \n"), []byte(`],"failures":[]}`)); ok {
			return bytes.Count(reports, []byte(`{"id":`)), nil
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("decode answer: %w", err)
	}
	if len(r.Failures) > 0 {
		return len(r.Successes), fmt.Errorf("%d records failed: %s", len(r.Failures), r.Failures[0])
	}
	return len(r.Successes), nil
}

// v2Ack counts the offsets without an error in a 200 answer from the v2 produce route.
func v2Ack(status int, body []byte) (int, error) {
	var r struct {
		Offsets []struct {
			ErrorCode *int   `json:"error_code"`
			Error     string `json:"error"`
		} `json:"offsets"`
	}
	if status != http.StatusOK {
		return 0, errors.New(firstLine(body))
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("decode answer: %w", err)
	}
	var acked int
	var failure string
	for _, o := range r.Offsets {
		if o.ErrorCode == nil && o.Error == "" {
			acked++
		} else if failure == "" {
			failure = o.Error
		}
	}
	if acked < len(r.Offsets) {
		return acked, fmt.Errorf("%d records failed: %s", len(r.Offsets)-acked, failure)
	}
	return acked, nil
}

// filler pads message contents.
var filler = strings.Repeat("x", 1<<20)

// messageBody returns the JSON message with id, its content padded so the whole is about size bytes.
func messageBody(id string, size int) []byte {
	b := make([]byte, 0, size+len(id)+32)
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","content":"`...)
	b = append(b, filler[:max(0, min(len(filler), size-len(b)-2))]...)
	return append(b, `"}`...)
}

// v3Body returns a v3 batch of s.batch JSON entries.
func v3Body(seq int64, s spec) []byte {
	return batchBody(`{"entries":[`, seq, s, func(b []byte, id string) []byte {
		b = append(b, `{"id":"`...)
		b = append(b, id...)
		b = append(b, `","value":{"type":"JSON","data":`...)
		b = append(b, messageBody(id, s.size)...)
		return append(b, `}}`...)
	})
}

// v2Body returns a v2 JSON produce request of s.batch records keyed by id.
func v2Body(seq int64, s spec) []byte {
	return batchBody(`{"records":[`, seq, s, func(b []byte, id string) []byte {
		b = append(b, `{"key":"`...)
		b = append(b, id...)
		b = append(b, `","value":`...)
		b = append(b, messageBody(id, s.size)...)
		return append(b, '}')
	})
}

// batchBody wraps s.batch entries, with ids seq-0, seq-1, …, in head and `]}`.
func batchBody(head string, seq int64, s spec, entry func(b []byte, id string) []byte) []byte {
	b := make([]byte, 0, s.batch*(s.size+80)+len(head))
	b = append(b, head...)
	for i := range s.batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = entry(b, strconv.FormatInt(seq, 10)+"-"+strconv.Itoa(i))
	}
	return append(b, "]}"...)
}

// firstLine returns the first line of an answer body, shortened, for error messages.
func firstLine(body []byte) string {
	line, _, _ := strings.Cut(string(body), "\n")
	if len(line) > 200 {
		line = line[:200]
	}
	return line
}

// startKrest runs `krest serve` of binary k for topic with consumer group group, with the --krest-env
// settings and then env, and with its profiler on a free address when --profile-dir is set.
func (b *bench) startKrest(ctx context.Context, k krestBinary, topic, group string, env ...string) (*proc, string, error) {
	if k.err != nil {
		return nil, "", k.err
	}
	pprofAddr, err := b.pprofAddr()
	if err != nil {
		return nil, "", err
	}
	readyPath := "/readyz"
	if pprofAddr != "" {
		// krest serves its profiler with its health and metrics on the
		// management listener; an older krest served only the profiler,
		// on KREST_PPROF_ADDR. Each takes the setting it knows.
		env = append(env, "KREST_MGMT_ADDR="+pprofAddr, "KREST_PPROF_ADDR="+pprofAddr)
		readyPath = "/openapi.json" // on the API either way
	}
	p, base, err := b.startServer(ctx, k.name, readyPath, k.bin, func(addr string) ([]string, []string) {
		args := []string{"serve", "--brokers", b.kafka.brokers, "--http-addr", addr, "--topic", topic, "--group", group}
		return args, append(slices.Clone(b.opt.krestEnv), env...)
	})
	if err != nil {
		return nil, "", err
	}
	p.setProfiler(pprofAddr)
	if pprofAddr != "" {
		// Ready once whichever listener serves /readyz says so.
		mgmt := "http://" + pprofAddr + "/readyz"
		err = p.waitReady(ctx, mgmt, func(status int) bool { return status == http.StatusOK || status == http.StatusNotFound }, 60*time.Second)
		if err == nil {
			err = p.waitReady(ctx, base+"/readyz", func(status int) bool { return status == http.StatusOK || status == http.StatusNotFound }, 60*time.Second)
		}
		if err != nil {
			p.stop()
			return nil, "", err
		}
		p.metricsBase = "http://" + pprofAddr
	}
	return p, base, nil
}

// pprofAddr returns a free address for a profiler when --profile-dir is set, and "" otherwise.
func (b *bench) pprofAddr() (string, error) {
	if b.opt.profileDir == "" {
		return "", nil
	}
	return freeAddr()
}

// profile saves a CPU profile of p over the next d in --profile-dir as name.pprof, in the background; the
// returned func waits until it is written. It does nothing for a process without a profiler.
func (b *bench) profile(p *proc, d time.Duration, name string) (wait func()) {
	if p == nil || p.pprofURL == "" || d < time.Second {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := filepath.Join(b.opt.profileDir, name+".pprof")
		err := os.MkdirAll(b.opt.profileDir, 0o755)
		var resp *http.Response
		if err == nil {
			resp, err = http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.pprofURL, int(d.Seconds())))
		}
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
			if err == nil {
				err = os.WriteFile(path, body, 0o644)
			}
		}
		if err != nil {
			b.progress("profile %s: %v", name, err)
			return
		}
		b.progress("profile of %s saved in %s", p.name, path)
	}()
	return func() { <-done }
}

// startServer starts the HTTP server at path on a free address, with the arguments and environment
// launch returns for that address, and polls readyPath until it answers (200 for /readyz, anything
// otherwise). It returns the base URL.
func (b *bench) startServer(ctx context.Context, name, readyPath, path string,
	launch func(addr string) (args, env []string)) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	args, env := launch(addr)
	logPath := filepath.Join(b.tmp, fmt.Sprintf("%s-%d.log", name, seqs.Add(1)))
	p, err := startProc(name, logPath, env, path, args...)
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	ready := func(status int) bool { return readyPath != "/readyz" || status == http.StatusOK }
	if err := p.waitReady(ctx, base+readyPath, ready, 60*time.Second); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, base, nil
}
