package main

import (
	"context"
	"net/http"
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
	k, addr := startEmbeddedKrest(t, "--partitions", "2")

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

// TestMaxRequestPartitions checks the bound on partitions one request may
// create or add, through the REST API: past it a 400 that says so, and no
// topic or partition created.
func TestMaxRequestPartitions(t *testing.T) {
	k, _ := startEmbeddedKrest(t, "--partitions", "1", "--max-request-partitions", "8")
	_, body := k.get(t, "/v3/clusters")
	i := strings.Index(body, `"cluster_id":"`)
	if i < 0 {
		t.Fatalf("GET /v3/clusters: %s", body)
	}
	id := body[i+len(`"cluster_id":"`):]
	topics := "/v3/clusters/" + id[:strings.IndexByte(id, '"')] + "/topics"

	resp, body := k.post(t, topics, "application/json", `{"topic_name":"huge","partitions_count":9}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "9 partitions are more than the 8 one request may create") {
		t.Errorf("POST %s 9 partitions: %d %s, want 400 saying why", topics, resp.StatusCode, body)
	}
	if status, _ := k.get(t, topics+"/huge"); status != http.StatusNotFound {
		t.Errorf("GET %s/huge: %d, want 404: the refused request created the topic", topics, status)
	}
	if resp, body := k.post(t, topics, "application/json", `{"topic_name":"t","partitions_count":8}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s 8 partitions: %d %s", topics, resp.StatusCode, body)
	}
	req, err := http.NewRequest(http.MethodPatch, k.url+topics+"/t", strings.NewReader(`{"partitions_count":17}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	presp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusBadRequest {
		t.Errorf("PATCH %s/t to 17 partitions (9 more): %d, want 400", topics, presp.StatusCode)
	}
	if _, body := k.get(t, topics+"/t"); !strings.Contains(body, `"partitions_count":8`) {
		t.Errorf("after a refused PATCH: %s, want 8 partitions still", body)
	}
}
