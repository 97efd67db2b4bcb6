package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// streamReport is the part of a delivery report the stream tests read.
type streamReport struct {
	ErrorCode   int    `json:"error_code"`
	Message     string `json:"message"`
	PartitionID int32  `json:"partition_id"`
	Offset      int64  `json:"offset"`
}

// openStream starts a streaming produce request to path whose body is what
// the returned writer gets, chunk by chunk, and returns the answer once its
// status arrives, with a reader of its reports.
func openStream(t *testing.T, ctx context.Context, e *proxyEnv, path string, first string) (*io.PipeWriter, *http.Response, *bufio.Scanner) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, err := http.NewRequestWithContext(ctx, "POST", e.url+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	// The status comes with the first report: send the first record now.
	go func() { _, _ = io.WriteString(pw, first) }()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("status %d, transfer encoding %v", resp.StatusCode, resp.TransferEncoding)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Split(splitCRLF)
	return pw, resp, sc
}

// splitCRLF splits a records answer into its reports.
func splitCRLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.Index(data, []byte("\r\n")); i >= 0 {
		return i + 2, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return 0, nil, fmt.Errorf("answer ends without CRLF: %q", data)
	}
	return 0, nil, nil
}

// nextReport reads the next report of a stream.
func nextReport(t *testing.T, sc *bufio.Scanner) streamReport {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("no report: %v", sc.Err())
	}
	var r streamReport
	if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
		t.Fatalf("report %q: %v", sc.Bytes(), err)
	}
	return r
}

// TestV3RecordsStream streams 10 000 records on one connection, one of
// them bad, while reading the reports as they come: one per record, in
// order, the bad one's in its place, offsets rising in each partition, and
// every good record in the topic.
func TestV3RecordsStream(t *testing.T) {
	const n, bad = 10_000, 5_000
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"stream","partitions_count":3}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	record := func(i int) string {
		if i == bad {
			return `{"value":{"type":"BINARY","data":"not base64!"}}`
		}
		return fmt.Sprintf(`{"key":{"type":"STRING","data":"k%d"},"value":{"type":"STRING","data":"%d"}}`, i%7, i)
	}
	pw, _, sc := openStream(t, ctx, e, v3Topics+"/stream/records", record(0))
	writeErr := make(chan error, 1)
	go func() {
		var err error
		for i := 1; i < n && err == nil; i++ {
			sep := "\n"
			if i%3 == 0 {
				sep = "" // concatenated without whitespace, too
			}
			_, err = io.WriteString(pw, sep+record(i))
		}
		if err == nil {
			err = pw.Close()
		}
		writeErr <- err
	}()
	last := map[int32]int64{}
	for i := range n {
		r := nextReport(t, sc)
		if i == bad {
			if r.ErrorCode != http.StatusBadRequest || !strings.Contains(r.Message, "not a valid base64 string") {
				t.Fatalf("report %d of the bad record: %+v", i, r)
			}
			continue
		}
		if r.ErrorCode != http.StatusOK {
			t.Fatalf("report %d: %+v", i, r)
		}
		if prev, ok := last[r.PartitionID]; ok && r.Offset <= prev {
			t.Fatalf("report %d: offset %d of partition %d after %d", i, r.Offset, r.PartitionID, prev)
		}
		last[r.PartitionID] = r.Offset
	}
	if sc.Scan() {
		t.Fatalf("report past the last record: %q", sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range kafkatest.Collect(t, e.brokers, "stream", n-1, 30*time.Second) {
		seen[string(r.Value)] = true
	}
	for i := range n {
		if seen[strconv.Itoa(i)] == (i == bad) {
			t.Fatalf("record %d in the topic: %v", i, seen[strconv.Itoa(i)])
		}
	}
}

// TestV3RecordsStreamLockstep sends each record only after reading the
// report of the one before: reports are written as records are
// acknowledged, while the request body is still open.
func TestV3RecordsStreamLockstep(t *testing.T) {
	e := newProxyEnv(t)
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const record = `{"value":{"type":"JSON","data":%d}}`
	pw, _, sc := openStream(t, ctx, e, v3Records, fmt.Sprintf(record, 0))
	for i := range 5 {
		if r := nextReport(t, sc); r.ErrorCode != http.StatusOK || r.Offset != int64(i) {
			t.Fatalf("report %d: %+v", i, r)
		}
		if _, err := fmt.Fprintf(pw, record, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if r := nextReport(t, sc); r.Offset != 5 {
		t.Fatalf("last report: %+v", r)
	}
	if sc.Scan() {
		t.Fatalf("report past the last record: %q", sc.Bytes())
	}
}

// TestV3RecordsStreamEnds checks how a stream ends when its body cannot be
// read on: every record before gets its report, then one last report says
// why.
func TestV3RecordsStreamEnds(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.Limits.MaxBodyBytes = 1 << 10 })
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)
	good := `{"value":{"type":"JSON","data":1}}`
	for _, tt := range []struct {
		name, body string
		codes      []int
		message    string
	}{
		{"not JSON", good + good + `{"value":}` + good, []int{200, 200, 400}, "Error processing JSON"},
		{"truncated", good + `{"value":{"type":"JSON"`, []int{200, 400}, "Error processing JSON"},
		{"record too large", good + `{"value":{"type":"STRING","data":"` + strings.Repeat("x", 3<<10) + `"}}` + good, []int{200, 413}, "larger than 1024 bytes"},
		{"wrong types go on", good + `{"partition_id":"x"}` + `[]` + good, []int{200, 400, 400, 200}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.mustDo(t, http.StatusOK, "POST", v3Records, tt.body)
			reps := reports(t, r.body)
			if len(reps) != len(tt.codes) {
				t.Fatalf("%d reports, want %d: %s", len(reps), len(tt.codes), r.body)
			}
			for i, rep := range reps {
				var v streamReport
				if err := json.Unmarshal(rep, &v); err != nil || v.ErrorCode != tt.codes[i] {
					t.Fatalf("report %d: %s, want error_code %d", i, rep, tt.codes[i])
				}
				if i == len(reps)-1 && !strings.Contains(v.Message, tt.message) {
					t.Errorf("last report %s does not say %q", rep, tt.message)
				}
			}
		})
	}
}

// FuzzRecordStream checks recordStream.decode's invariants (see its doc)
// over arbitrary bodies, read in chunks of any size: the records and
// errors it decodes are those of a json.Decoder over the same body, value
// by value, until the body stops being JSON.
func FuzzRecordStream(f *testing.F) {
	for _, seed := range []string{
		`{"value":{"type":"JSON","data":1}}`,
		`{"value":{"type":"JSON","data":"ONE"}} {"value":{"type":"JSON","data":"TWO"}}` + "\n" + `{"value":{"type":"BINARY","data":"bad!"}}{"value":{"type":"STRING","data":"FOUR"}}`,
		`{"partition_id":"x"}[]{"value":{"type":"JSON","data":1}}`, `{"offset":1} {"key":{"type":"STRING","data":"k"},"headers":[{"name":"h","value":"aA=="}]}`,
		`null nulltrue 12{"value":{"type":"JSON"}}-3 "s"`, `1x`, `{}{`, `{"value":}`, `{"value":{"type":"JSON"`, `}`, ` `, ``, "\n\t\r ",
		`{"value":{"type":"JSON","data":[1,{"a":"\u00e9\ud800"}]},"timestamp":"2021-02-05T19:14:42.5Z","partition_id":1}`,
		`{"Value":{"Type":"STRING","data":"x"},"value":{"data":"y"}}`, `1.`, `-`, `{"a":1}}`, `[[[[`, `"abc`,
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(7))
		f.Add([]byte(seed), uint8(255))
	}
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8) {
		const limit = 1 << 30
		s := &recordStream{topic: "t", body: &recordLimit{r: &chunkReader{b: bytes.Clone(body), n: int(chunk) + 1}, max: limit}}
		s.dec = newStreamJSON(s.body, limit)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		for i := 0; ; i++ {
			rec, st := s.decode()
			var in v3Record
			err := dec.Decode(&in)
			if err == io.EOF {
				if st != nil {
					t.Fatalf("%q: record %d past the last value: %+v", body, i, st.res)
				}
				return
			}
			if st == nil {
				t.Fatalf("%q: value %d not decoded (json: %v)", body, i, err)
			}
			var want *kgo.Record
			last := false
			switch {
			case err == nil:
				want = new(kgo.Record)
				mem := newRecordBytes(0)
				_, err = in.record(want, "t", &mem)
			case errors.As(err, new(*json.UnmarshalTypeError)), strings.HasPrefix(err.Error(), "json: unknown field "):
				err = decodeError(err)
			case errors.As(err, new(*json.SyntaxError)), errors.Is(err, io.ErrUnexpectedEOF):
				err, last = badRequest("Error processing JSON: "+err.Error()), true
			default:
				t.Fatalf("%q: json: %v", body, err)
			}
			if err != nil {
				want = nil
			}
			var got, wantErr *apiError
			if (st.res.Err == nil) != (err == nil) || err != nil && (!errors.As(st.res.Err, &got) || !errors.As(err, &wantErr) || *got != *wantErr) {
				t.Fatalf("%q: value %d: error %v, want %v", body, i, st.res.Err, err)
			}
			if st.last != last || (rec == nil) != (want == nil) || want != nil && !reflect.DeepEqual(rec, want) {
				t.Fatalf("%q: value %d: record %+v (last %v), want %+v (last %v)", body, i, rec, st.last, want, last)
			}
			if last {
				if rec, st := s.decode(); rec != nil || st != nil {
					t.Fatalf("%q: a record after the last: %+v", body, st)
				}
				return
			}
		}
	})
}

// chunkReader reads b n bytes at a time, the last ones with io.EOF when n
// is odd.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.b[:min(r.n, len(r.b))])
	r.b = r.b[k:]
	if len(r.b) == 0 && r.n%2 == 1 {
		return k, io.EOF
	}
	return k, nil
}

// TestRecordStreamLimit checks that a record of a stream may be as long as
// the limit and no longer, space between records aside, and that the
// stream reads little past a record too long.
func TestRecordStreamLimit(t *testing.T) {
	const limit = 64
	record := func(n int) string { // a record of n bytes
		return `{"value":{"type":"STRING","data":"` + strings.Repeat("x", n-37) + `"}}`
	}
	for _, tt := range []struct {
		name, body string
		chunk      int
		codes      []int
	}{
		{"at the limit", record(limit) + record(limit), 1 << 20, []int{0, 0}},
		{"past the limit", record(limit) + record(limit+1) + record(limit), 1 << 20, []int{0, 413}},
		{"past the limit, slowly", record(limit) + record(limit+1) + record(limit), 1, []int{0, 413}},
		{"space between", record(limit) + strings.Repeat(" \n", 100<<10) + record(limit), 1000, []int{0, 0}},
		{"much too long", record(limit) + record(10<<20), 100 << 10, []int{0, 413}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &chunkReader{b: []byte(tt.body), n: tt.chunk}
			s := &recordStream{topic: "t", body: &recordLimit{r: src, max: 1 << 30}}
			s.dec = newStreamJSON(s.body, limit)
			var codes []int
			for {
				_, st := s.decode()
				if st == nil {
					break
				}
				code := 0
				if st.res.Err != nil {
					code = errorFor(st.res.Err).Status
				}
				codes = append(codes, code)
			}
			if fmt.Sprint(codes) != fmt.Sprint(tt.codes) {
				t.Fatalf("records %v, want %v", codes, tt.codes)
			}
			if read := len(tt.body) - len(src.b); tt.codes[len(tt.codes)-1] == 413 && read > 2*limit+1+streamMinRead {
				t.Errorf("read %d bytes of a stream of %d for a too-long record", read, len(tt.body))
			}
		})
	}
}
