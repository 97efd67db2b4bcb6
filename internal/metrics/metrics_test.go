package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestObserveRequest checks that requests are counted by route pattern,
// method and code only: one series per combination, however many requests.
func TestObserveRequest(t *testing.T) {
	m := New()
	for range 100 {
		m.ObserveRequest("/topics/{topic_name}", "POST", 200, time.Millisecond)
	}
	m.ObserveRequest("/topics/{topic_name}", "POST", 404, 2*time.Second)
	m.ObserveRequest("/v3/clusters", "GET", 200, time.Millisecond)

	body := scrape(t, m)
	if n := strings.Count(body, "krest_http_request_duration_seconds_count{"); n != 3 {
		t.Errorf("%d series, want 3: one per route, method and code", n)
	}
	for _, want := range []string{
		`krest_http_request_duration_seconds_count{code="200",method="POST",route="/topics/{topic_name}"} 100`,
		`krest_http_request_duration_seconds_count{code="404",method="POST",route="/topics/{topic_name}"} 1`,
		`krest_http_request_duration_seconds_bucket{code="404",method="POST",route="/topics/{topic_name}",le="1"} 0`,
		`krest_http_request_duration_seconds_bucket{code="404",method="POST",route="/topics/{topic_name}",le="2.5"} 1`,
		`krest_http_request_duration_seconds_count{code="200",method="GET",route="/v3/clusters"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestCounters checks each counter and the error class label.
func TestCounters(t *testing.T) {
	m := New()
	m.Produced(3)
	m.Produced(2)
	m.ProduceFailed("unavailable")
	m.ProduceFailed("unavailable")
	m.ProduceFailed("too_large")
	m.Consumed()
	m.DeadLettered()
	m.CommitFailed()
	m.CommitFailed()
	body := scrape(t, m)
	for _, want := range []string{
		"krest_produced_records_total 5",
		`krest_produce_errors_total{class="unavailable"} 2`,
		`krest_produce_errors_total{class="too_large"} 1`,
		"krest_consumed_records_total 1",
		"krest_dead_lettered_records_total 1",
		"krest_consumer_commit_errors_total 2",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestHandler scrapes the handler as Prometheus does: the text format with
// krest's metrics, the Go and process collectors, and a Kafka client's
// hooks once registered.
func TestHandler(t *testing.T) {
	m := New()
	m.Produced(1)
	m.KafkaHooks("producer")
	body := scrape(t, m)
	for _, want := range []string{
		"# TYPE krest_produced_records_total counter",
		"krest_produced_records_total 1",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	// A second client's hooks register beside the first, by label.
	m.KafkaHooks("consumer")
	if _, err := m.reg.Gather(); err != nil {
		t.Errorf("gather after two clients' hooks: %v", err)
	}
}

// scrape gets the metrics through Handler.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	return string(b)
}
