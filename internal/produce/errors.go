package produce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
)

var (
	// ErrUnavailable is returned when no broker could take the record in
	// time (down, unreachable, electing a leader, not enough in-sync
	// replicas). The record was not written; retrying is safe.
	ErrUnavailable = errors.New("kafka unavailable")
	// ErrBufferFull is returned when the producer already holds its maximum
	// of unacknowledged records. The record was not written.
	ErrBufferFull = errors.New("producer buffer full")
	// ErrTimeout is returned when the broker did not answer within the
	// produce timeout after the record was sent: it may or may not be
	// written.
	ErrTimeout = errors.New("kafka did not acknowledge in time")
	// ErrTooLarge is returned when the broker refuses a record for its size.
	ErrTooLarge = errors.New("record too large")
	// ErrUnknownTopic is returned when the topic does not exist.
	ErrUnknownTopic = errors.New("topic not found")
	// ErrUnknownPartition is returned when the partition does not exist.
	ErrUnknownPartition = errors.New("partition not found")
	// ErrRejected is returned when the broker refused the record for a
	// reason retrying will not fix (authorization, invalid record, …).
	ErrRejected = errors.New("kafka rejected the record")
	// ErrClosed is returned when the producer is shutting down.
	ErrClosed = errors.New("producer closed")
)

// Class names err's kind for metrics labels: one of a fixed set of words.
func Class(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{ErrUnavailable, "unavailable"},
		{ErrBufferFull, "buffer_full"},
		{ErrTimeout, "timeout"},
		{ErrTooLarge, "too_large"},
		{ErrUnknownTopic, "unknown_topic"},
		{ErrUnknownPartition, "unknown_partition"},
		{ErrRejected, "rejected"},
		{ErrClosed, "closed"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

func errTimeout(d time.Duration) error {
	return fmt.Errorf("%w (%s); the record may or may not have been written", ErrTimeout, d)
}

// classifyResult wraps r's produce error, if any, in this package's error
// for its kind, naming the partition count when r was pinned to a partition
// the topic does not have.
func classifyResult(r *kgo.Record, err error) error {
	if err == nil {
		return nil
	}
	if n, ok := kafka.PartitionOutOfRange(r); ok {
		return fmt.Errorf("%w: topic %s has %d partitions, numbered from 0, so there is no partition %d",
			ErrUnknownPartition, r.Topic, n, r.Partition)
	}
	return classify(err)
}

// classify wraps a franz-go error in this package's error for its kind.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, kgo.ErrMaxBuffered):
		kind = ErrBufferFull
	case errors.Is(err, kgo.ErrClientClosed):
		kind = ErrClosed
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		// Failed before it was sent: not written.
		return fmt.Errorf("%w: no broker took the record in time (%v); it was not written", ErrUnavailable, err)
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		kind = ErrTooLarge
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		kind = ErrUnknownTopic
	default:
		var ke *kerr.Error
		if errors.As(err, &ke) && !ke.Retriable {
			kind = ErrRejected
		} else {
			kind = ErrUnavailable
		}
	}
	return fmt.Errorf("%w: %v", kind, err)
}
