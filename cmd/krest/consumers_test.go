package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"krest/internal/kafkatest"
)

// v2Do sends a v2 request to k and returns the status and body.
func (k *krest) v2Do(t *testing.T, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, k.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.kafka.v2+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := k.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestConsumerInstances runs krest with its consumer instance settings:
// an instance's id names the node, past the cap creating one answers
// 503, and an instance reads what /api/messages produced, without the
// metadata fields when they are off.
func TestConsumerInstances(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	k := startKrest(t, "--embedded-addr", addr, "--in-memory", "--node-id", "node-7", "--consumer-max-instances", "1", "--consumer-record-metadata=false")
	k.waitReady(t)
	code, body := k.v2Do(t, "POST", "/consumers/g", `{"format":"binary","auto.offset.reset":"earliest"}`)
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	var created struct {
		InstanceID string `json:"instance_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || !strings.HasPrefix(created.InstanceID, "rest-consumer-node_7-") {
		t.Fatalf("create answered %s (%v), want an id of node node_7", body, err)
	}
	if code, body := k.v2Do(t, "POST", "/consumers/g", `{}`); code != http.StatusServiceUnavailable {
		t.Errorf("create past the cap: %d %s, want 503", code, body)
	}
	inst := "/consumers/g/instances/" + created.InstanceID
	if code, body := k.v2Do(t, "POST", inst+"/subscription", `{"topics":["messages"]}`); code != http.StatusNoContent {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	k.produceMessage(t, "m1", "hello")
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		code, body := k.v2Do(t, "GET", inst+"/records?timeout=500", "", "Accept", "application/vnd.kafka.binary.v2+json")
		switch {
		case code != http.StatusOK:
			t.Fatalf("records: %d %s", code, body)
		case strings.TrimSpace(body) == "[]":
			return errors.New("no records yet")
		case !strings.Contains(body, `"key":"bTE="`) || strings.Contains(body, `"timestamp"`):
			t.Fatalf("records answered %s, want message m1 without timestamp", body)
		}
		return nil
	})
	if code, body := k.v2Do(t, "DELETE", inst, ""); code != http.StatusNoContent {
		t.Errorf("delete: %d %s", code, body)
	}
}

// TestConsumerInstancesLeaveAtShutdown stops krest with an instance in a
// group: the instance leaves the group as krest shuts down.
func TestConsumerInstancesLeaveAtShutdown(t *testing.T) {
	fake := kafkatest.NewFake(t)
	k := startKrest(t, "--brokers", strings.Join(fake.Brokers(), ","), "--consumer=false")
	k.waitReady(t)
	if code, body := k.v2Do(t, "POST", "/consumers/g", `{"name":"a"}`); code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := k.v2Do(t, "POST", "/consumers/g/instances/a/subscription", `{"topics":["messages"]}`); code != http.StatusNoContent {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	adm := kadm.NewClient(kafkatest.NewClient(t, fake.Brokers()))
	members := func() (int, error) {
		ds, err := adm.DescribeGroups(context.Background(), "g")
		if err != nil {
			return 0, err
		}
		return len(ds["g"].Members), ds.Error()
	}
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		n, err := members()
		if err == nil && n != 1 {
			err = fmt.Errorf("the group has %d members", n)
		}
		return err
	})
	if err := k.stop(); err != nil {
		t.Fatal(err)
	}
	if n, err := members(); err != nil || n != 0 {
		t.Errorf("after shutdown the group has %d members (%v), want 0", n, err)
	}
}

// TestConsumerSettingsExit2 runs the binary with consumer instance
// settings that cannot work: it exits 2 with one line for each.
func TestConsumerSettingsExit2(t *testing.T) {
	cmd := exec.Command(krestBinary, "--consumer-max-instances", "0", "--consumer-instance-timeout", "1ms")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("got %v, want exit status 2\n%s", err, out)
	}
	for _, want := range []string{"consumer instance timeout must be at least 1s", "consumer max instances must be positive"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
