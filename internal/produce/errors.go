package produce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
)

// The producer's own states. Every error the brokers or the client return
// wraps a sentinel of kafka's vocabulary as well (kafka.ErrTopicNotFound,
// kafka.ErrTooLarge, kafka.ErrRejected, …; see kafka.Classify).
var (
	// ErrNotWritten is returned when no broker took the record: it was
	// not written, and retrying is safe. It wraps kafka.ErrUnavailable.
	ErrNotWritten = fmt.Errorf("%w, the record was not written", kafka.ErrUnavailable)
	// ErrBufferFull is returned when the producer already holds its maximum
	// of unacknowledged records. The record was not written.
	ErrBufferFull = errors.New("producer buffer full")
	// ErrTimeout is returned when the broker did not answer within the
	// produce timeout after the record was sent: it may or may not be
	// written.
	ErrTimeout = errors.New("kafka did not acknowledge in time")
	// ErrClosed is returned when the producer is shutting down.
	ErrClosed = errors.New("producer closed")
)

// Retriable reports whether err, from this package, is one a later
// attempt may not meet: the brokers were unavailable, the buffer full, or
// the answer late.
func Retriable(err error) bool {
	return errors.Is(err, kafka.ErrUnavailable) || errors.Is(err, ErrBufferFull) || errors.Is(err, ErrTimeout)
}

// Class names err's kind for metrics labels: one of a fixed set of words.
func Class(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{ErrBufferFull, "buffer_full"},
		{ErrTimeout, "timeout"},
		{ErrClosed, "closed"},
		{kafka.ErrUnavailable, "unavailable"},
		{kafka.ErrTooLarge, "too_large"},
		{kafka.ErrTopicNotFound, "unknown_topic"},
		{kafka.ErrPartitionNotFound, "unknown_partition"},
		{kafka.ErrNotAuthorized, "not_authorized"},
		{kafka.ErrRejected, "rejected"},
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
	if n, ok := partitionOutOfRange(r); ok {
		return fmt.Errorf("%w: topic %s has %d partitions, numbered from 0, so there is no partition %d",
			kafka.ErrPartitionNotFound, r.Topic, n, r.Partition)
	}
	return classify(err)
}

// classify wraps a franz-go error in this package's error for its kind.
func classify(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, kgo.ErrMaxBuffered):
		return fmt.Errorf("%w: %v", ErrBufferFull, err)
	case errors.Is(err, kgo.ErrClientClosed):
		return fmt.Errorf("%w: %v", ErrClosed, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		// Failed before it was sent: not written.
		return fmt.Errorf("%w: no broker took the record in time (%v)", ErrNotWritten, err)
	}
	kind := kafka.Classify(err)
	if kind == nil || kind == kafka.ErrUnavailable {
		kind = ErrNotWritten
	}
	return fmt.Errorf("%w: %v", kind, err)
}
