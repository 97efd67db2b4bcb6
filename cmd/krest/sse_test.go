package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// TestServerSentEvents runs krest with KREST_SSE_HEARTBEAT's flag set
// and streams its topic: a produced message comes as an event, the
// heartbeat comment follows, and stopping krest ends the stream with its
// last comment.
func TestServerSentEvents(t *testing.T) {
	k, _ := startEmbeddedKrest(t, "--sse-heartbeat", "1s")
	k.produceMessage(t, "m1", "hello")
	req, err := http.NewRequestWithContext(t.Context(), "GET",
		k.url+"/v3/clusters/"+k.clusterID(t)+"/topics/messages/records:stream?from=earliest&format=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := k.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("records:stream: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("the stream ended: %v", sc.Err())
		}
		return sc.Text()
	}
	for line := next(); line != "event: record"; line = next() {
	}
	if data := next(); !strings.HasPrefix(data, "data: ") || !strings.Contains(data, "hello") {
		t.Errorf("event data %q, want the message", data)
	}
	for next() != ": ping" {
	}
	go func() { _ = k.stop() }()
	for line := next(); !strings.HasPrefix(line, ": krest is shutting down"); line = next() {
	}
}
