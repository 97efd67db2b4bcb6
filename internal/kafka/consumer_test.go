package kafka_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
	"krest/internal/kafkatest"
)

// TestConsumerFetchBatching writes records one at a time, as a produce
// path under light load does, while a consumer client polls: its fetches
// wait at the broker for more, so it takes about one fetch per
// ConsumerFetchMaxWait, not one per record. The broker counts them.
func TestConsumerFetchBatching(t *testing.T) {
	const n = 200
	c := kafkatest.NewFake(t)
	producer := kafkatest.NewClient(t, c.Brokers(), kgo.DefaultProduceTopic("in"))
	ctx := context.Background()
	if _, err := kadm.NewClient(producer).CreateTopic(ctx, 1, -1, nil, "in"); err != nil {
		t.Fatal(err)
	}
	cl, err := kafka.NewConsumerClient(kafka.ConsumerOptions{Options: kafka.Options{Brokers: c.Brokers()},
		Group: "g", Topics: []string{"in"}, SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithCancel(ctx)
	var consumed atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pctx.Err() == nil {
			consumed.Add(int64(cl.PollFetches(pctx).NumRecords()))
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	// The group has joined once the first record arrives.
	if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte("first")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if consumed.Load() == 0 {
			return fmt.Errorf("nothing consumed yet")
		}
		return nil
	})

	var fetches atomic.Int64
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		fetches.Add(1)
		return nil, nil, false // counted; the broker answers as usual
	})
	start := time.Now()
	for i := range n {
		if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		if got := consumed.Load(); got < n+1 {
			return fmt.Errorf("consumed %d of %d", got, n+1)
		}
		return nil
	})
	elapsed := time.Since(start)
	// One fetch per wait, one under way when counting began, one after.
	bound := int64(elapsed/kafka.ConsumerFetchMaxWait) + 3
	if got := fetches.Load(); got > bound {
		t.Errorf("%d records written one at a time in %s took %d fetches, want at most %d", n, elapsed.Round(time.Millisecond), got, bound)
	} else {
		t.Logf("%d records written one at a time in %s took %d fetches", n, elapsed.Round(time.Millisecond), got)
	}
}
