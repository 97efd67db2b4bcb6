package main

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// TestEmbeddedAutoCreate checks the embedded broker under krest serve: it
// creates a missing topic for a Kafka client that asks, as a default Kafka
// broker does, while krest's own produce routes still create none without
// --auto-create-topics.
func TestEmbeddedAutoCreate(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(kafkatest.FreePort(t)))
	k := startKrest(t, "--embedded-addr", addr, "--in-memory", "--partitions", "2", "--consumer=false")
	k.waitReady(t)

	resp, body := k.post(t, "/topics/nope", "application/vnd.kafka.json.v2+json", `{"records":[{"value":1}]}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"error_code":40401`) {
		t.Errorf("POST /topics/nope: %d %s, want 40401 in place", resp.StatusCode, body)
	}
	if status, body := k.get(t, "/topics/nope"); status != http.StatusNotFound {
		t.Errorf("GET /topics/nope: %d %s: a REST produce created the topic", status, body)
	}

	cl := kafkatest.NewClient(t, []string{addr}, kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "newtopic", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("a Kafka client asking for auto-creation: %v", err)
	}
	status, body := k.get(t, "/topics/newtopic")
	if status != http.StatusOK || strings.Count(body, `"partition":`) != 2 {
		t.Errorf("GET /topics/newtopic: %d %s, want 2 partitions", status, body)
	}
}
