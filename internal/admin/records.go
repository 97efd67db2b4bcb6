package admin

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"krest/internal/kafka"
)

// Reads of one partition's records from an offset, without a consumer: a
// FetchRequest to the partition's leader (or, at the end of the partition,
// a few), issued through the shared client's connection to it. No consumer state is kept between reads; a
// read's memory is its one fetch response, which MaxBytes bounds (but for
// a single record batch larger than it, which Kafka returns whole so that
// a read always makes progress, up to the topic's max.message.bytes).

// ReadRequest is one read of a partition's records.
type ReadRequest struct {
	Topic     string
	Partition int32
	// Offset is the first offset read.
	Offset int64
	// MaxRecords and MaxBytes bound the records returned: their count,
	// and the bytes of their keys, values and headers. The first record
	// is returned even when larger than MaxBytes, so that a read always
	// makes progress. Both must be positive.
	MaxRecords, MaxBytes int
	// MaxWait is how long the read may wait for a record at the end of
	// the partition.
	MaxWait time.Duration
}

// Records are the answer to one read.
type Records struct {
	// Records are the records read, in offset order.
	Records []*kgo.Record
	// NextOffset is where the next read goes on: past the last record
	// returned, or past what the log skips (compacted away, control
	// records), or Offset itself when nothing came.
	NextOffset int64
}

// OffsetOutOfRangeError is returned when a read's offset is before the
// partition's log start offset or past its high watermark; it wraps
// kafka.ErrInvalidRequest.
type OffsetOutOfRangeError struct {
	Offset   int64
	Earliest int64 // the log start offset
	Latest   int64 // the high watermark
}

func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("offset %d is out of range: the partition holds offsets from %d to %d", e.Offset, e.Earliest, e.Latest)
}

// Unwrap makes the error a bad request.
func (e *OffsetOutOfRangeError) Unwrap() error { return kafka.ErrInvalidRequest }

// decompressor decompresses the record batches of every read.
var decompressor = kgo.DefaultDecompressor()

// The intervals at which a read at the end of its partition asks again,
// doubling from the first to the last.
const (
	firstPollInterval = 10 * time.Millisecond
	lastPollInterval  = 250 * time.Millisecond
)

// ReadRecords reads r.Topic's partition r.Partition from r.Offset. It
// returns an error wrapping kafka.ErrTopicNotFound or
// kafka.ErrPartitionNotFound for a partition the cluster does not have, an
// *OffsetOutOfRangeError for an offset it does not hold, and one wrapping
// kafka.ErrUnavailable when the partition has no leader.
//
// The leader comes from the client's metadata cache; a cache that does
// not know the partition, or a leader that no longer leads it, is
// refreshed once.
//
// At the end of the partition it asks again, at intervals growing from
// firstPollInterval to lastPollInterval, until a record comes or
// r.MaxWait has passed. It does not let the leader hold the fetch
// instead: a broker answers one connection's requests in order, and
// every read of the client goes to the leader on one connection, so a
// held fetch would hold every read queued behind it.
func (a *Admin) ReadRecords(ctx context.Context, r ReadRequest) (Records, error) {
	op := fmt.Sprintf("read topic %q partition %d", r.Topic, r.Partition)
	if r.MaxRecords < 1 || r.MaxBytes < 1 || r.Offset < 0 {
		return Records{}, fmt.Errorf("%s: offset, record and byte bounds must not be negative: %w", op, kafka.ErrInvalidRequest)
	}
	deadline := time.Now().Add(r.MaxWait)
	interval := firstPollInterval
	for {
		recs, err := a.readOnce(ctx, op, r)
		left := time.Until(deadline)
		if err != nil || recs.NextOffset > r.Offset || left <= 0 {
			return recs, err
		}
		t := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return Records{}, brokerErr(op, ctx.Err(), "")
		case <-t.C:
		}
		interval = min(2*interval, lastPollInterval)
	}
}

// readOnce is one fetch of a read, answered at once.
func (a *Admin) readOnce(ctx context.Context, op string, r ReadRequest) (Records, error) {
	var rp kmsg.FetchResponseTopicPartition
	for fresh := false; ; fresh = true {
		leader, id, err := a.leader(ctx, r.Topic, r.Partition, fresh)
		if err != nil {
			return Records{}, brokerErr(op, err, "")
		}
		rp, err = a.fetch(ctx, r, leader, id)
		if err != nil {
			return Records{}, brokerErr(op, err, "")
		}
		err = kerr.ErrorForCode(rp.ErrorCode)
		switch {
		case err == nil:
		case errors.Is(err, kerr.OffsetOutOfRange):
			return Records{}, a.outOfRange(ctx, op, r)
		case !fresh && (errors.Is(err, kerr.NotLeaderForPartition) || errors.Is(err, kerr.UnknownTopicOrPartition) ||
			errors.Is(err, kerr.FencedLeaderEpoch) || errors.Is(err, kerr.UnknownTopicID)):
			continue
		default:
			return Records{}, brokerErr(op, err, "")
		}
		break
	}
	// A fetch answers up to MaxBytes of batches: only those holding
	// the first MaxRecords records are decoded.
	rp.RecordBatches = batchesBefore(rp.RecordBatches, r.Offset+int64(r.MaxRecords))
	fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: r.Offset, Topic: r.Topic, Partition: r.Partition},
		&rp, decompressor, nil)
	if fp.Err != nil && len(fp.Records) == 0 {
		return Records{}, brokerErr(op, fp.Err, "")
	}
	out := Records{NextOffset: max(next, r.Offset)}
	size := 0
	for i, rec := range fp.Records {
		size += len(rec.Key) + len(rec.Value)
		for _, h := range rec.Headers {
			size += len(h.Key) + len(h.Value)
		}
		if i == r.MaxRecords || i > 0 && size > r.MaxBytes {
			out.NextOffset = rec.Offset
			break
		}
		out.Records = fp.Records[:i+1]
	}
	return out, nil
}

// batchesBefore cuts raw record batches (or message sets) at the first
// one, past the first, whose offset is until or more: the batches after
// it hold no record before until. It keeps the first batch, so that a
// read always goes on, and leaves a batch it cannot read the length of
// for the decoder.
func batchesBefore(in []byte, until int64) []byte {
	pos := 0
	for len(in)-pos >= 12 {
		if pos > 0 && int64(binary.BigEndian.Uint64(in[pos:])) >= until {
			return in[:pos]
		}
		length := int32(binary.BigEndian.Uint32(in[pos+8:]))
		if length < 0 || int64(len(in)-pos-12) < int64(length) {
			break
		}
		pos += 12 + int(length)
	}
	return in
}

// leader returns the leader and the topic id of topic's partition, from
// the client's metadata cache unless fresh, or from a fresh answer when
// the cache does not know them.
func (a *Admin) leader(ctx context.Context, topic string, partition int32, fresh bool) (int32, [16]byte, error) {
	for {
		var m *kmsg.MetadataResponse
		var err error
		if fresh {
			m, err = a.metadata(ctx, []string{topic}, false)
		} else {
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
			m, err = a.cl.RequestCachedMetadata(ctx, req, 0)
		}
		if err != nil {
			return 0, [16]byte{}, err
		}
		leader, id, err := partitionLeader(m, topic, partition)
		if err == nil || fresh {
			return leader, id, err
		}
		fresh = true
	}
}

// partitionLeader finds topic's partition in m.
func partitionLeader(m *kmsg.MetadataResponse, topic string, partition int32) (int32, [16]byte, error) {
	for _, mt := range m.Topics {
		if mt.Topic == nil || *mt.Topic != topic {
			continue
		}
		if err := topicError(mt); err != nil {
			return 0, [16]byte{}, err
		}
		for _, p := range mt.Partitions {
			if p.Partition != partition {
				continue
			}
			if p.Leader < 0 {
				return 0, [16]byte{}, fmt.Errorf("no leader: %w", kafka.ErrUnavailable)
			}
			return p.Leader, mt.TopicID, nil
		}
		return 0, [16]byte{}, kafka.ErrPartitionNotFound
	}
	return 0, [16]byte{}, kafka.ErrTopicNotFound
}

// fetch sends r's FetchRequest to leader and returns its partition's
// answer, which the leader gives at once. It asks for no fetch session and
// reads uncommitted records, as a consumer does by default.
func (a *Admin) fetch(ctx context.Context, r ReadRequest, leader int32, id [16]byte) (kmsg.FetchResponseTopicPartition, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 0
	req.MinBytes = 1
	req.MaxBytes = int32(r.MaxBytes)
	req.SessionID = 0
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = r.Topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = r.Partition
	rp.FetchOffset = r.Offset
	rp.PartitionMaxBytes = int32(r.MaxBytes)
	rp.CurrentLeaderEpoch = -1
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, a.cl.Broker(int(leader)))
	if err != nil {
		return kmsg.FetchResponseTopicPartition{}, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return kmsg.FetchResponseTopicPartition{}, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Partition == r.Partition {
				return p, nil
			}
		}
	}
	return kmsg.FetchResponseTopicPartition{}, fmt.Errorf("the response does not mention the partition: %w", kafka.ErrUnavailable)
}

// outOfRange is the error of a read whose offset the partition does not
// hold, with the offsets it does.
func (a *Admin) outOfRange(ctx context.Context, op string, r ReadRequest) error {
	o, err := a.Offsets(ctx, r.Topic, r.Partition)
	if err != nil {
		return err
	}
	return fmt.Errorf("%s: %w", op, &OffsetOutOfRangeError{Offset: r.Offset, Earliest: o.Earliest, Latest: o.Latest})
}

// The times OffsetsAt takes beside a timestamp in milliseconds.
const (
	AtEarliest = earliestOffset // each partition's log start offset
	AtLatest   = latestOffset   // each partition's high watermark
)

// OffsetsAt returns the offset of every partition of topic at time at,
// by partition: the first offset whose timestamp is at or after at (in
// Unix milliseconds), or, for a partition with none, its high watermark;
// or, for AtEarliest or AtLatest, the log start offset or the high
// watermark. It returns an error wrapping kafka.ErrTopicNotFound for a
// topic the cluster does not have.
func (a *Admin) OffsetsAt(ctx context.Context, topic string, at int64) (map[int32]int64, error) {
	op := fmt.Sprintf("list offsets of topic %q", topic)
	parts, err := a.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	ids := make([]int32, len(parts))
	for i, p := range parts {
		ids[i] = p.ID
	}
	offsets := make(map[int32]int64, len(ids))
	var after []int32 // partitions without a record at or after at
	for tp, lo := range a.listOffsets(ctx, at, map[string][]int32{topic: ids}) {
		if lo.err != nil {
			return nil, brokerErr(op, lo.err, "")
		}
		if lo.offset < 0 {
			after = append(after, tp.Partition)
			continue
		}
		offsets[tp.Partition] = lo.offset
	}
	if len(after) > 0 {
		for tp, lo := range a.listOffsets(ctx, latestOffset, map[string][]int32{topic: after}) {
			if lo.err != nil {
				return nil, brokerErr(op, lo.err, "")
			}
			offsets[tp.Partition] = lo.offset
		}
	}
	if len(offsets) != len(ids) {
		return nil, fmt.Errorf("%s: the response does not mention every partition: %w", op, kafka.ErrUnavailable)
	}
	return offsets, nil
}
