package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"krest/internal/kafkatest"
	"krest/internal/peer"
	"krest/internal/queue"
)

// shareGroups is the path of the test cluster's share groups.
const shareGroups = "/v3/clusters/kfake/share-groups/"

// shareLocks shorten the brokers' share-group record locks (to the
// shortest franz-go counts on) and their sweep, so that a lock krest
// lets go of is seen at once.
var shareLocks = map[string]string{"group.share.record.lock.duration.ms": "1000", "share.record.lock.sweep.interval.ms": "20"}

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
// share-groups routes: each is its 4xx with its error code, and none
// leased the topic's record, which a good lease then gets at its first
// delivery.
func TestShareGroupsRefused(t *testing.T) {
	e := shareEnv(t, nil)
	e.produceRecords(t, "t", 1)
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
		{"lease too many topics", "POST", lease, fmt.Sprintf(`{"topics":[%s"t"]}`, strings.Repeat(`"t",`, queue.MaxTopics)), "", 400, codeInvalidField},
		{"lease bad topic", "POST", lease, `{"topics":["a b"]}`, "", 400, codeInvalidField},
		{"lease topic twice", "POST", lease, `{"topics":["t","t"]}`, "", 400, codeInvalidField},
		{"lease no records", "POST", lease, `{"topics":["t"],"max_records":0}`, "", 400, codeInvalidField},
		{"lease too many records", "POST", lease, fmt.Sprintf(`{"topics":["t"],"max_records":%d}`, queue.MaxRecords+1), "", 400, codeInvalidField},
		{"lease negative wait", "POST", lease, `{"topics":["t"],"wait_ms":-1}`, "", 400, codeInvalidField},
		{"lease long wait", "POST", lease, fmt.Sprintf(`{"topics":["t"],"wait_ms":%d}`, maxLeaseWait.Milliseconds()+1), "", 400, codeInvalidField},
		{"lease short lease", "POST", lease, `{"topics":["t"],"lease_ms":999}`, "", 400, codeInvalidField},
		{"lease past the longest", "POST", lease, `{"topics":["t"],"lease_ms":300001}`, "", 400, codeInvalidField},
		{"lease missing topic", "POST", lease, `{"topics":["t","missing"],"wait_ms":100}`, "", 404, codeUnknownTopicPartition},
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
	if got := e.lease(t, "g", "t", 1, 30000); got[0].DeliveryCount != 1 {
		t.Errorf("after the refused requests, the record came at delivery %d, want 1", got[0].DeliveryCount)
	}
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

// leasedRecord is a leased record, as a client decodes it.
type leasedRecord struct {
	Topic     string `json:"topic_name"`
	Partition int32  `json:"partition_id"`
	readRecord
	DeliveryCount int       `json:"delivery_count"`
	Token         string    `json:"token"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// value is the record's value, decoded from BINARY.
func (l leasedRecord) value(t *testing.T) string {
	t.Helper()
	var b []byte
	if l.Value == nil || l.Value.Type != "BINARY" || json.Unmarshal(l.Value.Data, &b) != nil {
		t.Fatalf("value %+v is not BINARY", l.Value)
	}
	return string(b)
}

// lease leases from group's share of topic until want records have come,
// each answer checked against openapi.yaml, and returns them.
func (e *proxyEnv) lease(t *testing.T, group, topic string, want int, leaseMs int) []leasedRecord {
	t.Helper()
	spec := newSpecChecker(t, loadKrestSpec(t), "")
	path := shareGroups + group + "/records:lease"
	body := fmt.Sprintf(`{"topics":[%q],"max_records":%d,"wait_ms":500,"lease_ms":%d}`, topic, want, leaseMs)
	var got []leasedRecord
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		r := e.mustDo(t, 200, "POST", path, body)
		if _, err := spec.check("POST", path, body, r); err != nil {
			t.Fatalf("not as openapi.yaml says: %v", err)
		}
		var ans struct{ Records []leasedRecord }
		if err := json.Unmarshal(r.body, &ans); err != nil {
			t.Fatal(err)
		}
		got = append(got, ans.Records...)
		if len(got) < want {
			return fmt.Errorf("%d of %d records leased", len(got), want)
		}
		return nil
	})
	return got
}

// ack sends one acknowledgement of each token with its action (pairs) to
// group, and returns the results, the answer checked against
// openapi.yaml.
func (e *proxyEnv) ack(t *testing.T, group string, pairs ...string) []v3AckResult {
	t.Helper()
	var acks []v3Ack
	for i := 0; i+1 < len(pairs); i += 2 {
		acks = append(acks, v3Ack{Token: pairs[i], Action: pairs[i+1]})
	}
	body, _ := json.Marshal(acks)
	path := shareGroups + group + "/acks"
	r := e.mustDo(t, 200, "POST", path, string(body))
	if _, err := newSpecChecker(t, loadKrestSpec(t), "").check("POST", path, string(body), r); err != nil {
		t.Fatalf("not as openapi.yaml says: %v", err)
	}
	return ackResults(t, r)
}

// statuses returns the statuses of rs.
func statuses(rs []v3AckResult) []queue.Status {
	var out []queue.Status
	for _, r := range rs {
		out = append(out, r.Status)
	}
	return out
}

// TestShareGroupLease leases three records and settles one each way:
// accepted (gone), released (delivered again, its delivery_count 2) and
// renewed (held past its first expiry, answered with the new one).
func TestShareGroupLease(t *testing.T) {
	e := shareEnv(t, nil)
	e.produceRecords(t, "jobs", 3)
	start := time.Now()
	got := e.lease(t, "g", "jobs", 3, 5000)
	byValue := map[string]leasedRecord{}
	for _, l := range got {
		if l.Topic != "jobs" || l.Partition != 0 || l.DeliveryCount != 1 || l.Token == "" || len(l.Headers) != 3 {
			t.Errorf("leased %+v", l)
		}
		if l.ExpiresAt.Before(start.Add(4*time.Second)) || l.ExpiresAt.After(time.Now().Add(5*time.Second)) {
			t.Errorf("expires_at %s, want 5s past the lease", l.ExpiresAt)
		}
		byValue[l.value(t)] = l
	}
	accepted, released, renewed := byValue[`{"n":0}`], byValue[`{"n":1}`], byValue[`{"n":2}`]
	res := e.ack(t, "g", accepted.Token, "accept", released.Token, "release", renewed.Token, "renew")
	if want := []queue.Status{queue.StatusOK, queue.StatusOK, queue.StatusOK}; !slices.Equal(statuses(res), want) {
		t.Fatalf("acks %+v, want all ok", res)
	}
	if res[0].ExpiresAt != "" || res[1].ExpiresAt != "" {
		t.Errorf("expires_at on an accept or release: %+v", res)
	}
	if exp, err := time.Parse(time.RFC3339, res[2].ExpiresAt); err != nil || !exp.After(renewed.ExpiresAt) {
		t.Errorf("renewed to %q (%v), want past %s", res[2].ExpiresAt, err, renewed.ExpiresAt)
	}
	again := e.lease(t, "g", "jobs", 1, 5000)
	if len(again) != 1 || again[0].value(t) != `{"n":1}` || again[0].DeliveryCount != 2 {
		t.Fatalf("after the release, leased %+v; want the released record at delivery 2", again)
	}
	if res := e.ack(t, "g", accepted.Token, "accept", again[0].Token, "accept", renewed.Token, "accept"); !slices.Equal(statuses(res),
		[]queue.Status{queue.StatusLeaseLost, queue.StatusOK, queue.StatusOK}) {
		t.Errorf("second acks %+v: want the settled lease lost, the others ok", res)
	}
	// Every record is settled: nothing is left to lease.
	if r := e.mustDo(t, 200, "POST", shareGroups+"g/records:lease", `{"topics":["jobs"],"wait_ms":300}`); string(r.body) != `{"records":[]}`+"\n" {
		t.Errorf("after every record was accepted: %s", r.body)
	}
}

// TestShareGroupStream streams a share group's records over SSE, two at
// a time: the next batch comes once the first is settled through the
// acks route, and ending the stream releases what it held, which a lease
// then gets at its second delivery.
func TestShareGroupStream(t *testing.T) {
	e := shareEnv(t, nil, func(o *Options) { o.EventHeartbeat = 200 * time.Millisecond })
	e.produceRecords(t, "jobs", 4)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+shareGroups+"g/records:stream?topic=jobs&max_records=2&lease_ms=60000", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("records:stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan leasedRecord, 10)
	pings := make(chan struct{}, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		typ := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": ping":
				select {
				case pings <- struct{}{}:
				default:
				}
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && typ == "record":
				var l leasedRecord
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &l); err != nil {
					t.Errorf("event data %q: %v", line, err)
				}
				events <- l
			}
		}
	}()
	next := func() leasedRecord {
		t.Helper()
		select {
		case l, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			return l
		case <-time.After(eventTimeout):
			t.Fatal("no event in time")
		}
		return leasedRecord{}
	}
	first := []leasedRecord{next(), next()}
	// Unsettled, the batch holds the stream: heartbeats come, no record.
	for range 3 {
		select {
		case <-pings:
		case l := <-events:
			t.Fatalf("a record before the first batch was settled: %+v", l)
		case <-time.After(eventTimeout):
			t.Fatal("no heartbeat")
		}
	}
	if res := e.ack(t, "g", first[0].Token, "accept", first[1].Token, "accept"); !slices.Equal(statuses(res), []queue.Status{queue.StatusOK, queue.StatusOK}) {
		t.Fatalf("acks %+v", res)
	}
	second := []leasedRecord{next(), next()}
	seen := map[int64]bool{}
	for _, l := range append(first, second...) {
		if l.Topic != "jobs" || l.DeliveryCount != 1 || l.Token == "" || seen[l.Offset] {
			t.Errorf("streamed %+v", l)
		}
		seen[l.Offset] = true
	}
	// The client goes: what the stream held comes again.
	cancel()
	again := e.lease(t, "g", "jobs", 2, 60000)
	for _, l := range again {
		if l.DeliveryCount != 2 || (l.Offset != second[0].Offset && l.Offset != second[1].Offset) {
			t.Errorf("after the stream ended, leased offset %d at delivery %d; want the stream's last batch at delivery 2", l.Offset, l.DeliveryCount)
		}
	}
}

// TestShareGroupAcksForwarded leases on node a and acknowledges through
// node b: b sends a's acks to a, signed, and answers every result in the
// caller's order, a token of a node that cannot be reached lease_lost.
// A request claiming to be forwarded without a valid signature is 401.
func TestShareGroupAcksForwarded(t *testing.T) {
	fake := kafkatest.NewFake(t, kfake.BrokerConfigs(shareLocks))
	brokers := fake.Brokers()
	dead := listen(t)
	urls := map[string]string{"c": "http://" + dead.Addr().String()}
	_ = dead.Close()
	lns := map[string]net.Listener{}
	for _, n := range []string{"a", "b"} {
		lns[n] = listen(t)
		urls[n] = "http://" + lns[n].Addr().String()
	}
	nodes := map[string]*proxyEnv{}
	for _, n := range []string{"a", "b"} {
		o, cl := proxyOptions(t, brokers, nil)
		o.Queues = newQueues(t, brokers, n, testSecret)
		pc, err := peer.New(peer.Options{Node: n, Static: urls, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		o.Peers = Peers{Cluster: pc}
		s := newTestServer(t, o)
		serveOn(t, s, lns[n])
		nodes[n] = &proxyEnv{url: urls[n], srv: s, brokers: brokers, cl: cl, fake: fake}
	}
	a, b := nodes["a"], nodes["b"]
	a.produceRecords(t, "jobs", 2)
	a.produceRecords(t, "other", 1)
	// Node c leases, and is gone.
	c := newQueues(t, brokers, "c", testSecret)
	var gone []queue.Leased
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		var err error
		gone, err = c.Lease(context.Background(), queue.LeaseRequest{Group: "g", Topics: []string{"other"}, MaxRecords: 1,
			Wait: 500 * time.Millisecond, Lease: 20 * time.Second})
		if err == nil && len(gone) == 0 {
			err = errors.New("nothing leased on c")
		}
		return err
	})
	mine := a.lease(t, "g", "jobs", 2, 20000)
	res := b.ack(t, "g", mine[0].Token, "renew", "bogus", "accept", gone[0].Token, "accept", mine[1].Token, "accept")
	want := []queue.Status{queue.StatusOK, queue.StatusInvalid, queue.StatusLeaseLost, queue.StatusOK}
	if !slices.Equal(statuses(res), want) {
		t.Fatalf("acks through b %+v, want %v", res, want)
	}
	for i, tok := range []string{mine[0].Token, "bogus", gone[0].Token, mine[1].Token} {
		if res[i].Token != tok {
			t.Errorf("result %d is of token %q, want %q", i, res[i].Token, tok)
		}
	}
	if exp, err := time.Parse(time.RFC3339, res[0].ExpiresAt); err != nil || !exp.After(mine[0].ExpiresAt) {
		t.Errorf("renewed through b to %q (%v), want past %s", res[0].ExpiresAt, err, mine[0].ExpiresAt)
	}
	// a holds the renewed lease still, and the accepted one no more.
	if res := a.ack(t, "g", mine[0].Token, "accept", mine[1].Token, "accept"); !slices.Equal(statuses(res),
		[]queue.Status{queue.StatusOK, queue.StatusLeaseLost}) {
		t.Errorf("acks on a after b's %+v", res)
	}
	r := a.do(t, "POST", shareGroups+"g/acks", `[{"token":"x","action":"accept"}]`,
		peer.HeaderForwardedBy, "b", peer.HeaderStamp, "1", peer.HeaderSignature, "00")
	if r.status != http.StatusUnauthorized {
		t.Errorf("a forged forwarded acks request: %d %s, want 401", r.status, r.body)
	}
}

// FuzzShareGroupBodies checks the invariants of the share-groups body
// decoders (decodeLease, decodeAcks).
func FuzzShareGroupBodies(f *testing.F) {
	for _, s := range []string{
		`{"topics":["t"],"max_records":10,"wait_ms":1000,"lease_ms":30000}`, `{"topics":[]}`, `{"max_records":1e99}`,
		`[{"token":"x","action":"accept"},{"token":"y","action":"renew"}]`, `[{"token":"x","action":"hold"}]`, `[]`, `{}`, ` [`,
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
		if req, err := decodeLease(body, "g"); check(err) {
			if req.Group != "g" || req.MaxRecords < 1 || req.MaxRecords > queue.MaxRecords || req.Wait < 0 || req.Wait > maxLeaseWait ||
				req.Lease < minLease {
				t.Fatalf("decoded %+v", req)
			}
		}
		const most = 3
		if in, acks, err := decodeAcks(body, most); check(err) {
			if len(in) < 1 || len(in) > most || len(acks) != len(in) {
				t.Fatalf("decoded %d and %d acknowledgements", len(in), len(acks))
			}
			for i, a := range acks {
				if a.Token != in[i].Token || a.Action.String() != in[i].Action {
					t.Fatalf("acknowledgement %d decoded as %+v from %+v", i, a, in[i])
				}
			}
		}
	})
}
