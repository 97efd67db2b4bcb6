package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

const (
	v3Topics  = "/v3/clusters/kfake/topics"
	v3Records = v3Topics + "/one/records"
	v3Batch   = v3Topics + "/one/records:batch"
)

// reports splits the body of a records answer into its delivery reports,
// checking that each ends with "\r\n" as upstream's do.
func reports(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Fatalf("records answer does not end with CRLF: %q", body)
	}
	var out []json.RawMessage
	for _, part := range bytes.Split(bytes.TrimSuffix(body, []byte("\r\n")), []byte("\r\n")) {
		if !json.Valid(part) {
			t.Fatalf("report %q is not JSON", part)
		}
		out = append(out, part)
	}
	return out
}

// TestV3Produce checks the answers of the records route, one or several
// records a request, against golden files and both OpenAPI documents, and
// what reached the topic.
func TestV3Produce(t *testing.T) {
	e := newProxyEnv(t)
	s := newSpecs(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"three","partitions_count":3}`)
	for _, tt := range []struct {
		name, path, body string
		status           int
	}{
		{"json", v3Records, `{"value":{"type":"JSON","data":{"name": "testUser"}}}`, 200},
		{"binary_key_string_value", v3Records, `{"key":{"type":"BINARY","data":"Zm9vYmFy"},"value":{"type":"STRING","data":"REST"}}`, 200},
		{"headers_timestamp", v3Records, `{"headers":[{"name":"Header-1","value":"SGVhZGVyLTE="},{"name":"Header-2","value":null}],"value":{"type":"BINARY","data":"dg=="},"timestamp":"2021-02-05T19:14:42Z"}`, 200},
		{"null_data", v3Records, `{"key":{"type":"BINARY","data":null},"value":{"type":"JSON"}}`, 200},
		{"nothing", v3Records, `{}`, 200},
		{"partition", v3Topics + "/three/records", `{"partition_id":2,"value":{"type":"STRING","data":"p2"}}`, 200},
		{"bad_base64", v3Records, `{"value":{"type":"BINARY","data":"fooba!"}}`, 200},
		{"not_base64_string", v3Records, `{"value":{"type":"BINARY","data":1}}`, 200},
		{"avro", v3Records, `{"value":{"type":"AVRO","schema":"\"string\"","data":"x"}}`, 200},
		{"no_type", v3Records, `{"value":{"data":"x"}}`, 200},
		{"type_and_schema", v3Records, `{"value":{"type":"JSON","schema_id":1,"data":"x"}}`, 200},
		{"unknown_type", v3Records, `{"value":{"type":"XML","data":"x"}}`, 200},
		{"unknown_field", v3Records, `{"value":{"type":"JSON","data":1},"offset":3}`, 200},
		{"negative_partition", v3Records, `{"partition_id":-1,"value":{"type":"JSON","data":1}}`, 200},
		{"missing_partition", v3Topics + "/three/records", `{"partition_id":3,"value":{"type":"JSON","data":1}}`, 200},
		{"unknown_topic", v3Topics + "/nope/records", `{"value":{"type":"JSON","data":1}}`, 404},
		{"unknown_cluster", "/v3/clusters/nope/topics/one/records", `{"value":{"type":"JSON","data":1}}`, 404},
		{"bad_topic_name", v3Topics + "/bad%20name/records", `{"value":{"type":"JSON","data":1}}`, 400},
		{"empty", v3Records, ``, 422},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", tt.path, tt.body, "Content-Type", "application/json")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			body := tt.body
			if r.status == http.StatusOK {
				if len(reports(t, r.body)) != 1 {
					t.Fatalf("%d reports for one record: %s", len(reports(t, r.body)), r.body)
				}
				r.body = bytes.TrimSuffix(r.body, []byte("\r\n"))
				if !bytes.HasPrefix(r.body, []byte(`{"error_code":200,`)) {
					// The documents call the request invalid, yet the
					// stream answers it 200 with an error report: check
					// that report as the answer to a valid request.
					body = `{}`
				}
			}
			s.check(t, "POST", tt.path, body, r)
			golden(t, "v3_records_"+tt.name, r)
		})
	}

	t.Run("several records a request", func(t *testing.T) {
		body := `{"value":{"type":"JSON","data":"ONE"}} {"value":{"type":"JSON","data":"TWO"}}` + "\n" +
			`{"value":{"type":"BINARY","data":"bad!"}}{"value":{"type":"STRING","data":"FOUR"}}`
		r := e.mustDo(t, http.StatusOK, "POST", v3Records, body)
		var got []string
		for _, rep := range reports(t, r.body) {
			var v struct {
				ErrorCode int    `json:"error_code"`
				Offset    *int64 `json:"offset"`
			}
			if err := json.Unmarshal(rep, &v); err != nil {
				t.Fatal(err)
			}
			if v.Offset != nil {
				got = append(got, "offset "+itoa(int32(*v.Offset)))
			} else {
				got = append(got, "error "+itoa(int32(v.ErrorCode)))
			}
		}
		if want := "offset 5,offset 6,error 400,offset 7"; strings.Join(got, ",") != want {
			t.Fatalf("reports %s, want %s", strings.Join(got, ","), want)
		}
	})

	t.Run("records reached the topic", func(t *testing.T) {
		recs := kafkatest.Collect(t, e.brokers, "one", 8, 10*time.Second)
		var got []string
		for _, r := range recs {
			got = append(got, string(r.Key)+"="+string(r.Value))
		}
		want := []string{`={"name":"testUser"}`, "foobar=REST", "=v", "=", "=", `="ONE"`, `="TWO"`, "=FOUR"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("topic holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if recs[3].Key != nil || recs[3].Value != nil || recs[4].Key != nil || recs[4].Value != nil {
			t.Errorf("null data produced as %q=%q, %q=%q", recs[3].Key, recs[3].Value, recs[4].Key, recs[4].Value)
		}
		h := recs[2]
		if len(h.Headers) != 2 || string(h.Headers[0].Value) != "Header-1" || h.Headers[1].Value != nil ||
			!h.Timestamp.Equal(time.Date(2021, 2, 5, 19, 14, 42, 0, time.UTC)) {
			t.Errorf("headers %+v, timestamp %v", h.Headers, h.Timestamp)
		}
	})
}

// TestV3Batch checks records:batch answers against golden files and both
// OpenAPI documents.
func TestV3Batch(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.MaxRequestRecords = 3 })
	s := newSpecs(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)
	for _, tt := range []struct {
		name, path, body string
		status           int
	}{
		{"successes", v3Batch, `{"entries":[{"id":"first","value":{"type":"JSON","data":"ONE"}},{"id":"second","key":{"type":"STRING","data":"k"},"value":{"type":"JSON","data":"TWO"}}]}`, 207},
		{"failures", v3Batch, `{"entries":[{"id":"1","value":{"type":"STRING","data":"Message"}},{"id":"2","value":{"type":"BINARY","data":"Message$"}},{"id":"3","value":{"type":"AVRO","data":1}}]}`, 207},
		{"missing_partition", v3Batch, `{"entries":[{"id":"a","partition_id":1,"value":{"type":"JSON","data":1}}]}`, 207},
		{"too_many", v3Batch, `{"entries":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"}]}`, 422},
		{"empty", v3Batch, `{"entries":[]}`, 422},
		{"repeated_ids", v3Batch, `{"entries":[{"id":"1"},{"id":"1"}]}`, 422},
		{"bad_id", v3Batch, `{"entries":[{"id":1}]}`, 422},
		{"unknown_topic", v3Topics + "/nope/records:batch", `{"entries":[{"id":"1","value":{"type":"JSON","data":1}}]}`, 404},
		{"unknown_cluster", "/v3/clusters/nope/topics/one/records:batch", `{"entries":[{"id":"1"}]}`, 404},
		{"malformed", v3Batch, `{"entries":[{"id":"1"}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", tt.path, tt.body, "Content-Type", "application/json")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			s.check(t, "POST", tt.path, tt.body, r)
			golden(t, "v3_batch_"+tt.name, r)
		})
	}
}

// TestV3ProduceUnavailable checks that a records or batch request whose
// records could not be written answers 503 with Retry-After. The broker
// stops before the producer ever reached it: a producer with a connection
// open when its broker dies may write a request on it, after which the
// answer is 504 ("may have been written"), as it must be.
func TestV3ProduceUnavailable(t *testing.T) {
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)
	// The cluster id check is answered from cached metadata while the
	// broker is down.
	e.fake.Stop(t)
	for _, tt := range []struct{ path, body string }{
		{v3Records, `{"value":{"type":"JSON","data":1}}{"value":{"type":"JSON","data":2}}`},
		{v3Batch, `{"entries":[{"id":"1","value":{"type":"JSON","data":1}}]}`},
	} {
		// No produce request can have carried the records: certainly not
		// written, so 503 and safe to retry.
		r := e.do(t, "POST", tt.path, tt.body)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
			t.Fatalf("%s: status %d, Retry-After %q: %s", tt.path, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
}

// TestV3ProduceTimestamps checks which record timestamps v3 takes: RFC 3339
// times Kafka can hold, from the Unix epoch on. Any other time is a 422
// that says so, on the records route and in a batch; what is not an RFC
// 3339 time stays upstream's 400.
func TestV3ProduceTimestamps(t *testing.T) {
	for _, tt := range []struct {
		timestamp string
		status    int
		want      int64 // milliseconds since the epoch
	}{
		{`"1970-01-01T00:00:00Z"`, 0, 0},
		{`"2021-02-05T19:14:42.5Z"`, 0, 1612552482500},
		{`"1969-12-31T23:59:59.999Z"`, http.StatusUnprocessableEntity, 0},
		{`"1970-01-01T00:30:00+01:00"`, http.StatusUnprocessableEntity, 0},
		{`"0000-01-01T00:00:00Z"`, http.StatusUnprocessableEntity, 0},
		{`"yesterday"`, http.StatusBadRequest, 0},
		{`1612552482500`, http.StatusBadRequest, 0},
	} {
		t.Run(tt.timestamp, func(t *testing.T) {
			record := `{"value":{"type":"JSON","data":1},"timestamp":` + tt.timestamp + `}`
			r, _, err := decodeV3Record([]byte(record), "t")
			entries, batchErr := decodeV3Batch([]byte(`{"entries":[{"id":"1",`+record[1:]+`]}`), "t", 1)
			if batchErr != nil {
				t.Fatal(batchErr)
			}
			for _, err := range []error{err, entries[0].err} {
				if tt.status == 0 {
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status != tt.status ||
					tt.status == http.StatusUnprocessableEntity && !strings.Contains(ae.Message, "Kafka takes times from the Unix epoch") {
					t.Fatalf("error %v, want %d", err, tt.status)
				}
			}
			if tt.status == 0 && (r.Timestamp.UnixMilli() != tt.want || entries[0].rec.Timestamp.UnixMilli() != tt.want) {
				t.Fatalf("timestamps %v and %v, want %d", r.Timestamp, entries[0].rec.Timestamp, tt.want)
			}
		})
	}
}

// FuzzDecodeV3Record checks decodeV3Record's invariants (see its doc).
func FuzzDecodeV3Record(f *testing.F) {
	for _, seed := range []string{
		`{"value":{"type":"JSON","data":{"name": "testUser"}}}`,
		`{"key":{"type":"BINARY","data":"Zm9vYmFy"},"value":{"type":"STRING","data":"RE\u0053T\ud800"}}`,
		`{"partition_id":1,"headers":[{"name":"h","value":"aA=="},{"name":"n"}],"timestamp":"2021-02-05T19:14:42.5Z"}`,
		`{"key":{"type":"BINARY","data":null},"value":{"type":"JSON"}}`, `{}`, `[]`, `null`, ``,
		`{"value":{"type":"AVRO","schema":"x","data":1}}`, `{"value":{"data":1}}`, `{"partition_id":-1}`,
		`{"value":{"type":"STRING","data":1}}`, `{"value":{"type":"BINARY","data":"Zm9v\/YmFy"}}`,
		`{"value":{"type":"JSON","data":1},"Value":{"data":2},"VALUE":{"Type":"STRING","type":null}}`, `{"id":"1"}`,
		`{"key":{"type":"STRING","data":"\ud83d\ude00\xff"},"headers":[{"name":"a"}],"headers":[{"value":"eA=="}]}`,
		`{"timestamp":"1969-12-31T23:59:59.999Z"}`, `{"timestamp":"1970-01-01T00:30:00+01:00"}`, `{"timestamp":"1970-01-01T00:00:00Z"}`,
		`{"value":{"type":"JSON","schema_id":1.5}}`, `{"value":{"type":1}}`, `{"headers":{}}`, `{"value":"x"}`, `{} {}`,
		`{"value":{"type":"JSON","data":{"id": "1", "content": "a long string, \"quoted\" and \\ escaped, past sixteen bytes"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in, got v3Record
		inErr := unmarshalStrict(data, &in)
		agree(t, data, got, decodeV3Body(data, &got), in, inErr)
		buf := bytes.Clone(data)
		r, types, err := decodeV3Record(buf, "t")
		scribble(buf)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("%q: error %v is not a 4xx answer", data, err)
			}
			return
		}
		if inErr != nil || r.Topic != "t" {
			t.Fatalf("%q: record for %q (%v)", data, r.Topic, inErr)
		}
		if len(r.Headers) != len(in.Headers) {
			t.Fatalf("%q: %d headers, want %d", data, len(r.Headers), len(in.Headers))
		}
		if ms := r.Timestamp.UnixMilli(); !r.Timestamp.IsZero() && ms < 0 {
			t.Fatalf("%q: timestamp %d", data, ms)
		}
		for i, h := range in.Headers {
			if want := v3Want(t, v3Binary, h.Value); r.Headers[i].Key != *h.Name || !bytes.Equal(r.Headers[i].Value, want) || (r.Headers[i].Value == nil) != (want == nil) {
				t.Fatalf("%q: header %d is %q=%q, want %q=%q", data, i, r.Headers[i].Key, r.Headers[i].Value, *h.Name, want)
			}
		}
		for _, kv := range []struct {
			in   *v3Data
			typ  string
			got  []byte
			what string
		}{{in.Key, types.key, r.Key, "key"}, {in.Value, types.value, r.Value, "value"}} {
			if (kv.in != nil) != (kv.typ != "") {
				t.Fatalf("%q: %s present %v, type %q", data, kv.what, kv.in != nil, kv.typ)
			}
			if kv.in == nil {
				if kv.got != nil {
					t.Fatalf("%q: absent %s produced as %q", data, kv.what, kv.got)
				}
				continue
			}
			if want := v3Want(t, kv.typ, kv.in.Data); !bytes.Equal(kv.got, want) || (kv.got == nil) != (want == nil) {
				t.Fatalf("%q: %s %q, want %q", data, kv.what, kv.got, want)
			}
		}
	})
}

// v3Want is what a v3 key or value of type typ should decode to, by other
// means than decodeV3Record's.
func v3Want(t *testing.T, typ string, data json.RawMessage) []byte {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	switch typ {
	case v3JSON:
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			t.Fatalf("compacting %s: %v", data, err)
		}
		return b.Bytes()
	case v3String, v3Binary:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("%s decoded though not a string", data)
		}
		if typ == v3String {
			return []byte(s)
		}
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			t.Fatalf("%s decoded though not base64", data)
		}
		return b
	}
	t.Fatalf("type %q", typ)
	return nil
}

// FuzzDecodeV3Batch checks decodeV3Batch's invariants (see its doc).
func FuzzDecodeV3Batch(f *testing.F) {
	for _, seed := range []string{
		`{"entries":[{"id":"1","value":{"type":"JSON","data":1}},{"id":"2","value":{"type":"BINARY","data":"$"}}]}`,
		`{"entries":[{"id":"1"},{"id":"1"}]}`, `{"entries":[]}`, `{"entries":[{"id":""}]}`, `{"entries":[{"id":1}]}`,
		`{"entries":[{"id":"é","partition_id":0,"key":{"type":"STRING","data":"k"}}]}`, `{}`, `[]`, ``,
		`{"entries":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"}]}`, `{"entries":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"}],"entries":[{"id":"5"}]}`,
		`{"Entries":[{"ID":"\u0031","Value":{"TYPE":"JSON","data":[1]}},{"id":"\ud800"}]}`, `{"entries":[{"id":"1","value":{"type":1}}]}`,
		`{"entries":[{"id":"1","headers":[{"name":1}],"timestamp":"1900-01-01T00:00:00Z"}]}`, `{"entries":[{"id":"1","offset":1}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want, got v3BatchRequest
		wantErr := unmarshalStrict(body, &want)
		switch gotErr := decodeV3Request(body, &got, 3); {
		case gotErr == errRecordCap:
			if wantErr == nil && len(want.Entries) <= 3 && !repeatedKey(body, "entries") {
				t.Fatalf("%q: cut at 3 entries, but holds %d", body, len(want.Entries))
			}
		default:
			agree(t, body, got, gotErr, want, wantErr)
		}
		buf := bytes.Clone(body)
		entries, err := decodeV3Batch(buf, "t", 3)
		scribble(buf)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("%q: error %v is not a 4xx answer", body, err)
			}
			return
		}
		var req struct {
			Entries []json.RawMessage `json:"entries"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.Entries) != len(entries) || len(entries) == 0 || len(entries) > 3 {
			t.Fatalf("%q: %d entries (%v)", body, len(entries), err)
		}
		ids := map[string]bool{}
		for i, e := range entries {
			n := len([]rune(e.id))
			if n < 1 || n > 80 || ids[e.id] {
				t.Fatalf("%q: entry %d has id %q", body, i, e.id)
			}
			ids[e.id] = true
			if (e.rec == nil) == (e.err == nil) {
				t.Fatalf("%q: entry %d has record %v and error %v", body, i, e.rec, e.err)
			}
			// An entry given twice, or with a field given twice, is merged
			// field by field, which a map does not do: decode alone only
			// the entries that hold each field once.
			var fields map[string]json.RawMessage
			if repeatedKey(body, "entries") || keysRepeat(req.Entries[i]) || json.Unmarshal(req.Entries[i], &fields) != nil {
				continue
			}
			for k := range fields {
				if strings.EqualFold(k, "id") {
					delete(fields, k)
				}
			}
			alone, _ := json.Marshal(fields)
			r, types, err := decodeV3Record(alone, "t")
			if (err == nil) != (e.err == nil) || err == nil && (!bytes.Equal(r.Key, e.rec.Key) || !bytes.Equal(r.Value, e.rec.Value) || types != e.types) {
				t.Fatalf("%q: entry %d decodes as %v/%v alone, %v/%v in the batch", body, i, r, err, e.rec, e.err)
			}
		}
	})
}

// TestV3Stamps holds the timestamps of delivery reports to what
// time.Format writes, written one after the other as an answer writes
// them, so that each is written both from the remembered second and
// afresh.
func TestV3Stamps(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	base := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
	times := []time.Time{
		base, base.Add(time.Millisecond), base.Add(999 * time.Millisecond), base.Add(999_999_999),
		base.Add(500), base.Add(time.Second), base.Add(time.Second + 123*time.Millisecond), base.In(east),
		base.Add(time.Millisecond).In(east), time.Unix(0, 0), time.Unix(0, 1), time.UnixMilli(1700000000123),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.UnixMilli(math.MaxInt64), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		base, base,
	}
	for i := range 1000 { // the seconds and fractions of a day, in steps that hit each digit
		times = append(times, base.Add(time.Duration(i)*86_399_123_457))
	}
	var stamps v3Stamps
	for _, ts := range times {
		want := ts.UTC().Format("2006-01-02T15:04:05.000Z")
		if ts.Nanosecond() == 0 {
			want = ts.UTC().Format("2006-01-02T15:04:05Z")
		}
		if got := stamps.append(nil, ts); string(got) != want {
			t.Fatalf("%v written as %s, want %s", ts, got, want)
		}
	}
}

// TestAppendV3Batch holds the hand-written answer to a batch to what
// encoding/json writes for the same reports: successes sharing their
// second, and failures sharing their words or not.
func TestAppendV3Batch(t *testing.T) {
	type size struct {
		Type string `json:"type"`
		Size int    `json:"size"`
	}
	type success struct {
		ID          string `json:"id"`
		ClusterID   string `json:"cluster_id"`
		TopicName   string `json:"topic_name"`
		PartitionID int32  `json:"partition_id"`
		Offset      int64  `json:"offset"`
		Timestamp   string `json:"timestamp"`
		Key         *size  `json:"key,omitempty"`
		Value       *size  `json:"value,omitempty"`
	}
	type failure struct {
		ID        string `json:"id"`
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	var want struct {
		Successes []success `json:"successes"`
		Failures  []failure `json:"failures"`
	}
	ts := time.UnixMilli(1700000000123)
	var entries []batchEntry
	var results []produce.Result
	for i, err := range []error{
		nil, produce.ErrTimeout, nil, fmt.Errorf("%w: <partition> & more", kafka.ErrPartitionNotFound), errors.New("é\u2028"),
		fmt.Errorf("%w: <partition> & more", kafka.ErrPartitionNotFound), nil, badRequest("data=\"x\" is not a base64 string."),
	} {
		id := fmt.Sprintf("id-%d", i)
		rec := &kgo.Record{Topic: "one", Partition: int32(i % 2), Offset: int64(10 + i), Timestamp: ts.Add(time.Duration(i) * 400 * time.Millisecond), Value: []byte("v")}
		types := v3Types{value: v3Binary}
		if i%3 == 0 {
			rec.Key, types.key = nil, v3JSON
		}
		e := batchEntry{id: id, types: types}
		if ae, ok := err.(*apiError); ok {
			e.err = ae
		} else {
			e.rec = rec
			results = append(results, produce.Result{Record: rec, Err: err})
		}
		entries = append(entries, e)
		if err != nil {
			want.Failures = append(want.Failures, failure{id, v3ReportCode(err), err.Error()})
			continue
		}
		s := success{id, "kfake", "one", rec.Partition, rec.Offset, rec.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), nil, &size{v3Binary, 1}}
		if types.key != "" {
			s.Key = &size{v3JSON, -1}
		}
		want.Successes = append(want.Successes, s)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendV3Batch(entries, results, "kfake"); string(got) != string(wantJSON) {
		t.Fatalf("answer\n%s\nwant\n%s", got, wantJSON)
	}
}
