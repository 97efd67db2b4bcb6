package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
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
	Partition     int32  `json:"partition_id"`
	Offset        int64  `json:"offset"`
	DeliveryCount int    `json:"delivery_count"`
	Token         string `json:"token"`
	Value         struct {
		Data string `json:"data"`
	} `json:"value"`
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
	if reason := kafkatest.Header(dead[0], queue.HeaderReason); reason != "rejected" || kafkatest.Header(dead[0], consume.HeaderTopic) != "jobs" {
		t.Errorf("dead letter %q with headers %+v, want the rejected record of jobs", dead[0].Value, dead[0].Headers)
	}
	if err := node0.stop(); err != nil {
		t.Fatalf("node0 stopped: %v", err)
	}
	again := node1.lease(t, cluster, "workers", "jobs", 1)
	if again[0].Offset != got[2].Offset || again[0].DeliveryCount != 2 {
		t.Errorf("after node0 stopped, node1 leased offset %d at delivery %d; want offset %d at delivery 2",
			again[0].Offset, again[0].DeliveryCount, got[2].Offset)
	}
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

// postJSON posts body to url and decodes a 200's answer into out,
// within 30 s; it returns the status.
func postJSON(ctx context.Context, url, body string, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// fate is what became of one record in TestQueueWorkersNodeKilled, by
// the acknowledgements answered ok.
type fate struct {
	accepted, rejected int
	// deliveries is the highest delivery count leased.
	deliveries int
	// unsure: an acknowledgement's answer was lost (its node died), so it
	// may have been applied.
	unsure bool
}

// TestQueueWorkersNodeKilled: six workers lease and settle 300 records
// through a round-robin load balancer over three krest nodes; one record
// in ten they reject, one in ten they release at its first delivery, the
// others they accept. A third of the way, one node is killed (its leases
// go with it: their acks are lease_lost, and the brokers deliver the
// records again; five it has held since the start for a minute come back
// at once) and taken out of the rotation. Once every record is settled,
// each is accepted once or dead-lettered, and the share group has no lag:
// none lost.
func TestQueueWorkersNodeKilled(t *testing.T) {
	const records, workers, nodes = 300, 6, 3
	c := kafkatest.NewCluster(t)
	brokers := c.Brokers()
	cl := kafkatest.NewClient(t, brokers)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, nodes, -1, nil, "jobs"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range records {
		recs = append(recs, &kgo.Record{Topic: "jobs", Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kc := startKrestCluster(t, strings.Join(brokers, ","), nodes, "--share-lock-duration", "2s")
	cluster := kc.nodes[0].clusterID(t)
	base := kc.proxy.url + "/v3/clusters/" + cluster + "/share-groups/workers"
	// The node to kill holds leases of a minute when it dies.
	heldLeases := kc.nodes[2].lease(t, cluster, "workers", "jobs", 5)
	held := map[string]bool{}
	for _, r := range heldLeases {
		held[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = true
	}

	var (
		mu                                     sync.Mutex
		fates                                  = map[string]*fate{} // by partition/offset
		settled, leases, redelivered, lostAcks int
		failed                                 int // requests without an answer
	)
	stop, killAt := make(chan struct{}), make(chan struct{})
	var kill sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var ans struct{ Records []leased }
				body := fmt.Sprintf(`{"topics":["jobs"],"max_records":%d,"wait_ms":500,"lease_ms":10000}`, 1+w%3*(queueBatch-1)/2)
				if status, err := postJSON(ctx, base+"/records:lease?format=STRING", body, &ans); err != nil || status != http.StatusOK {
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				if len(ans.Records) == 0 {
					continue
				}
				acks := make([]string, len(ans.Records))
				for i, r := range ans.Records {
					n, _ := strconv.Atoi(r.Value.Data)
					action := "accept"
					switch {
					case n%10 == 3:
						action = "reject"
					case n%10 == 5 && r.DeliveryCount == 1:
						action = "release"
					}
					acks[i] = action
				}
				var items []string
				for i, r := range ans.Records {
					items = append(items, fmt.Sprintf(`{"token":%q,"action":%q}`, r.Token, acks[i]))
				}
				var res struct{ Results []struct{ Status string } }
				status, err := postJSON(ctx, base+"/acks", "["+strings.Join(items, ",")+"]", &res)
				answered := err == nil && status == http.StatusOK && len(res.Results) == len(items)
				mu.Lock()
				leases += len(ans.Records)
				if !answered {
					failed++
				}
				for i, r := range ans.Records {
					k := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
					f := fates[k]
					if f == nil {
						f = &fate{}
						fates[k] = f
					}
					if r.DeliveryCount > 1 {
						redelivered++
					}
					f.deliveries = max(f.deliveries, r.DeliveryCount)
					switch {
					case !answered:
						f.unsure = true
					case res.Results[i].Status == "lease_lost":
						lostAcks++
					case res.Results[i].Status != "ok":
					case acks[i] == "accept":
						f.accepted++
						settled++
					case acks[i] == "reject":
						f.rejected++
						settled++
					}
				}
				if settled >= records/3 {
					kill.Do(func() { close(killAt) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-killAt:
	case <-ctx.Done():
		t.Fatal("a third of the records were not settled in time")
	}
	killedAt := time.Now()
	kc.nodes[2].kill()
	kc.lb.down(2)
	var items []string
	for _, r := range heldLeases {
		items = append(items, fmt.Sprintf(`{"token":%q,"action":"accept"}`, r.Token))
	}
	var res struct{ Results []struct{ Status string } }
	if status, err := postJSON(ctx, base+"/acks", "["+strings.Join(items, ",")+"]", &res); err != nil || status != http.StatusOK {
		t.Fatalf("acks of the killed node's leases: %d %v", status, err)
	}
	for i, r := range res.Results {
		if r.Status != "lease_lost" {
			t.Errorf("ack of the killed node's lease %d: %s, want lease_lost", i, r.Status)
		}
	}
	// Every record settled: accepted or rejected, answered ok, or its
	// acknowledgement's answer lost with the node; and the share group
	// has nothing left to deliver, where the brokers count it (a lag of
	// -1 is a partition they do not), so that a record whose lost answer
	// was not applied has come again and been settled.
	kafkatest.WaitFor(t, 2*time.Minute, func() error {
		mu.Lock()
		n := 0
		for _, f := range fates {
			if f.accepted > 0 || f.rejected > 0 || f.unsure {
				n++
			}
		}
		mu.Unlock()
		if n < records {
			return fmt.Errorf("%d of %d records settled", n, records)
		}
		offsets, err := adm.DescribeShareGroupOffsets(ctx, "workers")
		if err != nil {
			return err
		}
		lag := int64(0)
		offsets["workers"].Offsets.Each(func(o kadm.ShareOffset) { lag += max(o.Lag, 0) })
		if lag != 0 {
			return fmt.Errorf("share group lag %d", lag)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	drained := time.Since(killedAt)
	ends, err := adm.ListEndOffsets(ctx, "jobs")
	if err != nil {
		t.Fatal(err)
	}
	letters := map[string]string{}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != records {
		t.Fatalf("%d records in jobs, want %d", total, records)
	}
	deadEnds, err := adm.ListEndOffsets(ctx, queue.DeadLetterTopic("jobs"))
	if err != nil {
		t.Fatal(err)
	}
	var deadTotal int64
	deadEnds.Each(func(o kadm.ListedOffset) { deadTotal += max(o.Offset, 0) })
	// A record whose reject was written but not answered (its node died)
	// comes again and is dead-lettered again: at least once.
	deadTwice := 0
	for _, r := range kafkatest.Collect(t, brokers, queue.DeadLetterTopic("jobs"), int(deadTotal), 10*time.Second) {
		k := kafkatest.Header(r, consume.HeaderPartition) + "/" + kafkatest.Header(r, consume.HeaderOffset)
		if _, twice := letters[k]; twice {
			deadTwice++
		}
		letters[k] = kafkatest.Header(r, queue.HeaderReason)
	}
	var accepted, rejected, maxed, unsure, missing int
	ends.Each(func(o kadm.ListedOffset) {
		for off := range o.Offset {
			k := fmt.Sprintf("%d/%d", o.Partition, off)
			f := fates[k]
			if f == nil {
				f = &fate{}
			}
			reason, lettered := letters[k]
			if held[k] && f.deliveries < 2 {
				t.Errorf("record %s, held by the killed node, was not delivered again", k)
			}
			switch {
			case f.accepted > 1:
				t.Errorf("record %s accepted %d times", k, f.accepted)
			case f.accepted == 1 && lettered:
				t.Errorf("record %s accepted and dead-lettered (%s)", k, reason)
			case f.accepted == 1:
				accepted++
			case lettered && reason == "rejected":
				rejected++
			case lettered:
				maxed++
			case f.unsure:
				unsure++ // settled at the brokers (the lag above), its answer lost with the node
			default:
				missing++
				t.Errorf("record %s neither accepted nor dead-lettered", k)
			}
		}
	})
	t.Logf("records %d, workers %d, nodes %d, one killed after %d settled, the rest settled %s after: accepted %d, dead-lettered %d "+
		"(rejected %d, max deliveries %d; %d twice), settled with the answer lost %d; leased %d times, %d redeliveries, "+
		"%d acks lease_lost, %d requests unanswered; lost %d",
		records, workers, nodes, records/3, drained.Round(10*time.Millisecond), accepted, rejected+maxed, rejected, maxed, deadTwice, unsure,
		leases, redelivered, lostAcks, failed, missing)
	if unsure+deadTwice > workers*queueBatch {
		t.Errorf("%d records settled with their answer lost and %d dead-lettered twice, more than the %d a batch of each worker holds",
			unsure, deadTwice, workers*queueBatch)
	}
}

// queueBatch is the most records a worker of TestQueueWorkersNodeKilled
// leases at once.
const queueBatch = 9

// TestQueueBrokerDeadLetters runs krest with KREST_SHARE_DEAD_LETTERS=broker
// on Kafka 4.4 (share.version 2): a rejected record is archived by the
// brokers and written to the group's own dead-letter topic, with their
// __dlq.errors.* headers, and krest writes no dead letter of its own.
func TestQueueBrokerDeadLetters(t *testing.T) {
	kafkatest.SkipIfNoKafka(t)
	c := kafkatest.NewCluster(t)
	brokers := c.Brokers()
	cl := kafkatest.NewClient(t, brokers)
	if level, _ := kafkatest.FinalizedFeature(t, cl, "share.version"); level < 2 {
		t.Skipf("the brokers' share.version is %d: their dead-letter queue needs 2 (Kafka 4.4)", level)
	}
	const topic, dlq, group = "orders", "dlq.orders", "order-workers"
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, -1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{kafkatest.DeadLetterTopicEnable: kadm.StringPtr("true")}, dlq); err != nil {
		t.Fatal(err)
	}
	kafkatest.SetGroupConfigs(t, cl, group, map[string]string{kafkatest.ShareDeadLetterTopic: dlq, kafkatest.ShareDeadLetterCopyRecord: "true"})
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("good")}, &kgo.Record{Topic: topic, Value: []byte("bad")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k := startKrest(t, "--brokers", strings.Join(brokers, ","), "--share-dead-letters", "broker")
	k.waitReady(t)
	cluster := k.clusterID(t)
	got := k.lease(t, cluster, group, topic, 2)
	var items []string
	for _, r := range got {
		action := "accept"
		if r.Offset == 1 {
			action = "reject"
		}
		items = append(items, fmt.Sprintf(`{"token":%q,"action":%q}`, r.Token, action))
	}
	resp, body := k.post(t, "/v3/clusters/"+cluster+"/share-groups/"+group+"/acks", "application/json", "["+strings.Join(items, ",")+"]")
	if resp.StatusCode != http.StatusOK || strings.Count(body, `"status":"ok"`) != 2 {
		t.Fatalf("acks: %d %s", resp.StatusCode, body)
	}
	dead := kafkatest.Collect(t, brokers, dlq, 1, 30*time.Second)
	if string(dead[0].Value) != "bad" || kafkatest.Header(dead[0], "__dlq.errors.group") != group || kafkatest.Header(dead[0], "__dlq.errors.offset") != "1" {
		t.Errorf("dead letter %q with headers %+v, want the rejected record of %s", dead[0].Value, dead[0].Headers, group)
	}
	topics, err := adm.ListTopics(ctx, queue.DeadLetterTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has(queue.DeadLetterTopic(topic)) {
		t.Errorf("krest made %s, with the brokers dead-lettering", queue.DeadLetterTopic(topic))
	}
}
