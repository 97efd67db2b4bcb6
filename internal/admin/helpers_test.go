package admin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafkatest"
)

// newCluster starts an in-process kfake cluster on loopback ports and closes
// it when the test ends. Unlike kafkatest.NewFake, it can have several brokers
// and takes any kfake option, and keeps its data in memory.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// newAdmin starts a cluster with opts and returns it and an Admin over a
// client of it, which is closed before the cluster when the test ends.
func newAdmin(t *testing.T, opts ...kfake.Opt) (*Admin, *kfake.Cluster) {
	t.Helper()
	c := newCluster(t, opts...)
	return New(kafkatest.NewClient(t, c.ListenAddrs())), c
}

// testCtx returns a context that ends with the test or after 15s, so that a
// hung broker call fails the test instead of stalling it.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantErr fails the test unless err wraps want, or is nil when want is nil.
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
}

// produce writes n records to topic's partition and waits for them to be
// acknowledged.
func produce(t *testing.T, c *kfake.Cluster, topic string, partition int32, n int) {
	t.Helper()
	cl := kafkatest.NewClient(t, c.ListenAddrs(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: []byte("v")}
	}
	if err := cl.ProduceSync(testCtx(t), rs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %s/%d: %v", n, topic, partition, err)
	}
}
