package produce

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionMark is the Context of a record that ToPartition pinned to its
// Partition field. The partitioner sets partitions when that partition does
// not exist, so the record's failure can say so (PartitionOutOfRange).
type partitionMark struct {
	context.Context
	partitions int
	outOfRange bool
}

// ToPartition pins r to partition: the producing client's partitioner
// (Partitioner) sends it there instead of choosing one. It sets r.Partition
// and marks r.Context, keeping any context already there for hooks. A
// record pinned to a partition the topic does not have fails with
// kafka.ErrPartitionNotFound, naming the topic's partition count.
func ToPartition(r *kgo.Record, partition int32) {
	parent := r.Context
	if parent == nil {
		parent = context.Background()
	}
	r.Partition = partition
	r.Context = &partitionMark{Context: parent}
}

// partitionOutOfRange reports whether r, pinned by ToPartition, failed
// because its topic has no such partition, and if so how many partitions
// the topic had when r was partitioned. Call it only once r's produce
// promise has run.
func partitionOutOfRange(r *kgo.Record) (partitions int, ok bool) {
	m, ok := r.Context.(*partitionMark)
	if !ok || !m.outOfRange {
		return 0, false
	}
	return m.partitions, true
}

// defaultPartitioner is franz-go's default partitioner (see kgo's
// RecordPartitioner option): keys hashed with murmur2 as Kafka does, and
// records without a key stuck to one partition per 64 KiB, picked by
// inverse backlog.
func defaultPartitioner() kgo.Partitioner {
	return kgo.UniformBytesPartitioner(64<<10, true, true, nil)
}

// Partitioner returns the partitioner the producing client must use
// (kafka.ProducerOptions.Partitioner). A record pinned by ToPartition goes
// to its Partition; every other record is partitioned exactly as franz-go's
// default partitioner does, at the cost of one type assertion.
func Partitioner() kgo.Partitioner { return pinningPartitioner{defaultPartitioner()} }

type pinningPartitioner struct{ def kgo.Partitioner }

func (p pinningPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return pinningTopicPartitioner{p.def.ForTopic(topic).(kgo.TopicBackupPartitioner)}
}

// pinningTopicPartitioner wraps the default partitioner of one topic. The
// client calls it under a per-topic lock, so a mark is never written
// concurrently; the record's promise runs after partitioning, so reading
// the mark there is ordered after the write.
type pinningTopicPartitioner struct{ kgo.TopicBackupPartitioner }

// RequiresConsistency is true for a pinned record: it waits for its
// partition instead of going to another.
func (p pinningTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	if _, ok := r.Context.(*partitionMark); ok {
		return true
	}
	return p.TopicBackupPartitioner.RequiresConsistency(r)
}

// PartitionByBackup returns a pinned record's Partition (every partition of
// the topic is offered, in order, since RequiresConsistency is true) or
// what the default partitioner picks. An out-of-range Partition is marked
// and returned as -1, which the client fails the record for.
func (p pinningTopicPartitioner) PartitionByBackup(r *kgo.Record, n int, backup kgo.TopicBackupIter) int {
	m, ok := r.Context.(*partitionMark)
	if !ok {
		return p.TopicBackupPartitioner.PartitionByBackup(r, n, backup)
	}
	if r.Partition < 0 || int(r.Partition) >= n {
		m.partitions, m.outOfRange = n, true
		return -1
	}
	return int(r.Partition)
}
