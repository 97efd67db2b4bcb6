package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/consume"
	"krest/internal/kafkatest"
	"krest/internal/queue"
)

// leased is a leased record as a worker reads it.
type leased struct {
	Offset        int64  `json:"offset"`
	DeliveryCount int    `json:"delivery_count"`
	Token         string `json:"token"`
}

// lease leases from group's share of topic on k until want records have
// come, within 20s, and returns them.
func (k *krest) lease(t *testing.T, cluster, group, topic string, want int) []leased {
	t.Helper()
	var got []leased
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		resp, body := k.post(t, "/v3/clusters/"+cluster+"/share-groups/"+group+"/records:lease", "application/json",
			fmt.Sprintf(`{"topics":[%q],"max_records":%d,"wait_ms":500,"lease_ms":60000}`, topic, want-len(got)))
		var ans struct{ Records []leased }
		if err := json.Unmarshal([]byte(body), &ans); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("lease: %d %s", resp.StatusCode, body)
		}
		got = append(got, ans.Records...)
		if len(got) < want {
			return fmt.Errorf("%d of %d records leased", len(got), want)
		}
		return nil
	})
	return got
}

// TestQueuesAcrossNodes runs two krest processes with a static peer list
// on one broker: records leased on node0 are accepted and rejected
// through node1 (the rejected one dead-lettered to jobs.dlq), and the
// one still held when node0 shuts down is delivered again through node1
// at once, at its second delivery, not after its lease of a minute or the
// brokers' lock of 30s.
func TestQueuesAcrossNodes(t *testing.T) {
	// The brokers' record locks are their default 30s: a record comes
	// again within lease's 20s only if released.
	fake := kafkatest.NewFake(t)
	cl := kafkatest.NewClient(t, fake.Brokers())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "jobs"); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "jobs", Value: []byte("a")}, &kgo.Record{Topic: "jobs", Value: []byte("b")},
		&kgo.Record{Topic: "jobs", Value: []byte("c")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kc := startKrestCluster(t, strings.Join(fake.Brokers(), ","), 2)
	node0, node1 := kc.nodes[0], kc.nodes[1]
	cluster := node0.clusterID(t)
	got := node0.lease(t, cluster, "workers", "jobs", 3)
	resp, body := node1.post(t, "/v3/clusters/"+cluster+"/share-groups/workers/acks", "application/json",
		fmt.Sprintf(`[{"token":%q,"action":"accept"},{"token":%q,"action":"reject"}]`, got[0].Token, got[1].Token))
	var res struct{ Results []struct{ Status string } }
	if err := json.Unmarshal([]byte(body), &res); resp.StatusCode != http.StatusOK || err != nil || len(res.Results) != 2 ||
		res.Results[0].Status != "ok" || res.Results[1].Status != "ok" {
		t.Fatalf("acks through node1: %d %s", resp.StatusCode, body)
	}
	dead := kafkatest.Collect(t, fake.Brokers(), queue.DeadLetterTopic("jobs"), 1, 20*time.Second)
	if reason := header(dead[0], queue.HeaderReason); reason != "rejected" || header(dead[0], consume.HeaderTopic) != "jobs" {
		t.Errorf("dead letter %q with headers %+v, want the rejected record of jobs", dead[0].Value, dead[0].Headers)
	}
	if err := node0.stop(); err != nil {
		t.Fatalf("node0 stopped: %v\n%s", err, node0.logs)
	}
	again := node1.lease(t, cluster, "workers", "jobs", 1)
	if again[0].Offset != got[2].Offset || again[0].DeliveryCount != 2 {
		t.Errorf("after node0 stopped, node1 leased offset %d at delivery %d; want offset %d at delivery 2",
			again[0].Offset, again[0].DeliveryCount, got[2].Offset)
	}
}

// header returns the value of r's header key, "" when none.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestQueueSettingsExit2 runs the binary with work queue settings that
// cannot work: it exits 2 with a line for each.
func TestQueueSettingsExit2(t *testing.T) {
	cmd := exec.Command(krestBinary, "--share-max-deliveries", "0", "--share-dead-letters", "both")
	cmd.Env = append(cmd.Environ(), "KREST_SHARE_AUTO_OFFSET_RESET=none")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("got %v, want exit status 2\n%s", err, out)
	}
	for _, want := range []string{"share max deliveries must be at least 1", `share auto offset reset must be earliest or latest, not "none"`,
		`share dead letters must be krest or broker, not "both"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
