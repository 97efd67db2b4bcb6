package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/valyala/fasthttp"
)

// readRecord is a record of a read or of an event, as a client decodes it.
type readRecord struct {
	Offset    int64  `json:"offset"`
	Timestamp string `json:"timestamp"`
	Headers   []struct {
		Name  string  `json:"name"`
		Value *string `json:"value"`
	} `json:"headers"`
	Key, Value *struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
}

// readAnswer is the answer to a read, as a client decodes it.
type readAnswer struct {
	NextOffset int64        `json:"next_offset"`
	Data       []readRecord `json:"data"`
}

func decodeRead(t *testing.T, r reply) readAnswer {
	t.Helper()
	var a readAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return a
}

// TestV3PartitionRecords produces records through the v3 records route
// and reads them back by offset: the answers as their golden files and
// both documents say, headers and timestamps as produced, the bounds of
// a read, its errors.
func TestV3PartitionRecords(t *testing.T) {
	e := newProxyEnv(t)
	// A krest extension: upstream's document does not have the route.
	spec := newSpecChecker(t, loadKrestSpec(t), "")
	check := func(t *testing.T, path string, r reply) {
		t.Helper()
		if _, err := spec.check("GET", path, "", r); err != nil {
			t.Errorf("GET %s: not as openapi.yaml says: %v", path, err)
		}
	}
	const (
		topic = v3Topics + "/reads"
		part  = topic + "/partitions/0/records"
	)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"reads","partitions_count":2}`)
	for _, body := range []string{
		`{"partition_id":0,"key":{"type":"STRING","data":"k0"},"value":{"type":"JSON","data":{"n":1}},"headers":[{"name":"h1","value":"aGVhZGVy"},{"name":"h2","value":null}],"timestamp":"2021-02-05T19:14:42.123Z"}`,
		`{"partition_id":0,"value":{"type":"BINARY","data":"/wA="},"timestamp":"2021-02-05T19:14:43Z"}`,
		`{"partition_id":0,"key":{"type":"BINARY","data":"AQI="},"value":{"type":"STRING","data":"plain text"},"timestamp":"2021-02-05T19:14:44Z"}`,
	} {
		if r := e.mustDo(t, http.StatusOK, "POST", topic+"/records", body); !strings.HasPrefix(string(r.body), `{"error_code":200,`) {
			t.Fatalf("produce: %s", r.body)
		}
	}

	for _, tt := range []struct {
		name, query string
		status      int
		code        int
	}{
		{"binary", "?offset=0", 200, 0},
		{"json", "?offset=0&format=json", 200, 0},
		{"string", "?offset=0&format=STRING", 200, 0},
		{"from_offset", "?offset=1&max_records=1", 200, 0},
		{"at_end", "?offset=3&timeout=0", 200, 0},
		{"past_end", "?offset=4", 416, codeOffsetOutOfRange},
		{"no_offset", "", 400, codeInvalidField},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.mustDo(t, tt.status, "GET", part+tt.query, "")
			golden(t, "v3_partition_records_"+tt.name, r)
			check(t, part+tt.query, r)
			if tt.code != 0 && errorCode(t, r) != tt.code {
				t.Errorf("error_code %d, want %d", errorCode(t, r), tt.code)
			}
		})
	}

	t.Run("round_trip", func(t *testing.T) {
		a := decodeRead(t, e.mustDo(t, 200, "GET", part+"?offset=0&format=JSON", ""))
		if len(a.Data) != 3 || a.NextOffset != 3 {
			t.Fatalf("%d records, next_offset %d; want 3, 3", len(a.Data), a.NextOffset)
		}
		r := a.Data[0]
		if r.Timestamp != "2021-02-05T19:14:42.123Z" || a.Data[1].Timestamp != "2021-02-05T19:14:43Z" {
			t.Errorf("timestamps %s, %s", r.Timestamp, a.Data[1].Timestamp)
		}
		if len(r.Headers) != 2 || r.Headers[0].Name != "h1" || r.Headers[0].Value == nil || *r.Headers[0].Value != "aGVhZGVy" ||
			r.Headers[1].Name != "h2" || r.Headers[1].Value != nil {
			t.Errorf("headers %+v", r.Headers)
		}
		// A key that is not JSON comes as BINARY.
		if r.Key.Type != "BINARY" || string(r.Key.Data) != `"azA="` || r.Value.Type != "JSON" || string(r.Value.Data) != `{"n":1}` {
			t.Errorf("key %s %s, value %s %s", r.Key.Type, r.Key.Data, r.Value.Type, r.Value.Data)
		}
		// Bytes that are not JSON come as BINARY; no key is null.
		if b := a.Data[1]; b.Key != nil || b.Value.Type != "BINARY" || string(b.Value.Data) != `"/wA="` {
			t.Errorf("record 1: key %v, value %+v", b.Key, b.Value)
		}
	})

	t.Run("bounds", func(t *testing.T) {
		for _, tt := range []struct {
			query   string
			records int
			next    int64
		}{
			{"?offset=0&max_records=2", 2, 2},
			{"?offset=0&max_bytes=1", 1, 1}, // the first record comes whole
			{"?offset=2&max_records=10000&max_bytes=4194304", 1, 3},
		} {
			a := decodeRead(t, e.mustDo(t, 200, "GET", part+tt.query, ""))
			if len(a.Data) != tt.records || a.NextOffset != tt.next {
				t.Errorf("%s: %d records, next_offset %d; want %d, %d", tt.query, len(a.Data), a.NextOffset, tt.records, tt.next)
			}
		}
		for _, q := range []string{"offset=-1", "offset=x", "offset=0&max_records=0", "offset=0&max_records=10001",
			"offset=0&max_bytes=0", "offset=0&max_bytes=4194305", "offset=0&timeout=30001", "offset=0&timeout=-1", "offset=0&format=AVRO"} {
			r := e.mustDo(t, 400, "GET", part+"?"+q, "")
			if errorCode(t, r) != codeInvalidField {
				t.Errorf("%s: %s", q, r.body)
			}
		}
	})

	t.Run("not_found", func(t *testing.T) {
		for _, tt := range []struct {
			path string
			code int
		}{
			{topic + "/partitions/2/records?offset=0", codePartitionNotFound},
			{v3Topics + "/nope/partitions/0/records?offset=0", codeUnknownTopicPartition},
		} {
			r := e.mustDo(t, 404, "GET", tt.path, "")
			if errorCode(t, r) != tt.code {
				t.Errorf("%s: %s", tt.path, r.body)
			}
			check(t, tt.path, r)
		}
	})

	t.Run("before_log_start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		o := kadm.Offsets{}
		o.Add(kadm.Offset{Topic: "reads", Partition: 0, At: 1})
		if _, err := kadm.NewClient(e.cl).DeleteRecords(ctx, o); err != nil {
			t.Fatal(err)
		}
		r := e.mustDo(t, 416, "GET", part+"?offset=0", "")
		check(t, part+"?offset=0", r)
		var body v3OffsetOutOfRange
		if err := json.Unmarshal(r.body, &body); err != nil || body.EarliestOffset != 1 || body.LatestOffset != 3 {
			t.Errorf("%v: %s", err, r.body)
		}
		if a := decodeRead(t, e.mustDo(t, 200, "GET", part+fmt.Sprintf("?offset=%d", body.EarliestOffset), "")); len(a.Data) != 2 {
			t.Errorf("from the log start: %d records", len(a.Data))
		}
	})
}

// TestV3PartitionRecordsLongPoll reads at the end of a partition: the read
// waits, and answers the record produced while it waits.
func TestV3PartitionRecordsLongPoll(t *testing.T) {
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"poll","partitions_count":1}`)
	// The read's first fetch found the partition empty: it is waiting.
	waiting := make(chan struct{})
	var once sync.Once
	e.fake.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() { close(waiting) })
		return nil, nil, false
	})
	answer := make(chan reply, 1)
	go func() { answer <- e.do(t, "GET", v3Topics+"/poll/partitions/0/records?offset=0&timeout=30000", "") }()
	<-waiting
	e.mustDo(t, http.StatusOK, "POST", v3Topics+"/poll/records", `{"value":{"type":"STRING","data":"late"}}`)
	r := <-answer
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	a := decodeRead(t, r)
	if len(a.Data) != 1 || a.NextOffset != 1 || a.Data[0].Value == nil || string(a.Data[0].Value.Data) != `"bGF0ZQ=="` {
		t.Errorf("answer %s", r.body)
	}
}

// FuzzParseReadQuery checks parseReadQuery's invariants on any query.
func FuzzParseReadQuery(f *testing.F) {
	for _, s := range []string{"offset=0", "offset=5&max_records=10&max_bytes=100&timeout=0&format=json",
		"offset=-1", "offset=9223372036854775808", "max_records=1", "offset=1&format=Binary&format=xml", "offset=%30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var args fasthttp.Args
		args.Parse(raw)
		q, err := parseReadQuery(&args)
		if err != nil {
			ae, ok := err.(*apiError)
			if !ok || ae.Status != http.StatusBadRequest {
				t.Fatalf("%q: %v is not a 400", raw, err)
			}
			return
		}
		if q.offset < 0 || q.maxRecords < 1 || q.maxRecords > maxOffsetReadRecords || q.maxBytes < 1 || q.maxBytes > maxOffsetReadBytes ||
			q.timeout < 0 || q.timeout > maxOffsetReadTimeout || !strings.Contains(v3Binary+v3JSON+v3String, q.format) || q.format == "" {
			t.Fatalf("%q: %+v is out of bounds", raw, q)
		}
		if want, err := strconv.ParseInt(string(args.Peek("offset")), 10, 64); err != nil || q.offset != want {
			t.Fatalf("%q: offset %d, not the query's", raw, q.offset)
		}
	})
}

// TestV3PartitionRecordsAuthorization: a read needs the read operation on
// its topic; write or describe alone does not let a caller read.
func TestV3PartitionRecordsAuthorization(t *testing.T) {
	e := securedEnv(t, `superusers: [User:admin]
rules:
  - {principal: User:alice, permission: allow, resource: topic, pattern: literal, name: readable, operations: [read]}
  - {principal: User:alice, permission: allow, resource: topic, pattern: literal, name: writable, operations: [write, describe]}
`)
	for _, name := range []string{"readable", "writable"} {
		e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"`+name+`","partitions_count":1}`, basicHeader("admin")...)
	}
	for _, tt := range []struct {
		topic  string
		status int
	}{{"readable", 200}, {"writable", 403}} {
		r := e.do(t, "GET", v3Topics+"/"+tt.topic+"/partitions/0/records?offset=0&timeout=0", "", basicHeader("alice")...)
		if r.status != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.topic, r.status, tt.status, r.body)
		}
	}
}

// TestV3PartitionRecordsWaitHoldsNoOther: while one read waits at the end
// of a partition, a read of another partition on the same leader is
// answered at once, not after the wait.
func TestV3PartitionRecordsWaitHoldsNoOther(t *testing.T) {
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"two","partitions_count":2}`)
	e.mustDo(t, http.StatusOK, "POST", v3Topics+"/two/records", `{"partition_id":1,"value":{"type":"STRING","data":"ready"}}`)
	waiting := make(chan struct{})
	var once sync.Once
	e.fake.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() { close(waiting) })
		return nil, nil, false
	})
	waited := make(chan reply, 1)
	go func() { waited <- e.do(t, "GET", v3Topics+"/two/partitions/0/records?offset=0&timeout=30000", "") }()
	<-waiting
	a := decodeRead(t, e.mustDo(t, http.StatusOK, "GET", v3Topics+"/two/partitions/1/records?offset=0&timeout=0", ""))
	if len(a.Data) != 1 {
		t.Errorf("partition 1: %d records", len(a.Data))
	}
	select {
	case r := <-waited:
		t.Fatalf("the waiting read answered first: %d %s", r.status, r.body)
	default:
	}
	e.mustDo(t, http.StatusOK, "POST", v3Topics+"/two/records", `{"partition_id":0,"value":{"type":"STRING","data":"late"}}`)
	if r := <-waited; r.status != http.StatusOK || len(decodeRead(t, r).Data) != 1 {
		t.Errorf("the waiting read: %d %s", r.status, r.body)
	}
}
