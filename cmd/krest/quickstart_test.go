package main

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"krest/internal/kafkatest"
)

// startQuickstart runs krest as upstream's quick start assumes REST Proxy
// runs: on a broker of one partition per topic that creates the topics
// produced to (here the embedded broker, in memory, with
// --auto-create-topics).
func startQuickstart(t *testing.T) *krest {
	t.Helper()
	k, _ := startEmbeddedKrest(t, "--partitions", "1", "--auto-create-topics")
	return k
}

// startEmbeddedKrest runs krest in-process with args on its own embedded
// broker, in memory, on a free port, and no consumer, and waits until it
// is ready; it returns krest and the broker's address.
func startEmbeddedKrest(t *testing.T, args ...string) (*krest, string) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(kafkatest.FreePort(t)))
	k := startKrest(t, append([]string{"--embedded-addr", addr, "--in-memory", "--consumer=false"}, args...)...)
	k.waitReady(t)
	return k, addr
}

// TestQuickstartV2 runs the requests of upstream's API v2 quick start, as
// its curl commands send them, and checks upstream's documented answers:
// JSON and binary records produced to topics that do not exist yet (each
// the first record of its topic's one partition), the topics listed, and
// one topic's partitions.
func TestQuickstartV2(t *testing.T) {
	k := startQuickstart(t)
	const firstRecord = `{"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}],"key_schema_id":null,"value_schema_id":null}`
	for _, tt := range []struct{ path, contentType, body string }{
		{"/topics/jsontest", "application/vnd.kafka.json.v2+json", `{"records":[{"value":{"foo":"bar"}}]}`},
		{"/topics/binarytest", "application/vnd.kafka.binary.v2+json", `{"records":[{"value":"S2Fma2E="}]}`},
	} {
		resp, body := k.post(t, tt.path, tt.contentType, tt.body)
		if resp.StatusCode != http.StatusOK || body != firstRecord || resp.Header.Get("Content-Type") != "application/vnd.kafka.v2+json" {
			t.Errorf("POST %s: %d %s %s, want 200 %s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, firstRecord)
		}
	}

	status, body := k.get(t, "/topics")
	var topics []string
	if err := json.Unmarshal([]byte(body), &topics); status != http.StatusOK || err != nil ||
		!slices.Contains(topics, "jsontest") || !slices.Contains(topics, "binarytest") {
		t.Errorf("GET /topics: %d %s", status, body)
	}

	status, body = k.get(t, "/topics/jsontest")
	var topic struct {
		Name       string          `json:"name"`
		Configs    map[string]any  `json:"configs"`
		Partitions json.RawMessage `json:"partitions"`
	}
	const partitions = `[{"partition":0,"leader":0,"replicas":[{"broker":0,"leader":true,"in_sync":true}]}]`
	if err := json.Unmarshal([]byte(body), &topic); status != http.StatusOK || err != nil ||
		topic.Name != "jsontest" || topic.Configs == nil || string(topic.Partitions) != partitions {
		t.Errorf("GET /topics/jsontest: %d %s, want name jsontest, configs and partitions %s", status, body, partitions)
	}
}

// TestQuickstartV3 runs the requests of upstream's API v3 quick start (its
// README): the cluster id from GET /v3/clusters, a topic created, JSON
// records produced one and two to a request, a string record, a batch, and
// a batch with a bad entry, and checks upstream's documented answers, with
// the offsets one topic's records get in turn.
func TestQuickstartV3(t *testing.T) {
	k := startQuickstart(t)
	id := k.clusterID(t)
	topics := "/v3/clusters/" + id + "/topics"
	resp, body := k.post(t, topics, "application/json", `{"topic_name":"jsontest"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", topics, resp.StatusCode, body)
	}

	// produced is what upstream documents of a produced record; timestamps
	// vary.
	produced := func(offset int, typ string, size int) string {
		return `{"error_code":200,"cluster_id":"` + id + `","topic_name":"jsontest","partition_id":0,"offset":` +
			strconv.Itoa(offset) + `,"timestamp":"TS","value":{"type":"` + typ + `","size":` + strconv.Itoa(size) + `}}`
	}
	records := topics + "/jsontest/records"
	for _, tt := range []struct {
		body string
		want []string
	}{
		{`{"value":{"type":"JSON","data":{"name":"testUser"}}}`, []string{produced(0, "JSON", 19)}},
		{`{"value":{"type":"JSON","data":"ONE"}} {"value":{"type":"JSON","data":"TWO"}}`, []string{produced(1, "JSON", 5), produced(2, "JSON", 5)}},
		{`{"value":{"type":"STRING","data":"REST"}}`, []string{produced(3, "STRING", 4)}},
	} {
		resp, body := k.post(t, records, "application/json", tt.body)
		got := withoutTimestamps(t, body, "\r\n")
		if resp.StatusCode != http.StatusOK || !slices.Equal(got, tt.want) {
			t.Errorf("POST %s %s: %d\n%s\nwant\n%s", records, tt.body, resp.StatusCode, got, tt.want)
		}
	}

	batch := topics + "/jsontest/records:batch"
	success := func(entry string, offset int, typ string, size int) string {
		p := produced(offset, typ, size)
		return `{"id":"` + entry + `",` + p[len(`{"error_code":200,`):]
	}
	for _, tt := range []struct {
		body, want string
	}{
		{
			`{"entries":[{"id":"first","value":{"type":"JSON","data":"ONE"}}, {"id":"second","value":{"type":"JSON","data":"TWO"}}]}`,
			`{"successes":[` + success("first", 4, "JSON", 5) + `,` + success("second", 5, "JSON", 5) + `],"failures":[]}`,
		},
		{
			`{"entries":[{"id":"1","value":{"type":"STRING","data":"Message"}},{"id":"2","value":{"type":"BINARY","data":"Message$"}}]}`,
			`{"successes":[` + success("1", 6, "STRING", 7) + `],"failures":[{"id":"2","error_code":400,"message":"Bad Request: data=\"Message$\" is not a valid base64 string."}]}`,
		},
	} {
		resp, body := k.post(t, batch, "application/json", tt.body)
		if got := withoutTimestamps(t, body, "\n"); resp.StatusCode != http.StatusMultiStatus || len(got) != 1 || got[0] != tt.want {
			t.Errorf("POST %s %s: %d\n%s\nwant\n%s", batch, tt.body, resp.StatusCode, got, tt.want)
		}
	}

	status, body := k.get(t, topics)
	type topic struct {
		TopicName       string `json:"topic_name"`
		PartitionsCount int    `json:"partitions_count"`
	}
	var list struct {
		Data []topic `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); status != http.StatusOK || err != nil ||
		!slices.Contains(list.Data, topic{"jsontest", 1}) {
		t.Errorf("GET %s: %d %s", topics, status, body)
	}
}

// timestampRE matches a "timestamp" field as upstream writes it (Java's
// Instant: seconds, or milliseconds when there are any).
var timestampRE = regexp.MustCompile(`"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z"`)

// withoutTimestamps splits body into the JSON values each followed by sep,
// with their timestamps replaced by "TS".
func withoutTimestamps(t *testing.T, body, sep string) []string {
	t.Helper()
	if !strings.HasSuffix(body, sep) {
		t.Errorf("answer does not end with %q: %q", sep, body)
	}
	var out []string
	for _, v := range strings.Split(strings.TrimSuffix(body, sep), sep) {
		out = append(out, timestampRE.ReplaceAllString(v, `"timestamp":"TS"`))
	}
	return out
}

// TestAutoCreateTopicsOff checks that, unless --auto-create-topics asks,
// producing to a missing topic creates nothing, even on a broker that
// would create it for a client that asks.
func TestAutoCreateTopicsOff(t *testing.T) {
	fake := kafkatest.NewFake(t, kfake.AllowAutoTopicCreation())
	k := startKrest(t, "--brokers", strings.Join(fake.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	resp, body := k.post(t, "/topics/nope", "application/vnd.kafka.json.v2+json", `{"records":[{"value":1}]}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"error_code":40401`) {
		t.Errorf("POST /topics/nope: %d %s, want 40401 in place", resp.StatusCode, body)
	}
	if status, body := k.get(t, "/topics/nope"); status != http.StatusNotFound {
		t.Errorf("GET /topics/nope: %d %s: the topic was created", status, body)
	}
}
