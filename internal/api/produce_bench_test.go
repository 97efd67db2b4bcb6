package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// BenchmarkProduceRoutes produces 128-byte binary records through v2 and
// records:batch, 1, 10 and 100 a request, over HTTP to a kfake broker that
// shares the CPUs: a profile of krest's own cost per request, not of a
// deployment's throughput (cmd/krest-bench measures that).
func BenchmarkProduceRoutes(b *testing.B) {
	e := newProxyEnv(b)
	if _, err := kadm.NewClient(e.cl).CreateTopic(context.Background(), 1, -1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat("QUFB", 32)
	for _, n := range []int{1, 10, 100} {
		v2 := make([]string, n)
		batch := make([]string, n)
		for i := range n {
			v2[i] = `{"value":"` + value + `"}`
			batch[i] = fmt.Sprintf(`{"id":"%d","value":{"type":"BINARY","data":"%s"}}`, i, value)
		}
		for _, c := range []struct {
			name, path, contentType, body string
			status                        int
		}{
			{"v2", "/topics/bench", mediaV2Binary, `{"records":[` + strings.Join(v2, ",") + `]}`, http.StatusOK},
			{"batch", v3Topics + "/bench/records:batch", "application/json", `{"entries":[` + strings.Join(batch, ",") + `]}`, http.StatusMultiStatus},
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
