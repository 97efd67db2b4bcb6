package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// setupTopic creates topic with partitions and produces counts[i] records
// to partition i, through a client of its own.
func (e *proxyEnv) setupTopic(t *testing.T, topic string, partitions int32, configs map[string]*string, counts ...int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, partitions, 1, configs, topic); err != nil {
		t.Fatal(err)
	}
	p := kafkatest.NewClient(t, e.brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for partition, n := range counts {
		for range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(partition), Value: []byte("v")})
		}
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// errorCode returns the error_code of an error answer.
func errorCode(t *testing.T, r reply) int {
	t.Helper()
	var body errorBody
	if err := json.Unmarshal(r.body, &body); err != nil || body.Message == "" {
		t.Fatalf("not an error body (%v): %s", err, r.body)
	}
	return body.ErrorCode
}

// TestV2 checks every v2 metadata route against its golden answer and
// krest's OpenAPI document, and its errors and content negotiation.
func TestV2(t *testing.T) {
	e := newProxyEnv(t)
	sp := newSpecs(t)
	compact := "compact"
	e.setupTopic(t, "orders", 2, map[string]*string{"cleanup.policy": &compact}, 3, 1)

	for _, tt := range []struct {
		name   string
		path   string
		header []string // request header pairs
		status int
		code   int // error_code, for errors
	}{
		{name: "root", path: "/", status: 200},
		{name: "topics", path: "/topics", status: 200},
		{name: "topic", path: "/topics/orders", status: 200},
		{name: "partitions", path: "/topics/orders/partitions", status: 200},
		{name: "partition", path: "/topics/orders/partitions/1", status: 200},
		{name: "offsets", path: "/topics/orders/partitions/0/offsets", status: 200},
		{name: "brokers", path: "/brokers", status: 200},

		{name: "topic_not_found", path: "/topics/missing", status: 404, code: 40401},
		{name: "partition_not_found", path: "/topics/orders/partitions/7", status: 404, code: 40402},
		{name: "offsets_topic_not_found", path: "/topics/missing/partitions/0/offsets", status: 404, code: 40401},
		{name: "offsets_partition_not_found", path: "/topics/orders/partitions/7/offsets", status: 404, code: 40402},
		{name: "partitions_topic_not_found", path: "/topics/missing/partitions", status: 404, code: 40401},
		{name: "bad_topic_name", path: "/topics/bad*name", status: 400, code: 40002},
		{name: "bad_partition_id", path: "/topics/orders/partitions/x", status: 400, code: 40002},

		{name: "not_acceptable", path: "/topics", header: []string{"Accept", "text/html"}, status: 406, code: 406},
		{name: "unsupported_type", path: "/topics", header: []string{"Content-Type", "text/plain"}, status: 415, code: 415},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.mustDo(t, tt.status, "GET", tt.path, "", tt.header...)
			golden(t, "v2_"+tt.name, r)
			sp.check(t, "GET", tt.path, "", r)
			if tt.code != 0 && errorCode(t, r) != tt.code {
				t.Errorf("error_code %d, want %d", errorCode(t, r), tt.code)
			}
		})
	}
}

// TestV2Negotiation checks which Accept and Content-Type headers v2 routes
// serve: a type they cannot answer in is a 406, a request type they do not
// read a 415, both before any broker call.
func TestV2Negotiation(t *testing.T) {
	e := newProxyEnv(t)
	for _, tt := range []struct {
		name   string
		header string
		value  string
		status int
	}{
		{"no headers", "", "", 200},
		{"accept v2", "Accept", "application/vnd.kafka.v2+json", 200},
		{"accept json", "Accept", "application/json", 200},
		{"accept any", "Accept", "*/*", 200},
		{"accept application", "Accept", "application/*", 200},
		{"accept list", "Accept", "text/html, application/vnd.kafka.v2+json;q=0.5", 200},
		{"accept q zero", "Accept", "application/vnd.kafka.v2+json;q=0", 406},
		{"accept html", "Accept", "text/html", 406},
		{"accept binary", "Accept", "application/vnd.kafka.binary.v2+json", 406},
		{"type v2", "Content-Type", "application/vnd.kafka.v2+json", 200},
		{"type binary", "Content-Type", "application/vnd.kafka.binary.v2+json", 200},
		{"type json embedded", "Content-Type", "application/vnd.kafka.json.v2+json", 200},
		{"type json", "Content-Type", "application/json; charset=utf-8", 200},
		{"type avro", "Content-Type", "application/vnd.kafka.avro.v2+json", 415},
		{"type protobuf", "Content-Type", "application/vnd.kafka.protobuf.v2+json", 415},
		{"type text", "Content-Type", "text/plain", 415},
		{"type garbage", "Content-Type", ";;", 415},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.header != "" {
				h = []string{tt.header, tt.value}
			}
			r := e.mustDo(t, tt.status, "GET", "/brokers", "", h...)
			if ct := r.header.Get("Content-Type"); ct != mediaV2 {
				t.Errorf("Content-Type %q, want %q", ct, mediaV2)
			}
			want := tt.status
			if strings.Contains(tt.value, "avro") || strings.Contains(tt.value, "protobuf") {
				want = codeSchemaRequired // a type krest knows, which needs a Schema Registry
			}
			if tt.status != 200 && errorCode(t, r) != want {
				t.Errorf("error_code %d, want %d", errorCode(t, r), want)
			}
		})
	}
}

// TestBadNamesReachNoBroker stops the broker and checks that requests with
// an invalid topic name, cluster id or partition id are still answered
// 400 at once: they are refused before any broker call, so they change
// nothing.
func TestBadNamesReachNoBroker(t *testing.T) {
	e := newProxyEnv(t)
	e.fake.Stop(t)
	// A broker call would wait far longer than the timeout; a redirect is
	// not followed, so each answer is krest's to the raw request.
	client := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/topics/a%20b", "", 400},
		{"GET", "/topics/" + strings.Repeat("a", 250), "", 400},
		{"GET", "/topics/orders/partitions/-1", "", 400},
		{"GET", "/topics/orders/partitions/99999999999/offsets", "", 400},
		{"GET", "/v3/clusters/bad*id", "", 400},
		{"GET", "/v3/clusters/bad*id/topics", "", 400},
		{"DELETE", "/v3/clusters/kfake/topics/bad*name", "", 400},
		{"PATCH", "/v3/clusters/kfake/topics/a$b", `{"partitions_count":9}`, 400},
		{"PUT", "/v3/clusters/kfake/topics/a$b/configs/retention.ms", `{"value":"1"}`, 400},
		{"POST", "/v3/clusters/kfake/topics/a$b/configs:alter", `{"data":[]}`, 400},
		{"DELETE", "/v3/clusters/kfake/topics/a$b/configs/retention.ms", "", 400},
		{"GET", "/v3/clusters/kfake/brokers/x", "", 400},
		{"GET", "/v3/clusters/kfake/consumer-groups/g/lags/a$b/partitions/0", "", 400},
		// Kafka's rules forbid the names "." and "..": no path cleaning
		// turns them into another route.
		{"DELETE", "/v3/clusters/kfake/topics/..", "", 400},
		{"DELETE", "/v3/clusters/kfake/topics/.", "", 400},
		{"GET", "/topics/a%2Fb", "", 400},
		{"GET", "/topics/orders/partitions/+1", "", 400},
		{"GET", "/v3/clusters/kfake/brokers/+1", "", 400},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// FuzzV2Negotiation feeds arbitrary Accept and Content-Type values to the
// v2 negotiation. Invariants: it never panics; v2Acceptable admits any
// value list that names application/vnd.kafka.v2+json without parameters;
// v2EmbeddedFormat returns one of the three formats, or a 415 apiError.
func FuzzV2Negotiation(f *testing.F) {
	for _, s := range []string{"", "*/*", "text/html;q=0.1, application/json", "application/vnd.kafka.v2+json;q=0",
		mediaV2Binary, mediaV2JSON, "application/vnd.kafka.avro.v2+json", ";;", "a/b; q=x", "application/json; charset=\"x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !v2Acceptable([][]byte{[]byte(value), []byte(mediaV2)}) {
			t.Fatalf("Accept %q, %s refused", value, mediaV2)
		}
		_ = v2Acceptable([][]byte{[]byte(value)})
		format, err := v2EmbeddedFormat(value)
		var ae *apiError
		switch {
		case err == nil && (format == v2FormatNone || format == v2FormatBinary || format == v2FormatJSON):
		case err != nil && errors.As(err, &ae) && ae.Status == http.StatusUnsupportedMediaType && format == "":
		default:
			t.Fatalf("Content-Type %q: format %q, error %v", value, format, err)
		}
	})
}

// TestRestProxySwitches checks that each REST Proxy version's routes exist
// exactly when it is switched on, and that the other routes do not depend
// on either.
func TestRestProxySwitches(t *testing.T) {
	version := func(pattern string) string {
		_, path, _ := strings.Cut(pattern, " ")
		switch {
		case strings.HasPrefix(path, "/v3/"):
			return "v3"
		case path == "/", strings.HasPrefix(path, "/topics"), strings.HasPrefix(path, "/brokers"), strings.HasPrefix(path, "/consumers"):
			return "v2"
		}
		return "krest"
	}
	all := routeLabels(Options{APIV2: true, APIV3: true})
	for _, tt := range []struct {
		name   string
		v2, v3 bool
	}{{"none", false, false}, {"v2", true, false}, {"v3", false, true}, {"both", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			got := routeLabels(Options{APIV2: tt.v2, APIV3: tt.v3})
			on := map[string]bool{"krest": true, "v2": tt.v2, "v3": tt.v3}
			for _, p := range all {
				if slices.Contains(got, p) != on[version(p)] {
					t.Errorf("route %s registered: %v, want %v", p, !on[version(p)], on[version(p)])
				}
			}
		})
	}
}
