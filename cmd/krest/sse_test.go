package main

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"krest/internal/kafkatest"
)

// TestServerSentEvents runs krest with KREST_SSE_HEARTBEAT's flag set
// and streams its topic: a produced message comes as an event, the
// heartbeat comment follows, and stopping krest ends the stream with its
// last comment.
func TestServerSentEvents(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(kafkatest.FreePort(t)))
	k := startKrest(t, "--embedded-addr", addr, "--in-memory", "--consumer=false", "--sse-heartbeat", "1s")
	k.waitReady(t)
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
