package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"krest/internal/kafkatest"
)

// TestShutdownOrder sends SIGTERM to a krest with a shutdown delay while a
// records stream is open: during the delay /readyz answers 503 and
// requests are still served; then the stream ends with a last report
// saying why, the listener closes, and krest exits 0.
func TestShutdownOrder(t *testing.T) {
	c := kafkatest.NewCluster(t)
	const delay = 2 * time.Second
	k := startProcess(t, "--brokers", strings.Join(c.Brokers(), ","), "--consumer=false", "--shutdown-delay", delay.String())
	k.waitReady(t)
	k.produceMessage(t, "before", "x")

	// An open stream: one record sent, its report read.
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", k.url+"/v3/clusters/"+k.clusterID(t)+"/topics/messages/records", pr)
	req.Header.Set("Content-Type", "application/json")
	go func() { _, _ = io.WriteString(pw, `{"value":{"type":"JSON","data":1}}`) }()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	reports := bufio.NewScanner(resp.Body)
	if !reports.Scan() || !strings.Contains(reports.Text(), `"error_code":200`) {
		t.Fatalf("first report %q", reports.Text())
	}

	signalled := time.Now()
	exited := make(chan error, 1)
	go func() { exited <- k.stop() }()
	kafkatest.WaitFor(t, delay, func() error {
		if code, _ := tryGet(k.url + "/readyz"); code != http.StatusServiceUnavailable {
			return fmt.Errorf("readyz %d during the shutdown delay", code)
		}
		return nil
	})
	if time.Since(signalled) < delay {
		k.produceMessage(t, "during the delay", "x")
	}
	if !reports.Scan() || !strings.Contains(reports.Text(), `"error_code":503`) || !strings.Contains(reports.Text(), "shutting down") {
		t.Errorf("last report %q, want the shutdown's", reports.Text())
	}
	if ended := time.Since(signalled); ended < delay {
		t.Errorf("the stream ended %s after the signal, before the %s delay", ended, delay)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("krest still running 30s after SIGTERM\n%s", k.logs)
	}
	if code, err := tryGet(k.url + "/healthz"); err == nil {
		t.Errorf("listener still answers (%d) after exit", code)
	}
}

// tryGet is a GET that reports a refused connection instead of failing.
func tryGet(url string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
