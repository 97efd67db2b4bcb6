package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumer is one row of the consume table.
type consumer struct {
	name  string
	title string
	env   []string // settings of a krest consumer, applied after --krest-env
	// start joins group on topic and starts consuming from the earliest offset; it returns once the
	// consumer is ready (for krest, once /readyz answers 200).
	start func(ctx context.Context, b *bench, c consumer, topic, group string) (*consuming, error)
}

// consumers are the consume rows, in the order each round runs them.
var consumers = []consumer{
	{name: "bare", title: "bare franz-go group poll loop (poll, commit)", start: startBareConsumer},
	{name: "krest-warn", title: "krest consumer group, log level warn", env: []string{"KREST_LOG_LEVEL=warn"},
		start: startKrestConsumer},
	{name: "krest-info", title: "krest consumer group, log level info (the default: a line per record)",
		env: []string{"KREST_LOG_LEVEL=info"}, start: startKrestConsumer},
	{name: "krest-v2", title: fmt.Sprintf("krest v2 consumer instance, reads of max_bytes=%d, a commit after each", v2ReadMaxBytes),
		env: []string{"KREST_LOG_LEVEL=warn"}, start: startKrestV2Consumer},
}

// consuming is a running consumer.
type consuming struct {
	proc     *proc                                    // the consuming process; nil when it runs inside the bench
	progress func(ctx context.Context) (int64, error) // records processed so far
	source   string                                   // what progress counts, for the report
	stop     func()
}

// pid returns the process whose CPU and memory are the consumer's.
func (c *consuming) pid() int {
	if c.proc == nil {
		return os.Getpid()
	}
	return c.proc.pid()
}

// progressInterval is how often a draining consumer's progress is sampled.
const progressInterval = 50 * time.Millisecond

// runConsume pre-fills a topic with --consume-records messages, then, --rounds times over, lets each
// consumer drain it in a fresh group. Each drain is split into its phases: start-up, group join, first
// fetch, and the steady state that follows, whose rate is the one the checks compare.
func (b *bench) runConsume(ctx context.Context) {
	fail := func(err error) { b.skip("consume", "consume", err) }
	topic, drop, err := b.freshTopic(ctx, "consume", b.opt.partitions)
	if err != nil {
		fail(err)
		return
	}
	defer drop()
	b.progress("consume: pre-filling %s with %d records", topic, b.opt.consumeRecords)
	if err := b.prefill(ctx, topic, b.opt.consumeRecords); err != nil {
		fail(err)
		return
	}
	drains := make([]*drainSum, len(consumers))
	for i := range drains {
		drains[i] = &drainSum{gateway: newTally(), broker: newTally()}
	}
	for round := range b.opt.rounds {
		for i, c := range consumers {
			if ctx.Err() != nil {
				return
			}
			d := drains[i]
			if d.err != nil {
				continue
			}
			if d.err = b.drain(ctx, c, topic, round, d); d.err == nil {
				b.progress("consume round %d/%d %-10s steady %9.0f rec/s", round+1, b.opt.rounds, c.name, d.lastSteady)
			}
		}
	}
	for i, c := range consumers {
		r := drains[i].result(c, b.opt.consumeRecords)
		b.rep.Consume = append(b.rep.Consume, r)
		b.progress("consume: %s", r.summary())
	}
}

// drainSum sums the drains of one consumer over the rounds.
type drainSum struct {
	rounds               int
	source               string
	startup, join, first time.Duration
	total                time.Duration
	steadyRecords        int64
	steadyTime           time.Duration
	meteredRecords       int64 // records processed while the meters ran
	gateway, broker      *meter
	lastSteady           float64 // the steady rate of the last drain, for progress
	err                  error
}

// result turns the sums into the consumer's row; records is the count of one drain.
func (d *drainSum) result(c consumer, records int64) consumeResult {
	r := consumeResult{Target: c.name, Title: c.title, Records: records, Rounds: d.rounds, Progress: d.source}
	if d.err != nil {
		r.Skipped, r.Error = skipReason(d.err), d.err.Error()
		return r
	}
	if d.rounds == 0 {
		r.Error = "no drain ran"
		return r
	}
	n := float64(d.rounds)
	r.StartupSec, r.JoinSec, r.FirstFetchSec = d.startup.Seconds()/n, d.join.Seconds()/n, d.first.Seconds()/n
	r.TotalSec = d.total.Seconds() / n
	r.RecordsPerSec = float64(records) * n / d.total.Seconds()
	r.SteadyRecords, r.SteadySec = d.steadyRecords, d.steadyTime.Seconds()
	if d.steadyRecords > 0 && d.steadyTime > 0 {
		r.SteadyRecordsPerSec = float64(d.steadyRecords) / d.steadyTime.Seconds()
	}
	r.Gateway, r.Broker = d.gateway.resources(d.meteredRecords), d.broker.resources(d.meteredRecords)
	r.Verification = fmt.Sprintf("%d of %d committed in each of %d rounds", records, records, d.rounds)
	return r
}

// prefill produces n messages to topic and checks the topic holds them.
func (b *bench) prefill(ctx context.Context, topic string, n int64) error {
	if err := b.produceKeyed(ctx, topic, n, nil); err != nil {
		return fmt.Errorf("pre-fill: %w", err)
	}
	got, err := b.kafka.records(ctx, topic)
	if err == nil && got != n {
		err = fmt.Errorf("pre-fill: topic holds %d records, want %d", got, n)
	}
	return err
}

// produceKeyed produces n messages to topic, message i keyed by i, calling before(i), when it is not nil,
// just before handing message i to the client; it returns once every message is acknowledged.
func (b *bench) produceKeyed(ctx context.Context, topic string, n int64, before func(i int64)) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Value
	for i := range n {
		id := strconv.FormatInt(i, 10)
		rec := &kgo.Record{Key: []byte(id), Value: messageBody(id, b.opt.bodyBytes)}
		if before != nil {
			before(i)
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d of %d records failed: %v", failed.Load(), n, firstErr.Load())
	}
	return nil
}

// drain runs consumer c on topic in a fresh group until it has processed every record and the group has
// committed them all, and adds its phases to d. The meters run over the steady state (see drainClock).
func (b *bench) drain(ctx context.Context, c consumer, topic string, round int, d *drainSum) error {
	n := b.opt.consumeRecords
	group := b.topicName(fmt.Sprintf("consume-%s-%d", c.name, round+1))
	start := time.Now()
	in, err := c.start(ctx, b, c, topic, group)
	if err != nil {
		return err
	}
	clock := drainClock{records: n, ready: time.Now()}
	gateway, broker := newMeter(in.pid()), newMeter(b.brokerPID())
	wait := func() {}
	err = poll(ctx, 24*time.Hour, progressInterval, func() error {
		if in.proc != nil && !in.proc.running() {
			return errGaveUp{in.proc.exitError()}
		}
		before := time.Now()
		got, err := in.progress(ctx)
		// The count was taken somewhere during the read.
		now := before.Add(time.Since(before) / 2)
		if err == nil {
			started, done := clock.sample(now, got, func() bool { return b.kafka.stable(ctx, group) })
			if started {
				gateway.begin()
				broker.begin()
				if round == 0 {
					wait = b.profile(in.proc, 2*time.Second, "consume-"+c.name)
				}
			}
			if done {
				return nil
			}
		}
		if clock.stalled(30 * time.Second) {
			return errGaveUp{fmt.Errorf("%s stalled at %d of %d processed records (last error: %v)", c.name, clock.last, n, err)}
		}
		return fmt.Errorf("%d of %d processed", got, n)
	})
	gateway.end()
	broker.end()
	wait()
	if err == nil {
		err = b.waitCommitted(ctx, in.proc, group, topic, n)
	}
	done := time.Now()
	in.stop()
	if err != nil {
		return err
	}
	if in.proc != nil {
		// At info level the log holds a line per record; it has served its purpose.
		os.Remove(in.proc.logPath)
	}
	d.rounds++
	d.source = in.source
	d.startup += clock.ready.Sub(start)
	d.join += clock.joined.Sub(clock.ready)
	d.first += clock.first.Sub(clock.joined)
	d.total += done.Sub(start)
	records, took := clock.steady()
	d.steadyRecords += records
	d.steadyTime += took
	d.lastSteady = 0
	if records > 0 {
		d.lastSteady = float64(records) / took.Seconds()
	}
	d.meteredRecords += n - clock.firstN
	d.gateway.absorb(gateway)
	d.broker.absorb(broker)
	return nil
}

// drainClock follows the progress samples of one drain and marks its phases: ready (set by the caller),
// joined (the group was first seen stable, or progress was), first (the first sample that shows a
// processed record) and below (the last sample before every record was processed). The steady state runs
// from first to below: both ends are measured counts, so neither start-up nor the last fetch and commit
// weigh on its rate.
type drainClock struct {
	records              int64 // records to drain
	ready                time.Time
	joined, first, below time.Time
	firstN, belowN, last int64
	lastMove             time.Time
}

// sample records that got records had been processed at t; stable asks whether the group is stable,
// until it has been seen so. It reports whether this is the first sample to show progress, and whether
// every record has been processed.
func (c *drainClock) sample(t time.Time, got int64, stable func() bool) (started, done bool) {
	if c.joined.IsZero() && (got > 0 || stable()) {
		c.joined = t
	}
	if got > 0 && c.first.IsZero() {
		c.first, c.firstN, started = t, got, true
	}
	if got != c.last || c.lastMove.IsZero() {
		c.last, c.lastMove = got, t
	}
	if got >= c.records {
		return started, true
	}
	if got > 0 {
		c.below, c.belowN = t, got
	}
	return started, false
}

// stalled reports whether progress has not moved for d.
func (c *drainClock) stalled(d time.Duration) bool {
	since := c.lastMove
	if since.IsZero() {
		since = c.ready
	}
	return time.Since(since) > d
}

// steady returns the records processed in the steady state and its length; none when no two samples fell
// inside it (a drain too short to have one).
func (c *drainClock) steady() (int64, time.Duration) {
	if !c.below.After(c.first) || c.belowN <= c.firstN {
		return 0, 0
	}
	return c.belowN - c.firstN, c.below.Sub(c.first)
}

// waitCommitted polls group's committed offsets on topic until they sum to n. It fails when they stop
// advancing for 30 seconds or when p exits.
func (b *bench) waitCommitted(ctx context.Context, p *proc, group, topic string, n int64) error {
	var last int64
	lastMove := time.Now()
	return poll(ctx, 24*time.Hour, 20*time.Millisecond, func() error {
		if p != nil && !p.running() {
			return errGaveUp{p.exitError()}
		}
		got, err := b.kafka.committed(ctx, group, topic)
		switch {
		case err == nil && got >= n:
			return nil
		case got != last:
			last, lastMove = got, time.Now()
		case time.Since(lastMove) > 30*time.Second:
			return errGaveUp{fmt.Errorf("group %s stalled at %d of %d committed records (last error: %v)", group, got, n, err)}
		}
		return fmt.Errorf("%d of %d committed", got, n)
	})
}

// startBareConsumer runs the reference loop inside the bench: poll, count, then commit what was polled.
func startBareConsumer(ctx context.Context, b *bench, _ consumer, topic, group string) (*consuming, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		return nil, err
	}
	var processed atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fetches := cl.PollFetches(ctx)
			processed.Add(int64(fetches.NumRecords()))
			cl.CommitUncommittedOffsets(ctx)
		}
	}()
	return &consuming{
		progress: func(context.Context) (int64, error) { return processed.Load(), nil },
		source:   "records polled",
		stop: func() {
			cancel()
			<-done
			cl.Close()
		},
	}, nil
}

// consumedMetric is krest's count of records its consumer group processed.
const consumedMetric = "krest_consumed_records_total"

// startKrestConsumer runs krest with its consumer group on topic, with c's settings. Its progress is
// consumedMetric on /metrics, or, when krest does not serve it, the group's committed offsets.
func startKrestConsumer(ctx context.Context, b *bench, c consumer, topic, group string) (*consuming, error) {
	p, base, err := b.startKrest(ctx, b.krest, topic, group, c.env...)
	if err != nil {
		return nil, err
	}
	in := &consuming{proc: p, stop: p.stop, source: consumedMetric + " on /metrics"}
	hc := &http.Client{Timeout: 5 * time.Second}
	metrics := cmp.Or(p.metricsBase, base) + "/metrics"
	in.progress = func(ctx context.Context) (int64, error) {
		return scrapeCounter(ctx, hc, metrics, consumedMetric)
	}
	if _, err := in.progress(ctx); err != nil {
		b.progress("consume: %s: %v; counting committed offsets instead", c.name, err)
		in.source = "committed offsets (" + consumedMetric + " unavailable)"
		in.progress = func(ctx context.Context) (int64, error) { return b.kafka.committed(ctx, group, topic) }
	}
	return in, nil
}

// scrapeCounter reads the value of the unlabelled counter name from the Prometheus text at url.
func scrapeCounter(ctx context.Context, hc *http.Client, url, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseCounter(resp.Body, name)
}

// parseCounter finds the sample of the unlabelled counter name in Prometheus text.
func parseCounter(r io.Reader, name string) (int64, error) {
	prefix := []byte(name + " ")
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), prefix); ok {
			value, _, _ := strings.Cut(strings.TrimSpace(string(v)), " ")
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", name, err)
			}
			return int64(f), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s on the page", name)
}

// summary is the progress line of a consume row.
func (r consumeResult) summary() string {
	if r.Error != "" {
		return fmt.Sprintf("%-10s FAILED: %s", r.Target, r.Error)
	}
	return fmt.Sprintf("%-10s steady %9.0f rec/s; start-up %.2f s, join %.2f s, first fetch %.2f s; %d records in %.2f s",
		r.Target, r.SteadyRecordsPerSec, r.StartupSec, r.JoinSec, r.FirstFetchSec, r.Records, r.TotalSec)
}
