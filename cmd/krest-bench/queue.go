package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// queueReaders are the rows of the queue table, in the order each round runs them: each drains the
// pre-filled topic in a share group of its own (KIP-932), accepting every record.
var queueReaders = []reader{
	{name: "bare", title: "bare franz-go share consumer (ShareGroup, PollFetches, Ack accept)", inBench: true, read: readShare},
}

// runQueue pre-fills a topic with --queue-records messages, then, --rounds times over, lets each queue
// reader take and accept them all in a fresh share group.
func (b *bench) runQueue(ctx context.Context) {
	b.rep.Queue = b.runReadTable(ctx, readTable{name: "queue", title: "work queue", partitions: b.opt.partitions,
		records: b.opt.queueRecords, readers: queueReaders})
}

// readShare drains the topic with a franz-go share consumer of its own in group r.group, which starts
// at the earliest offsets: it accepts every record it polls, and its time runs until every accept is
// acknowledged by the broker. A record delivered twice fails the read.
func readShare(ctx context.Context, b *bench, r *readRun) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := b.kafka.setGroupConfig(ctx, r.group, "share.auto.offset.reset", "earliest"); err != nil {
		return err
	}
	var ackErr atomic.Value // the first failed accept
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(b.kafka.brokers, ",")...),
		kgo.ShareGroup(r.group), kgo.ConsumeTopics(r.topic),
		kgo.ShareAckCallback(func(_ *kgo.Client, res kgo.ShareAckResults) {
			for _, x := range res {
				if x.Err != nil {
					ackErr.CompareAndSwap(nil, fmt.Errorf("accepting on %s/%d: %w", x.Topic, x.Partition, x.Err))
				}
			}
		}))
	if err != nil {
		return err
	}
	defer cl.Close()
	r.meter.begin()
	start := time.Now()
	var n int64
	for n < r.records {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return fmt.Errorf("share consumer at %d of %d: %w", n, r.records, err)
		}
		for it := fs.RecordIter(); !it.Done(); {
			rec := it.Next()
			if rec.DeliveryCount() > 1 {
				return fmt.Errorf("record %s/%d@%d delivered %d times", rec.Topic, rec.Partition, rec.Offset, rec.DeliveryCount())
			}
			rec.Ack(kgo.AckAccept)
			n++
		}
	}
	if err := cl.FlushAcks(ctx); err != nil {
		return fmt.Errorf("flushing the accepts: %w", err)
	}
	r.took = time.Since(start)
	r.meter.end()
	// FlushAcks has returned once every callback ran.
	if err, _ := ackErr.Load().(error); err != nil {
		return err
	}
	if n != r.records {
		return fmt.Errorf("share consumer got %d records, want %d", n, r.records)
	}
	return nil
}
