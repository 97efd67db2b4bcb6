package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkV3Events reads 10000 records of 128 bytes from a kfake broker
// that shares the CPUs, as records:stream events and, the baseline, as
// pages of 1000 of the partition offset read: the ratio of the two is
// the stream's cost beside a read of the same records.
func BenchmarkV3Events(b *testing.B) {
	const n = 10_000
	e := newProxyEnv(b)
	if _, err := kadm.NewClient(e.cl).CreateTopic(context.Background(), 1, -1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	value := []byte(strings.Repeat("x", 128))
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "bench", Value: value}
	}
	if err := e.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	b.Run("events", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest("GET", e.url+v3Topics+"/bench/records:stream?from=earliest", nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			events := 0
			for events < n && sc.Scan() {
				if sc.Text() == "event: record" {
					events++
				}
			}
			resp.Body.Close()
			if events != n {
				b.Fatalf("%d events of %d", events, n)
			}
		}
	})
	b.Run("offset_read", func(b *testing.B) {
		for b.Loop() {
			for offset := int64(0); offset < n; {
				resp, err := http.Get(fmt.Sprintf("%s%s/bench/partitions/0/records?offset=%d&max_records=1000", e.url, v3Topics, offset))
				if err != nil {
					b.Fatal(err)
				}
				var page struct {
					NextOffset int64 `json:"next_offset"`
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || page.NextOffset <= offset {
					b.Fatalf("read at %d: %v, next %d", offset, err, page.NextOffset)
				}
				offset = page.NextOffset
			}
		}
	})
}
