package kafkatest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKafkaShareGroup runs a franz-go share consumer against real Kafka:
// a released record comes back with delivery count 2, an accepted one is
// done, and the brokers' own dead-letter queue (Kafka 4.4, share.version 2)
// receives a rejected record and one released past the group's delivery
// count limit, with the headers that name where it came from. One step
// waits for a lock to run out, of a second (shareTestLockExpiry).
func TestKafkaShareGroup(t *testing.T) {
	SkipIfNoKafka(t)
	k := StartKafka(t, KafkaOptions{})
	cl := NewClient(t, k.Brokers())
	level, ok := FinalizedFeature(t, cl, "share.version")
	t.Logf("Kafka %s: share.version %d", k.Version(), level)
	switch {
	case !ok || level < 1:
		t.Fatalf("share.version is %d (finalized: %v): share groups are off", level, ok)
	case level < 2 && k.Version() == DefaultKafkaVersion:
		t.Fatalf("share.version is %d on Kafka %s, want 2: the brokers' dead-letter queue is off", level, k.Version())
	}
	dlq := level >= 2

	const topic, dlqTopic, group = "work", "dlq.work", "workers"
	kafkaTestCreateTopic(t, cl, topic, 1)
	configs := map[string]string{
		ShareAutoOffsetReset:    "earliest",
		ShareDeliveryCountLimit: "2",
		ShareRecordLockDuration: "15000",
	}
	if dlq {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, map[string]*string{DeadLetterTopicEnable: kadm.StringPtr("true")}, dlqTopic)
		cancel()
		if err != nil {
			t.Fatalf("creating topic %s: %v", dlqTopic, err)
		}
		configs[ShareDeadLetterTopic] = dlqTopic
		configs[ShareDeadLetterCopyRecord] = "true"
	}
	SetGroupConfigs(t, cl, group, configs)
	values := []string{"accept", "release", "reject", "exhaust"}
	for _, v := range values {
		kafkaTestProduce(t, cl, topic, v)
	}

	var (
		ackMu   sync.Mutex
		ackErrs []error
	)
	share := NewClient(t, k.Brokers(), kgo.ShareGroup(group), kgo.ConsumeTopics(topic),
		kgo.ShareAckCallback(func(_ *kgo.Client, res kgo.ShareAckResults) {
			ackMu.Lock()
			defer ackMu.Unlock()
			for _, r := range res {
				if r.Err != nil {
					ackErrs = append(ackErrs, fmt.Errorf("%s/%d: %w", r.Topic, r.Partition, r.Err))
				}
			}
		}))
	settle := func(actions map[string]kgo.AckStatus, recs []*kgo.Record) {
		t.Helper()
		for _, r := range recs {
			r.Ack(actions[string(r.Value)])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := share.FlushAcks(ctx); err != nil {
			t.Fatalf("FlushAcks: %v", err)
		}
		ackMu.Lock()
		defer ackMu.Unlock()
		if len(ackErrs) > 0 {
			t.Fatalf("acknowledgements failed: %v", ackErrs)
		}
	}

	first := shareTestPoll(t, share, len(values))
	shareTestExpect(t, first, map[string]int32{"accept": 1, "release": 1, "reject": 1, "exhaust": 1})
	settle(map[string]kgo.AckStatus{"accept": kgo.AckAccept, "release": kgo.AckRelease, "reject": kgo.AckReject, "exhaust": kgo.AckRelease}, first)

	second := shareTestPoll(t, share, 2)
	shareTestExpect(t, second, map[string]int32{"release": 2, "exhaust": 2})
	// The second release of "exhaust" meets the delivery count limit of 2:
	// the record is archived instead of delivered again.
	settle(map[string]kgo.AckStatus{"release": kgo.AckAccept, "exhaust": kgo.AckRelease}, second)

	// Every record is settled: the share-partition has no lag (its start
	// offset may stay at the last archived record's).
	adm := kadm.NewClient(cl)
	WaitFor(t, 15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := adm.DescribeShareGroupOffsets(ctx, group)
		if err != nil {
			return err
		}
		o := got[group].Offsets[topic][0]
		if got[group].Err != nil || o.Err != nil || o.Lag != 0 {
			return fmt.Errorf("share-partition %s/0 of %s: start offset %d, lag %d (%v, %v), want lag 0", topic, group, o.StartOffset, o.Lag, got[group].Err, o.Err)
		}
		return nil
	})

	shareTestLockExpiry(t, k.Brokers(), cl)

	if !dlq {
		t.Logf("Kafka %s has no dead-letter queue for share groups (share.version %d < 2)", k.Version(), level)
		return
	}
	offsets := map[string]int64{}
	for _, r := range first {
		offsets[string(r.Value)] = r.Offset
	}
	dead := Collect(t, k.Brokers(), dlqTopic, 2, 30*time.Second)
	want := map[string]int32{"reject": 1, "exhaust": 2}
	if len(dead) != len(want) {
		t.Fatalf("dead-letter topic has %d records, want %d", len(dead), len(want))
	}
	for _, r := range dead {
		v := string(r.Value)
		count, ok := want[v]
		if !ok {
			t.Fatalf("dead-letter topic has %q, want %v", v, slices.Sorted(maps.Keys(want)))
		}
		delete(want, v)
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		for key, w := range map[string]string{
			"__dlq.errors.topic":          topic,
			"__dlq.errors.partition":      "0",
			"__dlq.errors.offset":         strconv.FormatInt(offsets[v], 10),
			"__dlq.errors.group":          group,
			"__dlq.errors.delivery.count": strconv.Itoa(int(count)),
		} {
			if h[key] != w {
				t.Errorf("dead letter %q: header %s = %q, want %q (headers %v)", v, key, h[key], w, h)
			}
		}
	}
}

// shareTestLockExpiry checks that a share group's record lock of 1 s holds
// (the brokers' group.share.min.record.lock.duration.ms is lowered to 1 s)
// and runs out: a member joins over the wire, acquires a record with one
// ShareFetch told a 1 s lock, and never fetches or acknowledges again;
// a franz-go share consumer of the group then gets the record with
// delivery count 2. It waits for one lock of a second.
func shareTestLockExpiry(t *testing.T, brokers []string, cl *kgo.Client) {
	t.Helper()
	const topic, group = "brief", "brief"
	kafkaTestCreateTopic(t, cl, topic, 1)
	SetGroupConfigs(t, cl, group, map[string]string{ShareAutoOffsetReset: "earliest", ShareRecordLockDuration: "1000"})
	kafkaTestProduce(t, cl, topic, "held")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil || m.Topics[topic].Err != nil {
		t.Fatalf("metadata of %s: %v %v", topic, err, m.Topics[topic].Err)
	}
	id := [16]byte(m.Topics[topic].ID)

	member := kafkaClusterID(t) // a member ID is a UUID, as a cluster ID
	epoch := int32(0)
	WaitFor(t, 20*time.Second, func() error {
		hb := kmsg.NewPtrShareGroupHeartbeatRequest()
		hb.GroupID, hb.MemberID, hb.MemberEpoch, hb.SubscribedTopicNames = group, member, epoch, []string{topic}
		resp, err := hb.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			return fmt.Errorf("share group heartbeat: %w", err)
		}
		epoch = resp.MemberEpoch
		if a := resp.Assignment; a != nil && len(a.TopicPartitions) == 1 && a.TopicPartitions[0].TopicID == id {
			return nil
		}
		return fmt.Errorf("member %s of %s has no assignment of %s yet", member, group, topic)
	})

	var acquired []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord
	session := int32(0)
	WaitFor(t, 20*time.Second, func() error {
		req := kmsg.NewPtrShareFetchRequest()
		req.GroupID, req.MemberID, req.ShareSessionEpoch = kmsg.StringPtr(group), kmsg.StringPtr(member), session
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.MaxRecords, req.BatchSize = 500, 1, 1<<20, 10, 10
		if session == 0 {
			rt := kmsg.NewShareFetchRequestTopic()
			rt.TopicID = id
			rp := kmsg.NewShareFetchRequestTopicPartition()
			rp.Partition = 0
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
		}
		// One node leads every partition.
		resp, err := req.RequestWith(ctx, cl.Broker(0))
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			return fmt.Errorf("share fetch: %w", err)
		}
		session++
		if resp.AcquisitionLockTimeoutMillis != 1000 {
			t.Fatalf("share fetch of %s: the lock is %d ms, want the group's 1000", group, resp.AcquisitionLockTimeoutMillis)
		}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					return fmt.Errorf("share fetch of %s/%d: %w", topic, rp.Partition, err)
				}
				acquired = append(acquired, rp.AcquiredRecords...)
			}
		}
		if len(acquired) == 0 {
			return fmt.Errorf("share fetch of %s acquired nothing yet", topic)
		}
		return nil
	})
	if len(acquired) != 1 || acquired[0].FirstOffset != 0 || acquired[0].LastOffset != 0 || acquired[0].DeliveryCount != 1 {
		t.Fatalf("acquired %+v, want offset 0 at delivery 1", acquired)
	}

	share := NewClient(t, brokers, kgo.ShareGroup(group), kgo.ConsumeTopics(topic))
	again := shareTestPoll(t, share, 1)
	shareTestExpect(t, again, map[string]int32{"held": 2})
	again[0].Ack(kgo.AckAccept)
	if err := share.FlushAcks(ctx); err != nil {
		t.Fatalf("FlushAcks: %v", err)
	}
}

// shareTestPoll polls the share consumer until it has n records, for up to
// 30 s, and fails t on a fetch error or when a record more arrives with
// them.
func shareTestPoll(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("share consumer got %d of %d records in 30s", len(recs), n)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("share fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
		}
		recs = append(recs, fs.Records()...)
	}
	if len(recs) > n {
		t.Fatalf("share consumer got %d records, want %d", len(recs), n)
	}
	return recs
}

// shareTestExpect checks that recs are the records named in want (by
// value), each at its delivery count.
func shareTestExpect(t *testing.T, recs []*kgo.Record, want map[string]int32) {
	t.Helper()
	got := map[string]int32{}
	for _, r := range recs {
		got[string(r.Value)] = r.DeliveryCount()
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered (value: delivery count) %v, want %v", got, want)
	}
}
