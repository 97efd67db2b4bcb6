package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"krest/internal/kafkatest"
	"krest/internal/queue"
)

// shareGroups is the path of the test cluster's share groups.
const shareGroups = "/v3/clusters/kfake/share-groups/"

// shareLocks shorten the brokers' share-group record locks and their
// sweep, so that a lock krest lets go of is seen at once.
var shareLocks = map[string]string{"share.record.lock.sweep.interval.ms": "100"}

// newQueues returns a queue manager of node on brokers, signing with
// secret (nil: a secret of its own); t.Cleanup closes it.
func newQueues(t *testing.T, brokers []string, node string, secret []byte) *queue.Manager {
	t.Helper()
	adm := kafkatest.NewClient(t, brokers)
	m, err := queue.New(queue.Options{
		NewClient: func(o ...kgo.Opt) (*kgo.Client, error) {
			return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, o...)...)
		},
		Admin: adm, Node: node, Secret: secret, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// shareEnv is a proxyEnv whose work queues live in a manager of node
// "node1" on its broker, started with shareLocks and fakeOpts, its
// options changed by each of mod.
func shareEnv(t *testing.T, fakeOpts []kfake.Opt, mod ...func(*Options)) *proxyEnv {
	t.Helper()
	fake := kafkatest.NewFake(t, append([]kfake.Opt{kfake.BrokerConfigs(shareLocks)}, fakeOpts...)...)
	m := newQueues(t, fake.Brokers(), "node1", nil)
	return newProxyEnvOn(t, fake, nil, append([]func(*Options){func(o *Options) { o.Queues = m }}, mod...)...)
}

// ackResults decodes the answer of an acks request.
func ackResults(t *testing.T, r reply) []v3AckResult {
	t.Helper()
	var got v3AckResults
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("acks answered %d %s: %v", r.status, r.body, err)
	}
	return got.Results
}

// TestShareGroupsRefused sends each kind of bad request to the
// share-groups routes: each is its 4xx with its error code.
func TestShareGroupsRefused(t *testing.T) {
	e := shareEnv(t, nil)
	const (
		lease  = shareGroups + "g/records:lease"
		acks   = shareGroups + "g/acks"
		stream = shareGroups + "g/records:stream"
		sse    = "text/event-stream"
	)
	for _, tt := range []struct {
		name, method, path, body, accept string
		status, code                     int
	}{
		{"lease not json", "POST", lease, `{"topics":`, "", 400, codeMalformedJSON},
		{"lease unknown field", "POST", lease, `{"topics":["t"],"max":1}`, "", 400, codeInvalidField},
		{"lease no topics", "POST", lease, `{}`, "", 400, codeInvalidField},
		{"lease too many topics", "POST", lease, fmt.Sprintf(`{"topics":[%s"t"]}`, strings.Repeat(`"t",`, maxLeaseTopics)), "", 400, codeInvalidField},
		{"lease bad topic", "POST", lease, `{"topics":["a b"]}`, "", 400, codeInvalidField},
		{"lease topic twice", "POST", lease, `{"topics":["t","t"]}`, "", 400, codeInvalidField},
		{"lease no records", "POST", lease, `{"topics":["t"],"max_records":0}`, "", 400, codeInvalidField},
		{"lease too many records", "POST", lease, fmt.Sprintf(`{"topics":["t"],"max_records":%d}`, queue.MaxRecords+1), "", 400, codeInvalidField},
		{"lease negative wait", "POST", lease, `{"topics":["t"],"wait_ms":-1}`, "", 400, codeInvalidField},
		{"lease long wait", "POST", lease, fmt.Sprintf(`{"topics":["t"],"wait_ms":%d}`, maxLeaseWait.Milliseconds()+1), "", 400, codeInvalidField},
		{"lease short lease", "POST", lease, `{"topics":["t"],"lease_ms":999}`, "", 400, codeInvalidField},
		{"lease bad format", "POST", lease + "?format=avro", `{"topics":["t"]}`, "", 400, codeInvalidField},
		{"lease bad group", "POST", shareGroups + "%FF/records:lease", `{"topics":["t"]}`, "", 400, codeInvalidField},
		{"lease other cluster", "POST", "/v3/clusters/other/share-groups/g/records:lease", `{"topics":["t"]}`, "", 404, 404},
		{"acks empty", "POST", acks, `[]`, "", 400, codeInvalidField},
		{"acks object", "POST", acks, `{"acks":[]}`, "", 400, codeMalformedJSON},
		{"acks unknown field", "POST", acks, `[{"token":"x","action":"accept","why":1}]`, "", 400, codeInvalidField},
		{"acks unknown action", "POST", acks, `[{"token":"x","action":"accept"},{"token":"y","action":"ignore"}]`, "", 400, codeInvalidField},
		{"acks too many", "POST", acks, "[" + strings.Repeat(`{"token":"x","action":"accept"},`, 1000) + `{"token":"x","action":"accept"}]`, "", 400, codeInvalidField},
		{"stream not events", "GET", stream + "?topic=t", "", "application/json", 406, 406},
		{"stream no topic", "GET", stream, "", sse, 400, codeInvalidField},
		{"stream bad topic", "GET", stream + "?topic=..", "", sse, 400, codeInvalidField},
		{"stream no records", "GET", stream + "?topic=t&max_records=0", "", sse, 400, codeInvalidField},
		{"stream short lease", "GET", stream + "?topic=t&lease_ms=10", "", sse, 400, codeInvalidField},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.accept != "" {
				header = []string{"Accept", tt.accept}
			}
			r := e.do(t, tt.method, tt.path, tt.body, header...)
			if r.status != tt.status || errorCode(t, r) != tt.code {
				t.Fatalf("status %d %s, want %d with code %d", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	t.Run("lease wrong content type", func(t *testing.T) {
		r := e.do(t, "POST", lease, `{"topics":["t"]}`, "Content-Type", "text/plain")
		if r.status != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d %s, want 415", r.status, r.body)
		}
	})
}

// TestShareGroupAcksInvalid acknowledges tokens no node signed: each is
// invalid, and the others of the request are answered in order.
func TestShareGroupAcksInvalid(t *testing.T) {
	e := shareEnv(t, nil)
	r := e.mustDo(t, 200, "POST", shareGroups+"g/acks", `[{"token":"nonsense","action":"accept"},{"token":"","action":"renew"}]`)
	want := []v3AckResult{{Token: "nonsense", Status: queue.StatusInvalid}, {Token: "", Status: queue.StatusInvalid}}
	if got := ackResults(t, r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("results %+v, want %+v", got, want)
	}
}

// TestShareGroupsUnserved checks the routes of a node without work
// queues: 503, with Retry-After.
func TestShareGroupsUnserved(t *testing.T) {
	e := newProxyEnv(t)
	r := e.mustDo(t, 503, "POST", shareGroups+"g/records:lease", `{"topics":["t"]}`)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

// TestShareGroupsUnsupported leases from brokers of Kafka 4.0, which have
// no share groups: 501 (50101), naming the versions needed.
func TestShareGroupsUnsupported(t *testing.T) {
	e := shareEnv(t, []kfake.Opt{kfake.MaxVersions(kversion.V4_0_0())})
	e.setupTopic(t, "t", 1, nil)
	r := e.mustDo(t, 501, "POST", shareGroups+"g/records:lease", `{"topics":["t"]}`)
	if code := errorCode(t, r); code != codeUnsupported || !strings.Contains(string(r.body), "Kafka 4.2") {
		t.Errorf("answered %s, want code %d naming Kafka 4.2", r.body, codeUnsupported)
	}
}

// TestShareGroupsAuthorization leases and streams as a caller who may
// read the group and one topic: a lease naming another topic, or another
// group, is 403.
func TestShareGroupsAuthorization(t *testing.T) {
	e := shareEnv(t, nil, secured(t, `superusers: [User:admin]
rules:
  - {principal: User:alice, permission: allow, resource: group, pattern: literal, name: g, operations: [read]}
  - {principal: User:alice, permission: allow, resource: topic, pattern: literal, name: ok, operations: [read]}
`))
	alice := basicHeader("alice")
	for _, tt := range []struct {
		name, method, path, body string
	}{
		{"lease denied topic", "POST", shareGroups + "g/records:lease", `{"topics":["ok","no"]}`},
		{"lease other group", "POST", shareGroups + "h/records:lease", `{"topics":["ok"]}`},
		{"acks other group", "POST", shareGroups + "h/acks", `[{"token":"x","action":"accept"}]`},
		{"stream denied topic", "GET", shareGroups + "g/records:stream?topic=ok&topic=no", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.body, append(alice, "Accept", "text/event-stream")...)
			if r.status != 403 || errorCode(t, r) != codeNotAuthorized {
				t.Fatalf("status %d %s, want 403", r.status, r.body)
			}
		})
	}
}
