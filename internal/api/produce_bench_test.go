package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/produce"
)

// BenchmarkProduceRoutes produces 128-byte binary records through v2,
// records:batch and the records route's stream, 1, 10 and 100 a request,
// over HTTP to a kfake broker that shares the CPUs: a profile of krest's
// own cost per request, not of a deployment's throughput (cmd/krest-bench
// measures that).
func BenchmarkProduceRoutes(b *testing.B) {
	e := newProxyEnv(b)
	if _, err := kadm.NewClient(e.cl).CreateTopic(context.Background(), 1, -1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat("QUFB", 32)
	for _, n := range []int{1, 10, 100} {
		v2 := make([]string, n)
		batch := make([]string, n)
		stream := make([]string, n)
		for i := range n {
			v2[i] = `{"value":"` + value + `"}`
			batch[i] = fmt.Sprintf(`{"id":"%d","value":{"type":"BINARY","data":"%s"}}`, i, value)
			stream[i] = `{"value":{"type":"BINARY","data":"` + value + `"}}`
		}
		for _, c := range []struct {
			name, path, contentType, body string
			status                        int
		}{
			{"v2", "/topics/bench", mediaV2Binary, `{"records":[` + strings.Join(v2, ",") + `]}`, http.StatusOK},
			{"batch", v3Topics + "/bench/records:batch", "application/json", `{"entries":[` + strings.Join(batch, ",") + `]}`, http.StatusMultiStatus},
			{"stream", v3Topics + "/bench/records", "application/json", strings.Join(stream, "\n"), http.StatusOK},
		} {
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := http.Post(e.url+c.path, c.contentType, strings.NewReader(c.body))
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != c.status {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// benchBodies are the bodies of 100 records the decoding benchmarks read:
// 128-byte binary values, as BenchmarkProduceRoutes sends them, and
// JSON values with a key, a header and a timestamp.
func benchBodies() map[string]string {
	value := strings.Repeat("QUFB", 32)
	var v2, v2JSON, batch, batchJSON, batchFull []string
	for i := range 100 {
		v2 = append(v2, `{"value":"`+value+`"}`)
		v2JSON = append(v2JSON, fmt.Sprintf(`{"key":"k%d","value":{"id":%d,"name":"user %d","tags":["a","b"]},"timestamp":1700000000123}`, i, i, i))
		batch = append(batch, fmt.Sprintf(`{"id":"%d","value":{"type":"BINARY","data":"%s"}}`, i, value))
		// krest-bench's batch rows: JSON values of 200 bytes.
		batchJSON = append(batchJSON, fmt.Sprintf(`{"id":"%d","value":{"type":"JSON","data":{"id":"%d","content":"%s"}}}`, i, i, strings.Repeat("x", 180)))
		batchFull = append(batchFull, fmt.Sprintf(`{"id":"%d","partition_id":0,"headers":[{"name":"trace","value":"dHJhY2U="}],`+
			`"key":{"type":"STRING","data":"k%d"},"value":{"type":"JSON","data":{"id":%d,"name":"user %d"}},"timestamp":"2024-02-03T04:05:06.789Z"}`, i, i, i, i))
	}
	return map[string]string{
		"v2":         `{"records":[` + strings.Join(v2, ",") + `]}`,
		"v2_json":    `{"records":[` + strings.Join(v2JSON, ",") + `]}`,
		"batch":      `{"entries":[` + strings.Join(batch, ",") + `]}`,
		"batch_json": `{"entries":[` + strings.Join(batchJSON, ",") + `]}`,
		"batch_full": `{"entries":[` + strings.Join(batchFull, ",") + `]}`,
		"record":     `{"headers":[{"name":"trace","value":"dHJhY2U="}],"key":{"type":"STRING","data":"k1"},"value":{"type":"BINARY","data":"` + value + `"},"timestamp":"2024-02-03T04:05:06.789Z"}`,
	}
}

// BenchmarkDecode decodes produce bodies of 100 records (one for the
// records route), each from a fresh copy, as a request's body is.
func BenchmarkDecode(b *testing.B) {
	bodies := benchBodies()
	for _, c := range []struct {
		name   string
		decode func([]byte) error
	}{
		{"v2", func(body []byte) error {
			_, err := decodeV2Produce(body, v2FormatBinary, "bench", -1, 1000)
			return err
		}},
		{"v2_json", func(body []byte) error {
			_, err := decodeV2Produce(body, v2FormatJSON, "bench", -1, 1000)
			return err
		}},
		{"batch", func(body []byte) error {
			_, err := decodeV3Batch(body, "bench", 1000)
			return err
		}},
		{"batch_json", func(body []byte) error {
			_, err := decodeV3Batch(body, "bench", 1000)
			return err
		}},
		{"batch_full", func(body []byte) error {
			_, err := decodeV3Batch(body, "bench", 1000)
			return err
		}},
		{"record", func(body []byte) error {
			_, _, err := decodeV3Record(body, "bench")
			return err
		}},
	} {
		body := []byte(bodies[c.name])
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			buf := make([]byte, len(body))
			for b.Loop() {
				copy(buf, body)
				if err := c.decode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAnswer writes the answers to 100 records: v2's offsets and a
// batch's reports, every record acknowledged in the same millisecond or
// every one failed for the same reason.
func BenchmarkAnswer(b *testing.B) {
	const n = 100
	ts := time.UnixMilli(1700000000123)
	recs := make([]kgo.Record, n)
	ok := make([]produce.Result, n)
	failed := make([]produce.Result, n)
	for i := range recs {
		recs[i] = kgo.Record{Topic: "bench", Partition: int32(i % 3), Offset: int64(1000 + i), Timestamp: ts, Value: make([]byte, 96)}
		ok[i] = produce.Result{Record: &recs[i]}
		failed[i] = produce.Result{Record: &recs[i], Err: produce.ErrTimeout}
	}
	entries := func() []batchEntry {
		es := make([]batchEntry, n)
		for i := range es {
			es[i] = batchEntry{id: strconv.Itoa(i), rec: &recs[i], types: v3Types{value: v3Binary}}
		}
		return es
	}
	for _, c := range []struct {
		name    string
		results []produce.Result
	}{{"ok", ok}, {"failed", failed}} {
		b.Run("v2/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 64+80*n)
			for b.Loop() {
				buf = appendV2Offsets(buf[:0], c.results)
			}
		})
		b.Run("batch/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			es := entries()
			for b.Loop() {
				for i := range es { // appendV3Batch takes each result into its entry
					es[i].rec, es[i].err = &recs[i], nil
				}
				appendV3Batch(es, c.results, "kfake")
			}
		})
	}
}
