package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
	"krest/internal/produce"
)

// TestV2Produce checks each v2 produce answer against its golden file, and
// what reached the topics.
func TestV2Produce(t *testing.T) {
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"one","partitions_count":1}`)
	e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"three","partitions_count":3}`)
	const binary, jsonType = mediaV2Binary, mediaV2JSON
	for _, tt := range []struct {
		name, path, contentType, body string
		status                        int
	}{
		{"json", "/topics/one", jsonType, `{"records":[{"value":{"foo":"bar"}}, {"key":"k","value":[1, 2.50, null]}]}`, 200},
		{"binary", "/topics/one", binary, `{"records":[{"value":"S2Fma2E="},{"key":"a2V5","value":"S2Fma2E"},{"value":null}]}`, 200},
		{"application_json", "/topics/one", "application/json", `{"records":[{"value":"plain JSON is the JSON format"}]}`, 200},
		{"no_content_type", "/topics/one", "", `{"records":[{"value":"a v2 produce names its format"}]}`, 415},
		{"v2_type_is_binary", "/topics/one", mediaV2, `{"records":[{"value":"djIgbWVhbnMgYmluYXJ5"}]}`, 200},
		{"partitions", "/topics/three", binary, `{"records":[{"value":"MA==","partition":2},{"value":"MQ==","partition":0},{"value":"Mg==","partition":7}]}`, 200},
		{"partition_route", "/topics/three/partitions/1", jsonType, `{"records":[{"value":1},{"value":2,"partition":1}]}`, 200},
		{"partition_route_missing", "/topics/three/partitions/3", jsonType, `{"records":[{"value":1}]}`, 200},
		{"unknown_topic", "/topics/nope", jsonType, `{"records":[{"value":1}]}`, 200},
		{"extensions", "/topics/one", binary, `{"records":[{"value":"dg==","timestamp":1700000000123,"headers":[{"name":"h1","value":"aGVhZGVy"},{"key":"h2","value":null}]},{"value":"dw==","timestamp":"2024-02-03T04:05:06.789Z"}]}`, 200},
		{"bad_base64", "/topics/one", binary, `{"records":[{"value":"S2Fma2E="},{"value":"not base64!"}]}`, 422},
		{"binary_not_string", "/topics/one", binary, `{"records":[{"key":{"a":1},"value":"S2Fma2E="}]}`, 422},
		{"no_records", "/topics/one", jsonType, `{"records":[]}`, 422},
		{"partition_conflict", "/topics/three/partitions/1", jsonType, `{"records":[{"value":1,"partition":2}]}`, 422},
		{"bad_header", "/topics/one", jsonType, `{"records":[{"value":1,"headers":[{"value":"eA=="}]}]}`, 422},
		{"bad_timestamp", "/topics/one", jsonType, `{"records":[{"value":1,"timestamp":"yesterday"}]}`, 422},
		{"avro", "/topics/one", "application/vnd.kafka.avro.v2+json", `{"value_schema":"\"string\"","records":[{"value":"x"}]}`, 415},
		{"unknown_field", "/topics/one", jsonType, `{"records":[{"value":1,"offset":3}]}`, 400},
		{"malformed", "/topics/one", jsonType, `{"records":[{"value":1}`, 400},
		{"bad_topic_name", "/topics/bad%20name", jsonType, `{"records":[{"value":1}]}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", tt.path, tt.body, "Content-Type", tt.contentType)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != mediaV2 {
				t.Errorf("Content-Type %q, want %q", ct, mediaV2)
			}
			golden(t, "v2_produce_"+tt.name, r)
		})
	}

	t.Run("records reached the topic", func(t *testing.T) {
		recs := kafkatest.Collect(t, e.brokers, "one", 9, 10*time.Second)
		var got []string
		for _, r := range recs {
			got = append(got, string(r.Key)+"="+string(r.Value))
		}
		want := []string{`={"foo":"bar"}`, `"k"=[1,2.50,null]`, "=Kafka", "key=Kafka", "=",
			`="plain JSON is the JSON format"`, "=v2 means binary", "=v", "=w"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("topic holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if recs[4].Value != nil {
			t.Errorf("null value produced as %q", recs[4].Value)
		}
		ext := recs[7]
		if ext.Timestamp.UnixMilli() != 1700000000123 || recs[8].Timestamp.UnixMilli() != 1706933106789 {
			t.Errorf("timestamps %v and %v", ext.Timestamp, recs[8].Timestamp)
		}
		if len(ext.Headers) != 2 || ext.Headers[0].Key != "h1" || string(ext.Headers[0].Value) != "header" ||
			ext.Headers[1].Key != "h2" || ext.Headers[1].Value != nil {
			t.Errorf("headers %+v", ext.Headers)
		}
	})
}

// TestV2ProduceUnavailable checks that a request none of whose records
// could be written with the broker down answers 503 with Retry-After,
// per-record codes 50003. The broker stops before the producer ever
// reached it (see TestV3ProduceUnavailable).
func TestV2ProduceUnavailable(t *testing.T) {
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"one","partitions_count":1}`)
	e.fake.Stop(t)
	r := e.do(t, "POST", "/topics/one", `{"records":[{"value":1},{"value":2}]}`, "Content-Type", mediaV2JSON)
	// No produce request can have carried the records: certainly not
	// written, so 503 and safe to retry.
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	var answer struct {
		Offsets []struct {
			Partition *int32 `json:"partition"`
			ErrorCode int    `json:"error_code"`
		} `json:"offsets"`
	}
	if err := json.Unmarshal(r.body, &answer); err != nil || len(answer.Offsets) != 2 {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	for _, o := range answer.Offsets {
		if o.Partition != nil || o.ErrorCode != codeKafkaRetriable {
			t.Errorf("offset %+v in %s", o, r.body)
		}
	}
}

// TestDecodeRecordCap checks that the multi-record routes stop decoding at
// the record past their cap: the answer is the cap's 422 whatever follows,
// and decoding a body of a million bytes of empty records takes a small
// part of that in memory.
func TestDecodeRecordCap(t *testing.T) {
	const max = 1000
	many := strings.Repeat("{},", 350_000) + "{}]}"
	for _, tt := range []struct {
		name, body string
		message    string
	}{
		{"v2", `{"records":[` + many, "Payload error. records holds more than 1000 records, the most krest takes in one request"},
		{"v2 then not JSON", `{"records":[` + strings.Repeat("{},", max+1) + "not JSON", "Payload error. records holds more than 1000 records, the most krest takes in one request"},
		{"batch", `{"entries":[` + many, "Too many entries in batch. krest takes at most 1000."},
		{"batch then not JSON", `{"entries":[` + strings.Repeat("{},", max+1) + "not JSON", "Too many entries in batch. krest takes at most 1000."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var err error
			if strings.HasPrefix(tt.name, "v2") {
				_, err = decodeV2Produce(body, v2FormatBinary, "t", -1, max)
			} else {
				_, err = decodeV3Batch(body, "t", max)
			}
			runtime.ReadMemStats(&after)
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Message != tt.message {
				t.Fatalf("error %v, want 422 %q", err, tt.message)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20/4 {
				t.Errorf("decoding %d bytes allocated %d bytes", len(body), n)
			}
		})
	}
}

// TestV2ProduceTimestamps checks which record timestamps v2 takes: those
// Kafka can hold, from the Unix epoch on; any other is a 422 that says so.
func TestV2ProduceTimestamps(t *testing.T) {
	for _, tt := range []struct {
		timestamp string
		want      int64 // milliseconds since the epoch; -1 for the 422
	}{
		{`0`, 0},
		{`1700000000123`, 1700000000123},
		{`"1970-01-01T00:00:00Z"`, 0},
		{`"2024-02-03T04:05:06.789+01:00"`, 1706929506789},
		{`-1`, -1},
		{`-1700000000000`, -1},
		{`"1969-12-31T23:59:59.999Z"`, -1},
		{`"1970-01-01T00:30:00+01:00"`, -1},
		{`"0001-01-01T00:00:00Z"`, -1},
	} {
		t.Run(tt.timestamp, func(t *testing.T) {
			recs, err := decodeV2Produce([]byte(`{"records":[{"value":1,"timestamp":`+tt.timestamp+`}]}`), v2FormatJSON, "t", -1, 1)
			if tt.want < 0 {
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != codeInvalidPayload ||
					!strings.Contains(ae.Message, "Kafka takes times from the Unix epoch") {
					t.Fatalf("error %v, want the 422 of a time Kafka cannot hold", err)
				}
				return
			}
			if err != nil || recs[0].Timestamp.UnixMilli() != tt.want {
				t.Fatalf("timestamp %v (%v), want %d", recs[0].Timestamp, err, tt.want)
			}
		})
	}
}

// fuzzMaxRecords is the record cap the decoders' fuzz tests run with.
const fuzzMaxRecords = 3

// FuzzDecodeV2Produce checks decodeV2Produce's invariants (see its doc),
// its decoding against encoding/json's (recordJSON's doc), and that no
// record keeps a byte of the body.
func FuzzDecodeV2Produce(f *testing.F) {
	for _, seed := range []string{
		`{"records":[{"value":{"foo":"bar"}}]}`,
		`{"records":[{"key":"a2V5","value":"S2Fma2E=","partition":1}]}`,
		`{"records":[{"value":"S2Fma2E"},{"value":null},{"key":" \"x\" "}]}`,
		`{"records":[{"value":"dg==","timestamp":1700000000123,"headers":[{"name":"h","value":"aA=="},{"key":"k"}]}]}`,
		`{"records":[{"value":1,"timestamp":"2024-02-03T04:05:06Z"}],"value_schema_id":3}`,
		`{"records":[]}`, `{"records":[{"value":"\u00e9\ud800"}]}`, `{"records":[{"value":[1, {"a" : "b c"}]}]}`,
		`[]`, `null`, ``, `{"records":[{"partition":-1}]}`,
		`{"records":[{},{},{},{}]}`, `{"records":[{},{},{},{}],"records":[{}]}`, `{"records":[{"key":"a"},{}],"records":[{"value":"b"}]}`,
		`{"RECORDS":[{"Value":"eA==","\u006bey":null,"\u212aey":"eQ=="}],"key_schema":"s","KEY_SCHEMA":null}`,
		`{"records":[{"timestamp":-1}]}`, `{"records":[{"timestamp":"1969-12-31T23:59:59.999Z"}]}`,
		`{"records":[{"partition":2147483648,"offset":1}]} x`, `{"records":[{"value":01}]}`, `{"records":[{"value":"\x"}]}`,
	} {
		f.Add([]byte(seed), true, int32(-1))
		f.Add([]byte(seed), false, int32(2))
	}
	f.Fuzz(func(t *testing.T, body []byte, binary bool, partition int32) {
		format := v2FormatJSON
		if binary {
			format = v2FormatBinary
		}
		var req, got v2ProduceRequest
		reqErr := unmarshalStrict(body, &req)
		switch gotErr := decodeV2Request(body, &got, fuzzMaxRecords); {
		case gotErr == errRecordCap:
			if reqErr == nil && len(req.Records) <= fuzzMaxRecords && !repeatedKey(body, "records") {
				t.Fatalf("%q: cut at %d records, but holds %d", body, fuzzMaxRecords, len(req.Records))
			}
		default:
			agree(t, body, got, gotErr, req, reqErr)
		}
		buf := bytes.Clone(body)
		recs, err := decodeV2Produce(buf, format, "t", partition, fuzzMaxRecords)
		scribble(buf)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("%q: error %v is not a 4xx answer", body, err)
			}
			return
		}
		if reqErr != nil || len(recs) == 0 || len(recs) != len(req.Records) || len(recs) > fuzzMaxRecords {
			t.Fatalf("%q: %d records from a request of %d (%v)", body, len(recs), len(req.Records), reqErr)
		}
		for i, r := range recs {
			in := req.Records[i]
			if r.Topic != "t" {
				t.Fatalf("%q: record %d for topic %q", body, i, r.Topic)
			}
			for _, kv := range []struct {
				raw json.RawMessage
				got []byte
			}{{in.Key, r.Key}, {in.Value, r.Value}} {
				if want := v2Want(t, kv.raw, binary); !bytes.Equal(kv.got, want) || (kv.got == nil) != (want == nil) {
					t.Fatalf("%q: record %d has %q for %s, want %q", body, i, kv.got, kv.raw, want)
				}
			}
			if len(r.Headers) != len(in.Headers) {
				t.Fatalf("%q: record %d has %d headers, want %d", body, i, len(r.Headers), len(in.Headers))
			}
			for j, h := range in.Headers {
				if want := v2Want(t, h.Value, true); !bytes.Equal(r.Headers[j].Value, want) || (r.Headers[j].Value == nil) != (want == nil) {
					t.Fatalf("%q: record %d header %d is %q, want %q", body, i, j, r.Headers[j].Value, want)
				}
			}
			if ms := r.Timestamp.UnixMilli(); !r.Timestamp.IsZero() && ms < 0 {
				t.Fatalf("%q: record %d has timestamp %d", body, i, ms)
			}
			pinned := r.Context != nil // the mark ToPartition leaves
			switch {
			case partition >= 0 && (!pinned || r.Partition != partition):
				t.Fatalf("%q: record %d not pinned to the route's partition %d", body, i, partition)
			case partition < 0 && pinned != (in.Partition != nil):
				t.Fatalf("%q: record %d pinned %v, request names %v", body, i, pinned, in.Partition)
			}
		}
	})
}

// v2Want is what a v2 key or value should decode to, by other means than
// decodeV2Produce's.
func v2Want(t *testing.T, raw json.RawMessage, binary bool) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if !binary {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			t.Fatalf("compacting %s: %v", raw, err)
		}
		return b.Bytes()
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s decoded though not a string", raw)
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		t.Fatalf("%s decoded though not base64", raw)
	}
	return b
}

// TestAppendV2Offsets holds the hand-written v2 produce answer to what
// encoding/json writes for the same offsets: records that failed alike,
// differently, or not at all.
func TestAppendV2Offsets(t *testing.T) {
	type offset struct {
		Partition *int32  `json:"partition"`
		Offset    *int64  `json:"offset"`
		ErrorCode *int    `json:"error_code"`
		Error     *string `json:"error"`
	}
	var want struct {
		Offsets       []offset `json:"offsets"`
		KeySchemaID   *int32   `json:"key_schema_id"`
		ValueSchemaID *int32   `json:"value_schema_id"`
	}
	var results []produce.Result
	for i, err := range []error{
		nil, fmt.Errorf("%w (1s); the record may or may not have been written", produce.ErrTimeout),
		fmt.Errorf("%w (1s); the record may or may not have been written", produce.ErrTimeout), nil,
		fmt.Errorf("%w: <topic> & \"more\"", kafka.ErrTopicNotFound), errors.New("é\u2028"), produce.ErrNotWritten, produce.ErrNotWritten,
	} {
		rec := &kgo.Record{Topic: "one", Partition: int32(i % 3), Offset: int64(100 + i)}
		results = append(results, produce.Result{Record: rec, Err: err})
		if err != nil {
			code, msg := recordErrorCode(err), err.Error()
			want.Offsets = append(want.Offsets, offset{ErrorCode: &code, Error: &msg})
			continue
		}
		want.Offsets = append(want.Offsets, offset{Partition: &rec.Partition, Offset: &rec.Offset})
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendV2Offsets(nil, results); string(got) != string(wantJSON) {
		t.Fatalf("answer\n%s\nwant\n%s", got, wantJSON)
	}
}
