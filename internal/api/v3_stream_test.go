package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
