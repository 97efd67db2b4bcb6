package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sse "github.com/tmaxmax/go-sse"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/admin"
	"krest/internal/cursor"
	"krest/internal/kafkatest"
	"krest/internal/metrics"
)

// eventRecord is an event's data, as a client decodes it.
type eventRecord struct {
	Topic     string `json:"topic_name"`
	Partition int32  `json:"partition_id"`
	readRecord
}

// event is one event of a stream, its data decoded.
type event struct {
	id, typ string
	rec     eventRecord
}

// eventTimeout bounds the wait for one event.
const eventTimeout = 20 * time.Second

// openEvents opens the records:stream of topic on url with query and the
// header pairs, and returns its answer.
// waitStreamOpens polls until a stream of topic opens (200) within
// timeout, failing with when in the message.
func waitStreamOpens(t *testing.T, url, topic string, timeout time.Duration, when string) {
	t.Helper()
	kafkatest.WaitFor(t, timeout, func() error {
		r := openEvents(t, url, topic, "")
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d %s", r.StatusCode, when)
		}
		return nil
	})
}

func openEvents(t *testing.T, url, topic, query string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url+v3Topics+"/"+topic+"/records:stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// streamEvents opens a stream that must answer 200 and returns its
// events, parsed by go-sse's reader, as they come.
func streamEvents(t *testing.T, url, topic, query string, header ...string) <-chan event {
	t.Helper()
	resp := openEvents(t, url, topic, query, header...)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("records:stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan event, 100)
	go func() {
		defer close(ch)
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				return
			}
			if dispatched(ev) {
				ch <- decodeEvent(t, ev)
			}
		}
	}()
	return ch
}

// dispatched reports whether an EventSource dispatches ev: go-sse also
// yields what only moves the last event id (an id and no data), which an
// EventSource keeps without an event.
func dispatched(ev sse.Event) bool { return ev.Data != "" || ev.Type != "" }

func decodeEvent(t *testing.T, ev sse.Event) event {
	e := event{id: ev.LastEventID, typ: ev.Type}
	if err := json.Unmarshal([]byte(ev.Data), &e.rec); err != nil {
		t.Errorf("event data %q: %v", ev.Data, err)
	}
	return e
}

// nextEvent returns the stream's next event.
func nextEvent(t *testing.T, ch <-chan event) event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(eventTimeout):
		t.Fatal("no event in time")
	}
	return event{}
}

// produceTo produces recs, each to its partition, and waits for them.
func produceTo(t *testing.T, e *proxyEnv, recs ...*kgo.Record) {
	t.Helper()
	cl := kafkatest.NewClient(t, e.brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// createTopic creates topic with n partitions through the v3 route.
func createTopic(t *testing.T, e *proxyEnv, topic string, n int) {
	t.Helper()
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, fmt.Sprintf(`{"topic_name":%q,"partitions_count":%d}`, topic, n))
}

// TestV3EventsResume streams a topic of two partitions through go-sse's
// client and checks each event's record and id (the position past it),
// then resumes from the id of one event on a second server on the same
// cluster (another node): exactly the records after it come, each once,
// then new ones.
func TestV3EventsResume(t *testing.T) {
	var opts Options
	e := newProxyEnv(t, func(o *Options) { opts = *o })
	createTopic(t, e, "ev", 2)
	var recs []*kgo.Record
	for i := range 6 {
		recs = append(recs, &kgo.Record{Topic: "ev", Partition: int32(i % 2), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, `{"n":%d}`, i),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}})
	}
	produceTo(t, e, recs...)

	// go-sse's full client: it validates the answer's type and reconnects.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+v3Topics+"/ev/records:stream?from=earliest&format=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := sse.NewConnection(req)
	ch := make(chan event, 100)
	conn.SubscribeToAll(func(ev sse.Event) {
		if dispatched(ev) {
			ch <- decodeEvent(t, ev)
		}
	})
	go func() { _ = conn.Connect() }()
	var got []event
	for range recs {
		got = append(got, nextEvent(t, ch))
	}
	seen := map[[2]int64]bool{}
	for _, ev := range got {
		r := ev.rec
		if ev.typ != "record" || r.Topic != "ev" || r.Key == nil || r.Value == nil || r.Value.Type != "JSON" || len(r.Headers) != 1 {
			t.Fatalf("event %+v", ev)
		}
		want := recs[2*int(r.Offset)+int(r.Partition)]
		if string(r.Value.Data) != string(want.Value) {
			t.Errorf("partition %d offset %d: value %s, want %s", r.Partition, r.Offset, r.Value.Data, want.Value)
		}
		seen[[2]int64{int64(r.Partition), r.Offset}] = true
		pos, err := cursor.Decode(ev.id)
		if err != nil {
			t.Fatalf("event id %q: %v", ev.id, err)
		}
		if len(pos) != 2 || pos[r.Partition] != r.Offset+1 {
			t.Errorf("event of partition %d offset %d: id %v, want it past the record", r.Partition, r.Offset, pos)
		}
	}
	if len(seen) != len(recs) {
		t.Fatalf("%d distinct records of %d: %+v", len(seen), len(recs), got)
	}

	// Another node resumes from the id of the third event.
	const k = 2
	pos, _ := cursor.Decode(got[k].id)
	want := map[[2]int64]bool{}
	for _, ev := range got[k+1:] {
		want[[2]int64{int64(ev.rec.Partition), ev.rec.Offset}] = true
	}
	opts.Admin = admin.New(kafkatest.NewClient(t, e.brokers))
	opts.Metrics = metrics.New()
	_, other := startServer(t, opts)
	resumed := streamEvents(t, other, "ev", "?from=latest", "Last-Event-ID", got[k].id)
	// A marker after the records: every record before it comes first.
	produceTo(t, e, &kgo.Record{Topic: "ev", Partition: 0, Value: []byte(`"marker"`)})
	for {
		ev := nextEvent(t, resumed)
		key := [2]int64{int64(ev.rec.Partition), ev.rec.Offset}
		if ev.rec.Offset < pos[ev.rec.Partition] {
			t.Fatalf("resumed stream repeats partition %d offset %d, before its cursor %v", key[0], key[1], pos)
		}
		if ev.rec.Partition == 0 && ev.rec.Offset == 3 {
			break
		}
		if !want[key] {
			t.Fatalf("resumed stream has partition %d offset %d twice or unasked", key[0], key[1])
		}
		delete(want, key)
	}
	if len(want) > 0 {
		t.Errorf("resumed stream missed %v", want)
	}
}

// TestV3EventsKinds checks tombstones, the filters and the starts.
func TestV3EventsKinds(t *testing.T) {
	e := newProxyEnv(t)
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, query string
		// before are produced before the stream opens, after once it is
		// open; want are the offsets of the events, in order, and types
		// their types.
		before, after []*kgo.Record
		want          []int64
		types         []string
	}{
		{name: "tombstone", query: "?from=earliest",
			before: []*kgo.Record{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("a")}},
			want:   []int64{0, 1}, types: []string{"record", "delete"}},
		{name: "key filter", query: "?from=earliest&key=b",
			before: []*kgo.Record{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}, {Value: []byte("3")}, {Key: []byte("b"), Value: []byte("4")}},
			want:   []int64{1, 3}, types: []string{"record", "record"}},
		{name: "header filter", query: "?from=earliest&header.env=prod&header.team=x",
			before: []*kgo.Record{
				{Value: []byte("1"), Headers: []kgo.RecordHeader{{Key: "env", Value: []byte("prod")}}},
				{Value: []byte("2"), Headers: []kgo.RecordHeader{{Key: "team", Value: []byte("x")}, {Key: "env", Value: []byte("prod")}}},
				{Value: []byte("3"), Headers: []kgo.RecordHeader{{Key: "env", Value: []byte("dev")}, {Key: "team", Value: []byte("x")}}},
			},
			want: []int64{1}, types: []string{"record"}},
		{name: "latest", query: "",
			before: []*kgo.Record{{Value: []byte("old")}},
			after:  []*kgo.Record{{Value: []byte("new")}},
			want:   []int64{1}, types: []string{"record"}},
		{name: "earliest", query: "?from=earliest",
			before: []*kgo.Record{{Value: []byte("old")}},
			after:  []*kgo.Record{{Value: []byte("new")}},
			want:   []int64{0, 1}, types: []string{"record", "record"}},
		{name: "time", query: "?from=" + base.Add(30*time.Minute).Format(time.RFC3339),
			before: []*kgo.Record{{Value: []byte("1"), Timestamp: base}, {Value: []byte("2"), Timestamp: base.Add(time.Hour)}},
			want:   []int64{1}, types: []string{"record"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			topic := strings.ReplaceAll(tt.name, " ", "-")
			createTopic(t, e, topic, 1)
			for _, r := range append(tt.before, tt.after...) {
				r.Topic = topic
			}
			produceTo(t, e, tt.before...)
			ch := streamEvents(t, e.url, topic, tt.query)
			if len(tt.after) > 0 {
				produceTo(t, e, tt.after...)
			}
			// A last record that every filter passes ends the events.
			produceTo(t, e, &kgo.Record{Topic: topic, Key: []byte("b"), Value: []byte("end"),
				Headers: []kgo.RecordHeader{{Key: "env", Value: []byte("prod")}, {Key: "team", Value: []byte("x")}}})
			last := int64(len(tt.before) + len(tt.after))
			var offsets []int64
			var types []string
			for {
				ev := nextEvent(t, ch)
				if ev.rec.Offset == last {
					break
				}
				offsets = append(offsets, ev.rec.Offset)
				types = append(types, ev.typ)
				if ev.typ == "delete" && ev.rec.Value != nil {
					t.Errorf("delete event with a value: %+v", ev.rec)
				}
			}
			if fmt.Sprint(offsets) != fmt.Sprint(tt.want) || fmt.Sprint(types) != fmt.Sprint(tt.types) {
				t.Errorf("events at %v %v, want %v %v", offsets, types, tt.want, tt.types)
			}
		})
	}
}

// TestV3EventsRefused checks the requests refused before a stream starts.
func TestV3EventsRefused(t *testing.T) {
	e := newProxyEnv(t)
	createTopic(t, e, "refused", 1)
	for _, tt := range []struct {
		name, topic, query string
		header             []string
		status             int
	}{
		{"bad cursor", "refused", "?cursor=not-a-cursor", nil, http.StatusBadRequest},
		{"bad last event id", "refused", "", []string{"Last-Event-ID", "AQ"}, http.StatusBadRequest},
		{"bad from", "refused", "?from=yesterday", nil, http.StatusBadRequest},
		{"bad format", "refused", "?format=avro", nil, http.StatusBadRequest},
		{"not event-stream", "refused", "", []string{"Accept", "application/json"}, http.StatusNotAcceptable},
		{"event-stream q=0", "refused", "", []string{"Accept", "text/event-stream;q=0"}, http.StatusNotAcceptable},
		{"unknown topic", "missing", "", nil, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := openEvents(t, e.url, tt.topic, tt.query, tt.header...)
			var body struct {
				ErrorCode int    `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != tt.status || body.Message == "" {
				t.Errorf("status %d (%v) %+v, want %d with a JSON error", resp.StatusCode, err, body, tt.status)
			}
		})
	}
}

// readLine returns the stream's next line.
func readLine(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("the stream ended: %v", sc.Err())
	}
	return sc.Text()
}

// TestV3EventsLines checks the stream's own lines: the retry hint and
// the start's id first, a heartbeat comment, and a last comment at
// shutdown.
func TestV3EventsLines(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.EventHeartbeat = 20 * time.Millisecond })
	createTopic(t, e, "lines", 3)
	resp := openEvents(t, e.url, "lines", "?from=earliest")
	sc := bufio.NewScanner(resp.Body)
	if line := readLine(t, sc); line != "retry: 2000" {
		t.Errorf("first line %q, want the retry hint", line)
	}
	line := readLine(t, sc)
	id, ok := strings.CutPrefix(line, "id: ")
	if pos, err := cursor.Decode(id); !ok || err != nil || len(pos) != 3 {
		t.Errorf("second line %q, want the start's id of 3 partitions (%v)", line, err)
	}
	for readLine(t, sc) != ": ping" {
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = e.srv.Shutdown(ctx) }()
	for {
		line := readLine(t, sc)
		if strings.HasPrefix(line, ": krest is shutting down") {
			break
		}
		if line != ": ping" && line != "" {
			t.Fatalf("line %q before the shutdown comment", line)
		}
	}
	if sc.Scan() && sc.Text() != "" || sc.Scan() {
		t.Errorf("the stream goes on after the shutdown comment: %q", sc.Text())
	}
}

// TestV3EventsCap checks that streams count against the stream cap: past
// it a stream is refused, and once a client goes away (which its stream
// finds at its next heartbeat) another opens.
func TestV3EventsCap(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) {
		o.Limits.MaxStreams = 1
		o.EventHeartbeat = 20 * time.Millisecond
	})
	createTopic(t, e, "capped", 1)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+v3Topics+"/capped/records:stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	first, err := http.DefaultClient.Do(req)
	if err != nil || first.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %v %v", first, err)
	}
	if r := openEvents(t, e.url, "capped", ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second stream: %d, want 429", r.StatusCode)
	}
	cancel()
	first.Body.Close()
	waitStreamOpens(t, e.url, "capped", 10*time.Second, "once the first stream ended")
}

// TestV3EventsSlowClient checks that a client that stops reading is cut
// off once a write blocks past the write idle timeout: its stream ends
// and frees its place under the stream cap.
func TestV3EventsSlowClient(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) {
		o.Limits.MaxStreams = 1
		o.Limits.WriteIdleTimeout = 300 * time.Millisecond
	})
	createTopic(t, e, "slow", 1)
	big := make([]byte, 256<<10)
	var recs []*kgo.Record
	for range 64 {
		recs = append(recs, &kgo.Record{Topic: "slow", Value: big})
	}
	produceTo(t, e, recs...)
	// A client that sends its request and never reads: 16 MiB of values
	// fill every buffer between it and the stream.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	if _, err := fmt.Fprintf(conn, "GET %s/slow/records:stream?from=earliest HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", v3Topics); err != nil {
		t.Fatal(err)
	}
	// Its status line, then no more reading.
	status, err := bufio.NewReaderSize(conn, 16).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("slow client's status %q: %v", status, err)
	}
	if r := openEvents(t, e.url, "slow", ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second stream: %d, want 429 while the slow client's is open", r.StatusCode)
	}
	waitStreamOpens(t, e.url, "slow", 20*time.Second, "while the slow client holds the only stream")
}

// TestV3EventsNewPartitions checks that partitions a cursor does not name,
// and partitions added while a stream is open, are read from their start.
func TestV3EventsNewPartitions(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.EventHeartbeat = 20 * time.Millisecond })
	createTopic(t, e, "grows", 1)
	produceTo(t, e, &kgo.Record{Topic: "grows", Value: []byte("seen")})
	e.mustDo(t, http.StatusOK, "PATCH", v3Topics+"/grows", `{"partitions_count":2}`)
	produceTo(t, e, &kgo.Record{Topic: "grows", Partition: 1, Value: []byte("p1")})

	// A cursor from before partition 1: its record comes, partition 0's
	// does not again.
	ch := streamEvents(t, e.url, "grows", "?cursor="+cursor.Encode(map[int32]int64{0: 1}))
	if ev := nextEvent(t, ch); ev.rec.Partition != 1 || ev.rec.Offset != 0 {
		t.Fatalf("first event %+v, want partition 1 offset 0", ev.rec)
	}
	e.mustDo(t, http.StatusOK, "PATCH", v3Topics+"/grows", `{"partitions_count":3}`)
	produceTo(t, e, &kgo.Record{Topic: "grows", Partition: 2, Value: []byte("p2")})
	if ev := nextEvent(t, ch); ev.rec.Partition != 2 || ev.rec.Offset != 0 {
		t.Fatalf("next event %+v, want partition 2 offset 0", ev.rec)
	}
}

// TestV3EventsTopicDeleted checks that deleting a stream's topic ends
// the stream with a comment saying why, rather than leaving it hanging.
func TestV3EventsTopicDeleted(t *testing.T) {
	e := newProxyEnv(t)
	createTopic(t, e, "doomed", 1)
	resp := openEvents(t, e.url, "doomed", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("records:stream: %d", resp.StatusCode)
	}
	e.mustDo(t, http.StatusNoContent, "DELETE", v3Topics+"/doomed", "")
	sc := bufio.NewScanner(resp.Body)
	last := ""
	for sc.Scan() {
		if sc.Text() != "" {
			last = sc.Text()
		}
	}
	if sc.Err() != nil || !strings.HasPrefix(last, ": ") || !strings.Contains(last, "doomed") {
		t.Errorf("the stream ended with %q (%v), want a comment naming the topic", last, sc.Err())
	}
}

// TestV3EventsMultiline checks that a JSON value with line breaks comes
// on several data lines, which the client joins into the same JSON.
func TestV3EventsMultiline(t *testing.T) {
	e := newProxyEnv(t)
	createTopic(t, e, "lines-json", 1)
	produceTo(t, e, &kgo.Record{Topic: "lines-json", Value: []byte("{\"a\":\r\n[1,\r2,\n3]}")})
	ev := nextEvent(t, streamEvents(t, e.url, "lines-json", "?from=earliest&format=json"))
	var v struct{ A []int }
	if ev.rec.Value == nil || ev.rec.Value.Type != "JSON" || json.Unmarshal(ev.rec.Value.Data, &v) != nil || fmt.Sprint(v.A) != "[1 2 3]" {
		t.Errorf("value %+v, want the JSON produced", ev.rec.Value)
	}
}
