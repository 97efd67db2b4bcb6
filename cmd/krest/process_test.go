package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafkatest"
)

// TestAtLeastOnceAcrossKill kills -9 a krest mid-way through a backlog,
// at the moment the broker receives one of its offset commits, and starts
// another. The first krest's log lines wait up to 2s in its buffer, longer
// than the 1s between commits, so a commit that ran ahead of the log would
// be caught. No record is lost: each one below the group's committed
// offsets was logged by the first krest, and the second logs every record
// from those offsets on exactly once and none below them. So the
// duplicates are exactly the records the first logged after its last
// commit: at most one commit interval of its work, which the test's slow
// broker bounds to about 10 k records.
func TestAtLeastOnceAcrossKill(t *testing.T) {
	const n, group = 30_000, "message-consumer-group"
	c := kafkatest.NewFake(t)
	// Small batches, so that fetches can be small.
	cl := kafkatest.NewClient(t, c.Brokers(), kgo.MaxBufferedRecords(n), kgo.ProducerBatchMaxBytes(2<<10))
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 3, -1, nil, "messages"); err != nil {
		t.Fatal(err)
	}
	if err := produceMessages(ctx, cl, 0, n); err != nil {
		t.Fatal(err)
	}
	// A slow broker: each fetch holds one batch of a partition (about 35
	// records) and is answered after 10ms, so a krest consumes at most
	// about 10 k records a second and is mid-backlog at its first commit.
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		f := req.(*kmsg.FetchRequest)
		f.MinBytes, f.MaxBytes = 1, 6<<10
		for i := range f.Topics {
			for j := range f.Topics[i].Partitions {
				f.Topics[i].Partitions[j].PartitionMaxBytes = 2 << 10
			}
		}
		c.SleepControl(func() { <-time.After(10 * time.Millisecond) })
		return nil, nil, false
	})
	// The survivor waits a session timeout for the killed member.
	args := []string{"--brokers", strings.Join(c.Brokers(), ","), "--session-timeout", "6s", "--log-flush-interval", "2s"}
	first := startProcess(t, args...)

	// Once the first krest has consumed, kill it when its next commit
	// that moves an offset reaches the broker, which then applies it.
	var consuming atomic.Bool
	killed := make(chan struct{})
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !consuming.Load() || req.(*kmsg.OffsetCommitRequest).Group != group {
			return nil, nil, false
		}
		c.DropControl()
		first.kill()
		close(killed)
		return nil, nil, false
	})
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if len(consumedAt(first.logs.String())) == 0 {
			return errors.New("first krest consumed nothing yet")
		}
		return nil
	})
	consuming.Store(true)
	select {
	case <-killed:
	case <-time.After(30 * time.Second):
		t.Fatal("the first krest made no commit in 30s")
	}
	commits := committedOffsets(t, adm, group) // final: its member is dead
	before := consumedAt(first.logs.String())
	if logged := sum(perPartition(before)); logged >= n {
		t.Fatalf("the first krest logged all %d records before its commit; the test needs a slower broker", n)
	}
	ends, err := adm.ListEndOffsets(ctx, "messages")
	if err != nil {
		t.Fatal(err)
	}

	second := startProcess(t, args...)
	var after map[int32]map[int64]logLine
	kafkatest.WaitFor(t, 120*time.Second, func() error {
		after = consumedAt(second.logs.String())
		var missing int64
		ends.Each(func(end kadm.ListedOffset) {
			missing += end.Offset - max(commits[end.Partition], 0) - int64(len(after[end.Partition]))
		})
		if missing > 0 {
			return fmt.Errorf("second krest has %d records to go", missing)
		}
		return nil
	})
	ends.Each(func(end kadm.ListedOffset) {
		p, commit := end.Partition, max(commits[end.Partition], 0)
		lost := 0
		for o := range commit {
			if _, ok := before[p][o]; !ok {
				lost++
			}
			if _, ok := after[p][o]; ok {
				t.Errorf("partition %d offset %d: below the committed offset %d, yet processed again", p, o, commit)
			}
		}
		if lost > 0 {
			t.Errorf("partition %d: %d records below the committed offset %d that the first krest never logged: lost", p, lost, commit)
		}
		for o := commit; o < end.Offset; o++ {
			if l := after[p][o]; l.times != 1 {
				t.Errorf("partition %d offset %d: processed %d times after the restart, want once", p, o, l.times)
			}
		}
	})
	seen := map[string]bool{}
	for _, logs := range []map[int32]map[int64]logLine{before, after} {
		for _, offsets := range logs {
			for _, l := range offsets {
				seen[l.id] = true
			}
		}
	}
	missing := 0
	for i := range n {
		if !seen[strconv.Itoa(i)] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d records were never processed", missing, n)
	}
	dups := 0
	for p, offsets := range before {
		for o := range offsets {
			if o >= max(commits[p], 0) {
				dups++
			}
		}
	}
	t.Logf("killed after logging %d of %d records, %d committed; %d processed again after the restart",
		sum(perPartition(before)), n, sum(commits), dups)
}

// produceMessages writes k messages with ids from, from+1, … to topic
// messages.
func produceMessages(ctx context.Context, cl *kgo.Client, from, k int) error {
	recs := make([]*kgo.Record, k)
	for i := range recs {
		id := strconv.Itoa(from + i)
		recs[i] = &kgo.Record{Topic: "messages", Key: []byte(id), Value: []byte(`{"id":"` + id + `","content":"stream"}`)}
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// committedOffsets returns group's committed offset of each partition of
// topic messages (-1 for none), or nothing before the group commits.
func committedOffsets(t *testing.T, adm *kadm.Client, group string) map[int32]int64 {
	t.Helper()
	offsets, err := adm.FetchOffsets(context.Background(), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.Topic == "messages" {
			out[o.Partition] = o.At
		}
	})
	return out
}

func sum(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += max(v, 0)
	}
	return n
}

func perPartition(logs map[int32]map[int64]logLine) map[int32]int64 {
	out := map[int32]int64{}
	for p, offsets := range logs {
		out[p] = int64(len(offsets))
	}
	return out
}

// wholeConsumedLineRE is a whole "consumed message" line: a process killed
// while writing may leave the last one cut.
var wholeConsumedLineRE = regexp.MustCompile(`(?m)msg="consumed message" id=(\S+) content=\S+ topic=messages partition=(\d+) offset=(\d+)$`)

// logLine is a record's id and how many times it was logged.
type logLine struct {
	id    string
	times int
}

// consumedAt returns what the consumer logged, by partition and offset.
func consumedAt(logs string) map[int32]map[int64]logLine {
	out := map[int32]map[int64]logLine{}
	for _, m := range wholeConsumedLineRE.FindAllStringSubmatch(logs, -1) {
		p, _ := strconv.Atoi(m[2])
		o, _ := strconv.ParseInt(m[3], 10, 64)
		if out[int32(p)] == nil {
			out[int32(p)] = map[int64]logLine{}
		}
		l := out[int32(p)][o]
		out[int32(p)][o] = logLine{id: m[1], times: l.times + 1}
	}
	return out
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
		t.Fatalf("SIGTERM: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("SIGTERM took %s to exit", took)
	}
	// Its log buffer was written out before it exited.
	if !strings.HasSuffix(strings.TrimSpace(first.logs.String()), "msg=stopped") {
		t.Error("the last line logged before exit, msg=stopped, is missing")
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
