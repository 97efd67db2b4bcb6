package main

import (
	"context"
	"fmt"
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
	// start joins group on topic and starts consuming from the earliest offset. It returns the consuming
	// process (nil when it runs inside the bench) and how to stop it.
	start func(ctx context.Context, b *bench, topic, group string) (*proc, func(), error)
}

// consumers are the consume rows, in the order they run.
var consumers = []consumer{
	{name: "bare", title: "bare franz-go group poll loop (poll, commit)", start: startBareConsumer},
	{name: "krest", title: "krest consumer group", start: startKrestConsumer},
}

// runConsume pre-fills a topic with --consume-records messages, then lets each consumer drain it in a
// fresh group. A consumer is done when its group's committed offsets reach the end offsets; the clock runs
// from its start, so group join and the last commit count.
func (b *bench) runConsume(ctx context.Context) {
	fail := func(err error) { b.skip("consume", "consume", err) }
	if err := b.freshBroker(ctx); err != nil {
		fail(err)
		return
	}
	topic := b.topicName("consume")
	if _, err := b.kafka.createTopic(ctx, topic, b.opt.partitions); err != nil {
		fail(err)
		return
	}
	defer b.kafka.deleteTopic(context.WithoutCancel(ctx), topic)
	b.progress("consume: pre-filling %s with %d records", topic, b.opt.consumeRecords)
	if err := b.prefill(ctx, topic, b.opt.consumeRecords); err != nil {
		fail(err)
		return
	}
	for _, c := range consumers {
		if ctx.Err() != nil {
			return
		}
		r := b.drain(ctx, c, topic)
		b.rep.Consume = append(b.rep.Consume, r)
		b.progress("consume: %s", r.summary())
	}
}

// prefill produces n messages to topic and checks the topic holds them.
func (b *bench) prefill(ctx context.Context, topic string, n int64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Value
	for i := range n {
		id := strconv.FormatInt(i, 10)
		cl.Produce(ctx, &kgo.Record{Key: []byte(id), Value: messageBody(id, b.opt.bodyBytes)}, func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if failed.Load() > 0 {
		return fmt.Errorf("pre-fill: %d records failed: %v", failed.Load(), firstErr.Load())
	}
	got, err := b.kafka.records(ctx, topic)
	if err == nil && got != n {
		err = fmt.Errorf("pre-fill: topic holds %d records, want %d", got, n)
	}
	return err
}

// drain runs consumer c on topic until its group has committed every record.
func (b *bench) drain(ctx context.Context, c consumer, topic string) consumeResult {
	r := consumeResult{Target: c.name, Title: c.title, Records: b.opt.consumeRecords}
	group := b.topicName("consume-" + c.name)
	inBench, broker := newMeter(os.Getpid()), newMeter(b.brokerPID())
	inBench.begin()
	broker.begin()
	start := time.Now()
	p, stop, err := c.start(ctx, b, topic, group)
	if err != nil {
		r.Skipped = skipReason(err)
		r.Error = err.Error()
		return r
	}
	gateway := inBench
	if p != nil {
		// A fresh process: everything it has used so far is this run's.
		gateway = meterSinceStart(p.pid())
	}
	wait := b.profile(p, 2*time.Second, "consume-"+c.name)
	err = b.waitCommitted(ctx, p, group, topic, r.Records)
	elapsed := time.Since(start)
	gateway.end()
	broker.end()
	wait()
	r.Gateway, r.Broker = gateway.resources(r.Records), broker.resources(r.Records)
	stop()
	if err != nil {
		r.Gateway, r.Broker = nil, nil
		r.Error = err.Error()
		return r
	}
	r.Seconds = elapsed.Seconds()
	r.RecordsPerSec = float64(r.Records) / r.Seconds
	r.Verification = fmt.Sprintf("%d of %d committed", r.Records, r.Records)
	return r
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

// startBareConsumer runs the reference loop inside the bench: poll, then commit what was polled.
func startBareConsumer(ctx context.Context, b *bench, topic, group string) (*proc, func(), error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
			cl.CommitUncommittedOffsets(ctx)
		}
	}()
	stop := func() {
		cancel()
		<-done
		cl.Close()
	}
	return nil, stop, nil
}

// startKrestConsumer runs krest with its consumer group on topic.
func startKrestConsumer(ctx context.Context, b *bench, topic, group string) (*proc, func(), error) {
	p, _, err := b.startKrest(ctx, topic, group)
	if err != nil {
		return nil, nil, err
	}
	return p, p.stop, nil
}

// summary is the progress line of a consume row.
func (r consumeResult) summary() string {
	if r.Error != "" {
		return fmt.Sprintf("%-6s FAILED: %s", r.Target, r.Error)
	}
	return fmt.Sprintf("%-6s %9.0f rec/s (%d records in %.2f s)", r.Target, r.RecordsPerSec, r.Records, r.Seconds)
}
