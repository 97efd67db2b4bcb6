//go:build fault

// Fault tests: krest in front of a real three-node Apache Kafka cluster
// while brokers crash, restart and lose their quorum, and while krest
// instances die or share the load. Each test prints one line of figures and
// appends them as JSON to the file KREST_FAULT_REPORT names, if set:
//
//	KREST_TEST_KAFKA=kafka go test -tags fault -run Fault -timeout 30m ./cmd/krest/
//	KREST_TEST_KAFKA=kafka KREST_FAULT_SHORT=1 go test -tags fault -run Fault -timeout 15m ./cmd/krest/
//
// KREST_FAULT_SHORT=1, or -short, shortens the load windows and the backlog
// for CI.

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/certs/certstest"
	"krest/internal/kafkatest"
)

// faultPlan holds the sizes of the fault tests: the issue's, or shorter ones
// for CI.
type faultPlan struct {
	short   bool
	clients int           // concurrent HTTP clients of a produce load
	load    time.Duration // a produce load's whole window
	warmup  time.Duration // load before the fault
	outage  time.Duration // quorum loss: how long two brokers stay down
	settle  time.Duration // load after the cluster is whole again
	backlog int           // two instances: records waiting for the group
}

func newFaultPlan() faultPlan {
	if testing.Short() || os.Getenv("KREST_FAULT_SHORT") == "1" {
		return faultPlan{short: true, clients: 32, load: 8 * time.Second, warmup: 2 * time.Second,
			outage: 4 * time.Second, settle: 2 * time.Second, backlog: 100_000}
	}
	return faultPlan{clients: 32, load: 20 * time.Second, warmup: 5 * time.Second,
		outage: 10 * time.Second, settle: 5 * time.Second, backlog: 200_000}
}

// faultProduceTimeout is krest's --produce-timeout in the fault tests, the
// bound on every answer to a produce request.
const faultProduceTimeout = 10 * time.Second

// faultCluster starts three Kafka nodes (replication factor 3, min ISR 2),
// skipping the test unless KREST_TEST_KAFKA=kafka, secured as
// KREST_TEST_KAFKA_SECURITY says (SASL_SSL for scram: the test's clients and
// krest log in by themselves). A new consumer group waits 3 s for its
// members before its first assignment, Kafka's default, so that krest
// instances started together share the partitions from the first record.
func faultCluster(t *testing.T) *kafkatest.Kafka {
	t.Helper()
	kafkatest.SkipIfNoKafka(t)
	return kafkatest.StartKafka(t, kafkatest.KafkaOptions{Nodes: 3, Security: kafkatest.SecurityKind(t),
		Config: map[string]string{"group.initial.rebalance.delay.ms": "3000"}})
}

// startFaultKrests runs n krest processes on kc at once, producing only
// unless args say otherwise, and waits until they are ready.
func startFaultKrests(t *testing.T, kc *kafkatest.Kafka, n int, args ...string) []*krest {
	t.Helper()
	var ca *certstest.CA
	if os.Getenv("KREST_FAULT_HTTPS") != "" {
		// krest serves HTTPS, its clients trusting a CA of the test's.
		ca = certstest.NewCA(t)
		cert, key := ca.Issue(t, "krest").WriteFiles(t, t.TempDir(), "krest")
		args = append(args, "--tls-cert", cert, "--tls-key", key)
	}
	ks := make([]*krest, n)
	for i := range ks {
		ks[i] = startProcess(t, append([]string{"--brokers", strings.Join(kc.Brokers(), ","),
			"--produce-timeout", faultProduceTimeout.String(), "--consumer=false"}, args...)...)
		if ca != nil {
			ks[i].trust(ca.Pool())
		}
	}
	for _, k := range ks {
		k.waitReady(t)
	}
	faultCA = ca
	return ks
}

// faultCA is the CA the fault tests' krests serve HTTPS under, or nil for
// plain HTTP (KREST_FAULT_HTTPS).
var faultCA *certstest.CA

// TestFaultLeaderKill kills -9 the broker leading every partition being
// written while 32 clients produce, then starts it again: every 2xx is in
// the topic, every other answer is a 503 with Retry-After, and produce
// recovers without restarting krest.
func TestFaultLeaderKill(t *testing.T) {
	plan := newFaultPlan()
	kc := faultCluster(t)
	const leader = 1
	createTopicLedBy(t, kc, "messages", 3, leader)
	k := startFaultKrests(t, kc, 1)[0]

	rep := underLoad(t, plan, kc, []string{k.url}, false, func(l *produceLoad) time.Time {
		killed := time.Now()
		kc.Kill(t, leader)
		t.Logf("killed node %d; node %d leads %s later", leader, kc.LeaderOf(t, "messages", 0), time.Since(killed).Round(time.Millisecond))
		l.waitAcked(t, killed, 100, time.Minute)
		kc.StartNode(t, leader)
		return killed
	})
	rep.record(t, "leader-kill", kc, plan)
}

// TestFaultRollingRestart restarts the three brokers one by one under load,
// each once the previous one is back in every ISR: no acknowledged record
// is lost, and the only failures are 503s with Retry-After.
func TestFaultRollingRestart(t *testing.T) {
	plan := newFaultPlan()
	kc := faultCluster(t)
	k := startFaultKrests(t, kc, 1)[0]

	rep := underLoad(t, plan, kc, []string{k.url}, false, func(*produceLoad) time.Time {
		first := time.Now()
		for node := range kc.Nodes() {
			kc.StopNode(t, node)
			kc.StartNode(t, node)
			waitInSync(t, kc, "messages")
			t.Logf("node %d restarted and in sync %s after the first stop", node, time.Since(first).Round(time.Millisecond))
		}
		return first
	})
	rep.record(t, "rolling-restart", kc, plan)
}

// TestFaultQuorumLoss stops two of the three brokers under load: acks=all
// with min.insync.replicas 2 cannot be met, so produce fails within the
// produce timeout and /readyz says why. Brought back, the brokers take
// writes again through the same krest.
//
// The surviving broker refuses writes with NOT_ENOUGH_REPLICAS, but a
// leader that lost its ISR while a record waited for it answers
// NOT_LEADER_OR_FOLLOWER or REQUEST_TIMED_OUT, and the record may survive.
// krest cannot tell these apart once a produce request carrying the
// record was written, so such records answer 504, "may or may not be
// written", which is the truth; only records no request carried answer
// 503. The test allows 504s and counts them.
func TestFaultQuorumLoss(t *testing.T) {
	plan := newFaultPlan()
	kc := faultCluster(t)
	k := startFaultKrests(t, kc, 1)[0]

	rep := underLoad(t, plan, kc, []string{k.url}, true, func(l *produceLoad) time.Time {
		kc.StopNode(t, 1)
		kc.StopNode(t, 2)
		down := time.Now()
		kafkatest.WaitFor(t, 30*time.Second, func() error {
			if code, body := k.get(t, "/readyz"); code != http.StatusServiceUnavailable {
				return fmt.Errorf("readyz %d %s with two of three brokers down", code, body)
			}
			return nil
		})
		_, reason := k.get(t, "/readyz")
		t.Logf("two brokers down: readyz 503 after %s: %s", time.Since(down).Round(time.Millisecond), reason)
		// A client may first wait out a request sent before the stop.
		kafkatest.WaitFor(t, 2*faultProduceTimeout+5*time.Second, func() error {
			if l.count(func(r request) bool {
				return (r.status == http.StatusServiceUnavailable || r.status == http.StatusGatewayTimeout) && r.start.After(down)
			}) == 0 {
				return errors.New("no produce sent after two of three brokers stopped has answered 503 or 504")
			}
			return nil
		})
		l.hold(time.Until(down.Add(plan.outage)))

		// Recovery counts from the quorum's return: node 1 ready.
		kc.StartNode(t, 1)
		quorum := time.Now()
		kc.StartNode(t, 2)
		k.waitReady(t)
		t.Logf("brokers back: krest ready %s after the quorum", time.Since(quorum).Round(time.Millisecond))
		l.waitAcked(t, quorum, 100, time.Minute)
		return quorum
	})
	rep.record(t, "quorum-loss", kc, plan)
}

// TestFaultGroupFailover runs two krest processes in one consumer group on a
// backlog that keeps growing, and kills -9 one of them mid-way: every record
// is processed at least once across both logs, and the survivor takes over
// the partitions of the one killed.
//
// A krest drains a backlog of 100,000 records in about a second, so a fixed
// backlog may be gone before the kill; records written all along keep each
// partition busy until the survivor has taken over.
func TestFaultGroupFailover(t *testing.T) {
	plan := newFaultPlan()
	kc := faultCluster(t)
	fillTopic(t, kc.Brokers(), "messages", plan.backlog)
	feed := startFeed(t, kc.Brokers(), plan.backlog)
	// Both start at once and join the group's first assignment (see
	// faultCluster), so that each has its share of the backlog when one
	// is killed. The group waits a session timeout for it.
	ks := startFaultKrests(t, kc, 2, "--consumer=true", "--session-timeout", "6s")
	victim, survivor := ks[0], ks[1]
	victimLog, survivorLog := newConsumedLog(victim.logs), newConsumedLog(survivor.logs)

	// Kill once the victim has committed on the partitions it consumes, so
	// that the survivor starts them past their first offset.
	adm := kadm.NewClient(kafkatest.NewClient(t, kc.Brokers()))
	kafkatest.WaitFor(t, 2*time.Minute, func() error {
		victimLog.update()
		survivorLog.update()
		if got := victimLog.lines; got < plan.backlog/100 || len(victimLog.recent(time.Second)) == 0 || len(survivorLog.recent(time.Second)) == 0 {
			return fmt.Errorf("the krest to kill consumed %d; recently from partitions %v and %v",
				got, victimLog.recent(time.Second), survivorLog.recent(time.Second))
		}
		committed := committedOffsets(t, adm, "message-consumer-group")
		for _, p := range victimLog.recent(time.Second) {
			if committed[p] <= 0 {
				return fmt.Errorf("nothing committed yet on partition %d of the krest to kill", p)
			}
		}
		return nil
	})
	// The partitions the victim is consuming, which the survivor is to
	// take over.
	owned := victimLog.recent(time.Second)
	survivorLog.mark()
	victim.kill()
	killed := time.Now()
	victimLog.update()
	t.Logf("killed one krest after %d records, %d of them by it, while it consumed partitions %v", victimLog.lines+survivorLog.lines, victimLog.lines, owned)

	var recovery time.Duration
	kafkatest.WaitFor(t, 2*time.Minute, func() error {
		survivorLog.update()
		if at, ok := survivorLog.firstSinceMark(owned); ok {
			recovery = at.Sub(killed)
			return nil
		}
		return fmt.Errorf("the survivor consumed %v since the kill, not yet all of %v", survivorLog.recent(time.Since(killed)), owned)
	})
	n := feed.stop()
	kafkatest.WaitFor(t, 5*time.Minute, func() error {
		survivorLog.update()
		if missing := n - countProcessed(n, victimLog.ids, survivorLog.ids); missing > 0 {
			return fmt.Errorf("%d of %d records not processed yet", missing, n)
		}
		return nil
	})

	rep := faultReport{Acknowledged: n, Recovery: recovery}
	rep.Found = countProcessed(n, victimLog.ids, survivorLog.ids)
	rep.Lost = n - rep.Found
	for i := range n {
		id := strconv.Itoa(i)
		rep.Duplicates += max(victimLog.ids[id]+survivorLog.ids[id]-1, 0)
	}
	// Processing is at least once: the survivor starts each partition it
	// takes over at the victim's last committed offset, and the victim
	// commits what it processed every second (the consumer client's
	// AutoCommitInterval). So a record is processed twice only if the
	// victim logged it after its last commit: within a commit interval
	// before the kill, a second of slack added for a commit in flight and
	// the log being read late.
	bound := victimLog.since(killed.Add(-2 * time.Second))
	if rep.Duplicates > bound {
		t.Errorf("%d records processed twice, more than the %d the killed krest processed in its last two seconds", rep.Duplicates, bound)
	}
	t.Logf("%d records processed twice, bound %d", rep.Duplicates, bound)
	rep.record(t, "group-failover", kc, plan)
}

// feed writes records to a topic until stopped, its ids going on from a
// backlog's.
type feed struct {
	done chan struct{}
	sent chan int
	once sync.Once
	n    int
}

// startFeed writes about 10,000 messages a second to topic messages, with
// ids from first up, until stop.
func startFeed(t *testing.T, brokers []string, first int) *feed {
	t.Helper()
	cl := kafkatest.NewClient(t, brokers)
	f := &feed{done: make(chan struct{}), sent: make(chan int, 1)}
	t.Cleanup(func() { f.stop() })
	go func() {
		next := first
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-f.done:
				f.sent <- next
				return
			case <-tick.C:
			}
			const k = 100
			if err := produceMessages(context.Background(), cl, next, k); err != nil {
				t.Errorf("feed: %v", err)
				f.sent <- next
				return
			}
			next += k
		}
	}()
	return f
}

// stop ends the feed and returns the number of records in the topic, the
// backlog's included: ids "0" to the result less one.
func (f *feed) stop() int {
	f.once.Do(func() {
		close(f.done)
		f.n = <-f.sent
	})
	return f.n
}

// TestFaultScaleOut produces through two krest instances, alternating
// between them: every 2xx is in the topic exactly once.
func TestFaultScaleOut(t *testing.T) {
	plan := newFaultPlan()
	kc := faultCluster(t)
	ks := startFaultKrests(t, kc, 2)

	rep := underLoad(t, plan, kc, []string{ks[0].url, ks[1].url}, false, nil) // verify fails on a duplicate
	rep.record(t, "scale-out", kc, plan)
}

// underLoad produces through targets with plan.clients clients for the
// plan's load window. After the warm-up it runs fault, if not nil, which
// returns the moment recovery is measured from; the load then goes on for
// the rest of the window, and at least plan.settle. It returns the figures,
// checked against the topic (see verify).
func underLoad(t *testing.T, plan faultPlan, kc *kafkatest.Kafka, targets []string, ambiguous bool, fault func(*produceLoad) time.Time) faultReport {
	t.Helper()
	l := startLoad(t, plan.clients, targets...)
	var mark time.Time
	rest := plan.load
	if fault != nil {
		l.hold(plan.warmup)
		mark = fault(l)
		rest = max(time.Until(l.started.Add(plan.load)), plan.settle)
	}
	l.hold(rest)
	rep := l.verify(t, kc.Brokers(), "messages", ambiguous)
	if !mark.IsZero() {
		rep.Recovery = l.recovery(mark)
	}
	return rep
}

// request is one POST /api/messages as a load client saw it.
type request struct {
	id         string
	client     int
	start, end time.Time
	status     int // 0 when no HTTP answer came (err)
	retryAfter string
	err        error
	partition  int32 // where a 201 says the record is
	offset     int64
}

// produceLoad is a set of HTTP clients posting messages with unique ids to
// krest until stopped, each request to the next target in turn. It records
// every answer. After any answer other than 201 a client pauses briefly, so
// that failures answered at once cannot spin.
type produceLoad struct {
	targets []string
	http    *http.Client
	started time.Time
	stopc   chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	mu   sync.Mutex
	reqs []request
}

// startLoad starts clients goroutines posting to targets; t.Cleanup stops
// them.
func startLoad(t *testing.T, clients int, targets ...string) *produceLoad {
	t.Helper()
	l := &produceLoad{
		targets: targets,
		http: &http.Client{
			Transport: loadTransport(clients),
			// A produce request is answered within the produce timeout;
			// longer is a hang, recorded as a failure.
			Timeout: faultProduceTimeout + 5*time.Second,
		},
		started: time.Now(),
		stopc:   make(chan struct{}),
	}
	for c := range clients {
		l.wg.Go(func() { l.client(c) })
	}
	t.Cleanup(l.stop)
	return l
}

// loadTransport keeps a connection per client, trusting faultCA when the
// krests serve HTTPS.
func loadTransport(clients int) *http.Transport {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	if faultCA != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: faultCA.Pool()}
	}
	return tr
}

func (l *produceLoad) client(c int) {
	for seq := 0; ; seq++ {
		select {
		case <-l.stopc:
			return
		default:
		}
		r := l.post(c, seq)
		l.mu.Lock()
		l.reqs = append(l.reqs, r)
		l.mu.Unlock()
		if r.status != http.StatusCreated {
			select {
			case <-l.stopc:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// post sends one message with id "c<client>-<seq>".
func (l *produceLoad) post(c, seq int) request {
	r := request{id: fmt.Sprintf("c%d-%d", c, seq), client: c, start: time.Now()}
	target := l.targets[(c+seq)%len(l.targets)]
	resp, err := l.http.Post(target+"/api/messages", "application/json",
		strings.NewReader(`{"id":"`+r.id+`","content":"fault"}`))
	if err != nil {
		r.end, r.err = time.Now(), err
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r.end, r.status, r.retryAfter, r.err = time.Now(), resp.StatusCode, resp.Header.Get("Retry-After"), err
	if r.status == http.StatusCreated {
		var p produced
		if err := json.Unmarshal(body, &p); err != nil || p.ID != r.id {
			r.err = fmt.Errorf("201 with body %s", body)
		}
		r.partition, r.offset = p.Partition, p.Offset
	}
	return r
}

// hold lets the load run for d.
func (l *produceLoad) hold(d time.Duration) {
	if d > 0 {
		<-time.After(d)
	}
}

// stop stops the clients and waits for their last answers.
func (l *produceLoad) stop() {
	l.once.Do(func() {
		close(l.stopc)
		l.wg.Wait()
		l.http.CloseIdleConnections()
	})
}

// count returns how many requests so far satisfy match.
func (l *produceLoad) count(match func(request) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if match(r) {
			n++
		}
	}
	return n
}

// waitAcked waits until n requests sent after since got a 201: produce
// works again.
func (l *produceLoad) waitAcked(t *testing.T, since time.Time, n int, within time.Duration) {
	t.Helper()
	kafkatest.WaitFor(t, within, func() error {
		if got := l.count(func(r request) bool { return r.status == http.StatusCreated && r.start.After(since) }); got < n {
			return fmt.Errorf("%d requests sent since %s acknowledged, want %d", got, since.Format("15:04:05.000"), n)
		}
		return nil
	})
}

// recovery is the longest any client went without a 201 after mark (mark
// itself counting as one): how long the fault kept a steady client from
// writing.
func (l *produceLoad) recovery(mark time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := map[int]time.Time{}
	var worst time.Duration
	for _, r := range l.reqs { // each client's requests are in order
		if r.end.Before(mark) || r.status != http.StatusCreated {
			continue
		}
		from, ok := last[r.client]
		if !ok {
			from = mark
		}
		worst = max(worst, r.end.Sub(from))
		last[r.client] = r.end
	}
	return worst
}

// verify reads topic from the beginning with a native client and checks
// every answer of the load: a 201 is in the topic where it said, a 503
// carries Retry-After and is not in the topic (krest says 503 only when no
// produce request can have carried the record; see produce.ErrNotWritten),
// every answer came within the produce timeout (plus a second for a loaded
// machine), and nothing else was answered but, if ambiguous is set, 504s.
// Any acknowledged record missing fails the test.
//
// No record may be in the topic twice: each id is posted once, and the
// producer is idempotent, so its retries never write a record again and it
// never produces a record a second time. The bound on duplicates is zero.
// It returns the figures.
func (l *produceLoad) verify(t *testing.T, brokers []string, topic string, ambiguous bool) faultReport {
	t.Helper()
	l.stop()
	found := readTopic(t, brokers, topic)
	var rep faultReport
	other := map[string][]request{}
	for _, r := range l.reqs {
		if took := r.end.Sub(r.start); r.status != 0 && took > faultProduceTimeout+time.Second {
			t.Errorf("%s answered %d after %s, past the produce timeout %s", r.id, r.status, took, faultProduceTimeout)
		}
		switch {
		case r.status == http.StatusCreated && r.err == nil:
			rep.Acknowledged++
			at, ok := found[r.id]
			switch {
			case !ok:
				rep.Lost++
				if rep.Lost <= 10 {
					t.Errorf("acknowledged %s (partition %d offset %d) is not in the topic", r.id, r.partition, r.offset)
				}
				continue
			case !slices.Contains(at, recordAt{r.partition, r.offset}):
				t.Errorf("acknowledged %s at partition %d offset %d is in the topic at %v", r.id, r.partition, r.offset, at)
			}
			rep.Found++
		case r.status == http.StatusServiceUnavailable && r.retryAfter != "":
			rep.Unavailable++
			if _, ok := found[r.id]; ok {
				rep.UnavailableFound++
				t.Errorf("%s answered 503, which says not written, yet it is in the topic at %v (sent %s, answered %s)",
					r.id, found[r.id], r.start.Format("15:04:05.000"), r.end.Format("15:04:05.000"))
			}
		case r.status == http.StatusGatewayTimeout && ambiguous:
			rep.Other++
			rep.Ambiguous++
			if _, ok := found[r.id]; ok {
				rep.AmbiguousFound++
			}
		default:
			rep.Other++
			kind := fmt.Sprintf("status %d, Retry-After %q, err %v", r.status, r.retryAfter, r.err)
			other[kind] = append(other[kind], r)
		}
	}
	for id, at := range found {
		if len(at) > 1 {
			rep.Duplicates += len(at) - 1
			if rep.Duplicates <= 10 {
				t.Errorf("%s is in the topic %d times, at %v; the bound is once", id, len(at), at)
			}
		}
	}
	if rep.Lost > 0 {
		t.Errorf("%d of %d acknowledged records are not in the topic", rep.Lost, rep.Acknowledged)
	}
	for kind, rs := range other {
		r := rs[0]
		t.Errorf("%d answers neither 201 nor 503 with Retry-After: %s; the first to %s, sent at %s, answered after %s",
			len(rs), kind, r.id, r.start.Format("15:04:05.000"), r.end.Sub(r.start).Round(time.Millisecond))
	}
	if rep.Acknowledged == 0 {
		t.Error("no produce was acknowledged")
	}
	return rep
}

// recordAt is where a record is: its partition and offset.
type recordAt struct {
	partition int32
	offset    int64
}

// readTopic reads topic from the beginning to its end offsets at the time of
// the call and returns where each key is.
func readTopic(t *testing.T, brokers []string, topic string) map[string][]recordAt {
	t.Helper()
	left := partitionEnds(t, brokers, topic)
	for p, end := range left {
		if end == 0 {
			delete(left, p)
		}
	}
	cl := kafkatest.NewClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	found := map[string][]recordAt{}
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: partitions %v not read to their end offsets in time", topic, left)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("reading %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			found[string(r.Key)] = append(found[string(r.Key)], recordAt{r.Partition, r.Offset})
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return found
}

// partitionEnds returns the end offset of each partition of topic.
func partitionEnds(t *testing.T, brokers []string, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(kafkatest.NewClient(t, brokers)).ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	ends := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends
}

// faultReport is the outcome of a fault test.
type faultReport struct {
	Acknowledged int           // 2xx answers, or records in a backlog
	Found        int           // of those, in the topic (or processed)
	Lost         int           // of those, not in the topic (or never processed)
	Duplicates   int           // extra copies of a record
	Unavailable  int           // 503 answers with Retry-After
	Other        int           // any other answer, or none
	Recovery     time.Duration // how long the fault stopped work

	Ambiguous        int // of Other, 504s where the test allows them
	AmbiguousFound   int // of those, in the topic
	UnavailableFound int // 503s in the topic all the same (see verify)
}

// record logs r as one line and appends it as JSON to the file
// KREST_FAULT_REPORT names, if set.
func (r faultReport) record(t *testing.T, name string, kc *kafkatest.Kafka, plan faultPlan) {
	t.Helper()
	t.Logf("fault %s: acknowledged=%d found=%d lost=%d duplicates=%d 503s=%d other=%d recovery=%s",
		name, r.Acknowledged, r.Found, r.Lost, r.Duplicates, r.Unavailable, r.Other, r.Recovery.Round(time.Millisecond))
	if r.Ambiguous > 0 {
		t.Logf("fault %s: %d of the other answers are 504s, sent but unacknowledged in time; %d of them are in the topic",
			name, r.Ambiguous, r.AmbiguousFound)
	}
	path := os.Getenv("KREST_FAULT_REPORT")
	if path == "" {
		return
	}
	line, err := json.Marshal(map[string]any{
		"test": name, "kafka": kc.Version(), "security": kafkatest.SecurityKind(t), "short": plan.short, "failed": t.Failed(),
		"acknowledged": r.Acknowledged, "found": r.Found, "lost": r.Lost, "duplicates": r.Duplicates,
		"503s": r.Unavailable, "other": r.Other, "recovery_ms": r.Recovery.Milliseconds(),
		"504s": r.Ambiguous, "504s_found": r.AmbiguousFound, "503s_found": r.UnavailableFound,
		"time": time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("KREST_FAULT_REPORT: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatalf("KREST_FAULT_REPORT: %v", err)
	}
}

// createTopicLedBy creates topic with partitions partitions, each on every
// node with leader as its preferred replica, and waits until leader leads
// them all.
func createTopicLedBy(t *testing.T, kc *kafkatest.Kafka, topic string, partitions int32, leader int) {
	t.Helper()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for p := range partitions {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = p, []int32{int32(leader)}
		for n := range kc.Nodes() {
			if n != leader {
				a.Replicas = append(a.Replicas, int32(n))
			}
		}
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Topics, req.TimeoutMillis = []kmsg.CreateTopicsRequestTopic{rt}, 30_000
	resp, err := req.RequestWith(context.Background(), kafkatest.NewClient(t, kc.Brokers()))
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("creating %s led by node %d: %v", topic, leader, err)
	}
	for p := range partitions {
		if got := kc.LeaderOf(t, topic, p); got != leader {
			t.Fatalf("%s/%d is led by node %d, want %d", topic, p, got, leader)
		}
	}
}

// waitInSync waits until every node is in the ISR of every partition of
// topic, as a rolling restart does before taking the next broker down.
func waitInSync(t *testing.T, kc *kafkatest.Kafka, topic string) {
	t.Helper()
	adm := kadm.NewClient(kafkatest.NewClient(t, kc.Brokers(), kgo.MetadataMinAge(100*time.Millisecond)))
	kafkatest.WaitFor(t, time.Minute, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		topics, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return err
		}
		d := topics[topic]
		if d.Err != nil || len(d.Partitions) == 0 {
			return fmt.Errorf("%s: %v", topic, d.Err)
		}
		for _, p := range d.Partitions.Sorted() {
			if len(p.ISR) < kc.Nodes() {
				return fmt.Errorf("%s/%d has ISR %v", topic, p.Partition, p.ISR)
			}
		}
		return nil
	})
}

// consumedLog follows the "consumed message" lines of a krest's log as they
// come, without rereading what it has parsed. Times are when update saw a
// line, which trails its logging by at most a poll.
type consumedLog struct {
	logs      *logBuffer
	off       int
	lines     int
	ids       map[string]int      // times each id was processed
	seen      []time.Time         // when each line was seen, in order
	last      map[int32]time.Time // the latest line of each partition
	next      map[int32]int64     // the offset after the latest line of each partition
	marked    bool
	sinceMark map[int32]time.Time // the first line of each partition after mark
}

var consumedLineRE = regexp.MustCompile(`msg="consumed message" id=(\S+) .* partition=(\d+) offset=(\d+)`)

func newConsumedLog(logs *logBuffer) *consumedLog {
	return &consumedLog{logs: logs, ids: map[string]int{}, last: map[int32]time.Time{},
		next: map[int32]int64{}, sinceMark: map[int32]time.Time{}}
}

// update parses the complete lines logged since the last call.
func (c *consumedLog) update() {
	c.logs.mu.Lock()
	fresh := bytes.Clone(c.logs.buf.Bytes()[c.off:])
	c.logs.mu.Unlock()
	i := bytes.LastIndexByte(fresh, '\n')
	if i < 0 {
		return
	}
	fresh = fresh[:i+1]
	c.off += len(fresh)
	now := time.Now()
	for _, line := range bytes.Split(fresh, []byte{'\n'}) {
		m := consumedLineRE.FindSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(string(m[2]))
		offset, _ := strconv.ParseInt(string(m[3]), 10, 64)
		p := int32(n)
		c.lines++
		c.seen = append(c.seen, now)
		c.ids[string(m[1])]++
		c.last[p] = now
		c.next[p] = max(c.next[p], offset+1)
		if _, ok := c.sinceMark[p]; c.marked && !ok {
			c.sinceMark[p] = now
		}
	}
}

// since counts the lines seen at or after t.
func (c *consumedLog) since(t time.Time) int {
	i, _ := slices.BinarySearchFunc(c.seen, t, time.Time.Compare)
	return len(c.seen) - i
}

// recent returns the partitions with a line within d, sorted.
func (c *consumedLog) recent(d time.Duration) []int32 {
	var ps []int32
	for p, at := range c.last {
		if time.Since(at) <= d {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// mark parses what is logged so far, and from then on notes the first line
// of each partition.
func (c *consumedLog) mark() {
	c.update()
	c.marked = true
}

// firstSinceMark returns when the last of partitions first had a line after
// mark, and whether all of them have.
func (c *consumedLog) firstSinceMark(partitions []int32) (time.Time, bool) {
	var latest time.Time
	for _, p := range partitions {
		at, ok := c.sinceMark[p]
		if !ok {
			return time.Time{}, false
		}
		if at.After(latest) {
			latest = at
		}
	}
	return latest, len(partitions) > 0
}

// countProcessed counts the ids "0" to n-1 processed at least once in any of
// logs.
func countProcessed(n int, logs ...map[string]int) int {
	done := 0
	for i := range n {
		id := strconv.Itoa(i)
		for _, ids := range logs {
			if ids[id] > 0 {
				done++
				break
			}
		}
	}
	return done
}
