package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"krest/internal/kafkatest"
)

// TestTopicRecreatedThroughAPI deletes a topic krest produced to and
// creates it again, both through krest's own v3 API: the next produce
// request is written to the new topic, with no restart, where franz-go
// alone would answer UNKNOWN_TOPIC_ID (404, 40403) from then on.
func TestTopicRecreatedThroughAPI(t *testing.T) {
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	status, body := k.get(t, "/v3/clusters")
	var clusters struct {
		Data []struct {
			ClusterID string `json:"cluster_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &clusters); status != http.StatusOK || err != nil || len(clusters.Data) != 1 {
		t.Fatalf("GET /v3/clusters: %d %s", status, body)
	}
	topics := "/v3/clusters/" + clusters.Data[0].ClusterID + "/topics"
	topic := topics + "/recreated"
	create := func() {
		t.Helper()
		if resp, body := k.post(t, topics, "application/json", `{"topic_name":"recreated"}`); resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", topics, resp.StatusCode, body)
		}
	}
	produce := func() (int, string) {
		t.Helper()
		resp, body := k.post(t, topic+"/records", "application/json", `{"value":{"type":"JSON","data":1}}`)
		return resp.StatusCode, body
	}

	create()
	for range 3 {
		if status, body := produce(); status != http.StatusOK || !strings.Contains(body, `"error_code":200`) {
			t.Fatalf("produce before the deletion: %d %s", status, body)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, k.url+topic, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d", topic, resp.StatusCode)
	}
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if status, body := k.get(t, topic); status != http.StatusNotFound {
			return &httpError{status, body}
		}
		return nil
	})
	create()
	recreated := time.Now()
	status, body = produce()
	if status != http.StatusOK || !strings.Contains(body, `"error_code":200`) || !strings.Contains(body, `"offset":0,`) {
		t.Fatalf("first produce after the recreation: %d %s, want 200 at offset 0 of the new topic", status, body)
	}
	t.Logf("first record written %s after the recreation", time.Since(recreated).Round(time.Millisecond))
	for i := range 3 {
		if status, body := produce(); status != http.StatusOK || !strings.Contains(body, `"error_code":200`) {
			t.Fatalf("produce %d after the recreation: %d %s", i+2, status, body)
		}
	}
}

// httpError is an answer a poll is still waiting to see change.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return http.StatusText(e.status) + ": " + e.body }
