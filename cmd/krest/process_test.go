package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// TestAtLeastOnceAcrossKill kills -9 a krest mid-way through a backlog and
// starts another: every record is processed at least once across both.
func TestAtLeastOnceAcrossKill(t *testing.T) {
	const n = 50_000
	c := kafkatest.NewCluster(t)
	fillTopic(t, c.Brokers(), "messages", n)
	// The survivor waits a session timeout for the killed member.
	args := []string{"--brokers", strings.Join(c.Brokers(), ","), "--session-timeout", "6s"}

	first := startProcess(t, args...)
	kafkatest.WaitFor(t, 60*time.Second, func() error {
		if got := strings.Count(first.logs.String(), "consumed message"); got < n/20 {
			return fmt.Errorf("first krest consumed %d", got)
		}
		return nil
	})
	first.kill()
	before := consumedIDs(first.logs.String())
	if len(before) >= n {
		t.Fatalf("first krest consumed all %d records before the kill; the test needs a larger backlog", n)
	}

	second := startProcess(t, args...)
	var after map[string]int
	kafkatest.WaitFor(t, 120*time.Second, func() error {
		logs := second.logs.String()
		if got := len(before) + strings.Count(logs, "consumed message"); got < n {
			return fmt.Errorf("consumed %d of %d", got, n)
		}
		after = consumedIDs(logs)
		for i := range n {
			if id := strconv.Itoa(i); before[id]+after[id] == 0 {
				return fmt.Errorf("record %s not processed yet", id)
			}
		}
		return nil
	})
	dups := 0
	for i := range n {
		if id := strconv.Itoa(i); before[id]+after[id] > 1 {
			dups++
		}
	}
	t.Logf("killed after %d records; %d processed again after the restart", len(before), dups)
}

// TestEmbeddedRestart runs krest on its embedded broker, stops it with
// SIGTERM (exit 0) and starts it again on the same data: the records and
// the group's committed offsets are still there.
func TestEmbeddedRestart(t *testing.T) {
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(kafkatest.FreePort(t))
	args := []string{"--embedded-addr", addr, "--data-dir", dir}

	first := startProcess(t, args...)
	first.waitReady(t)
	for i := range 20 {
		first.produceMessage(t, "first-"+strconv.Itoa(i), "x")
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if got := len(consumedIDs(first.logs.String())); got < 20 {
			return fmt.Errorf("consumed %d of 20", got)
		}
		return nil
	})
	start := time.Now()
	if err := first.stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, first.logs)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("SIGTERM took %s to exit", took)
	}

	second := startProcess(t, args...)
	second.waitReady(t)
	second.produceMessage(t, "second", "x")
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if consumedIDs(second.logs.String())["second"] == 0 {
			return errors.New("second message not consumed yet")
		}
		return nil
	})
	if ids := consumedIDs(second.logs.String()); len(ids) != 1 {
		t.Errorf("after the restart the group processed %v again; its offsets were lost", ids)
	}
	if recs := kafkatest.Collect(t, []string{addr}, "messages", 21, 10*time.Second); len(recs) != 21 {
		t.Errorf("topic holds %d records after the restart, want 21", len(recs))
	}
}

// TestEmbeddedPortTaken starts krest where a broker already listens: it
// exits 1 and says how to use the broker that is there.
func TestEmbeddedPortTaken(t *testing.T) {
	c := kafkatest.NewFake(t)
	addr := c.Brokers()[0]
	out, err := exec.Command(krestBinary, "--embedded-addr", addr, "--in-memory", "--http-addr", "127.0.0.1:0").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("got %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "KREST_BROKERS="+addr) {
		t.Errorf("message does not say how to use the broker there:\n%s", out)
	}
}

// TestBadConfigExits2 checks that a bad setting exits 2 with one line.
func TestBadConfigExits2(t *testing.T) {
	cmd := exec.Command(krestBinary, "--produce-timeout", "never")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("got %v, want exit status 2\n%s", err, out)
	}
	if lines := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; lines > 3 {
		t.Errorf("want a short reason, got %d lines:\n%s", lines, out)
	}
}

// fillTopic creates topic with 3 partitions, unless it exists, and writes n
// messages with ids "0" to n-1.
func fillTopic(t *testing.T, brokers []string, topic string, n int) {
	t.Helper()
	cl := kafkatest.NewClient(t, brokers, kgo.MaxBufferedRecords(n))
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 3, -1, nil, topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		id := strconv.Itoa(i)
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(id), Value: []byte(`{"id":"` + id + `","content":"backlog"}`)}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
