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
//
// ErrNotWritten, ErrBufferFull and ErrClosed say the record is certainly
// not written; ErrTimeout says krest cannot know. Certain means no
// produce request can have carried the record: it was refused before the
// client buffered it, or the client gave it up (at its delivery bound, or
// closing) while not one produce request was written to any broker (see
// Requests). A record given up after a produce request was written is not
// certain: a leader that stored it and lost its leadership before the
// replicas confirmed answers NOT_LEADER_OR_FOLLOWER, and the record can
// survive on the new leader; a request lost with its connection may have
// been stored too. Such a record gets ErrTimeout.
var (
	// ErrNotWritten is returned when the record was certainly not
	// written (see above) for a reason that may pass: no broker
	// reachable, no leader, too few in-sync replicas. Retrying is safe.
	// It wraps kafka.ErrUnavailable.
	ErrNotWritten = fmt.Errorf("%w, the record was not written", kafka.ErrUnavailable)
	// ErrBufferFull is returned when the producer already holds its maximum
	// of unacknowledged records. The record was not written.
	ErrBufferFull = errors.New("producer buffer full")
	// ErrTimeout is returned when krest cannot know whether the record
	// was written: the broker did not acknowledge it within the produce
	// timeout, the caller stopped waiting (the record stays buffered and
	// may still be written), or the client gave it up after a produce
	// request may have carried it.
	ErrTimeout = errors.New("kafka did not acknowledge in time")
	// ErrClosed is returned when the producer shut down before any
	// produce request could carry the record.
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

// errGone is the answer for a record whose caller stopped waiting.
func errGone(ctx context.Context) error {
	return fmt.Errorf("%w: the caller stopped waiting (%w); the record stays buffered and may or may not be written",
		ErrTimeout, ctx.Err())
}

// classifyResult wraps r's produce error, if any, in this package's error
// for its kind, naming the partition count when r was pinned to a partition
// the topic does not have. sent says a produce request was written while
// the client held r: then a record the client gave up may be on a broker.
func classifyResult(r *kgo.Record, err error, sent bool) error {
	if err == nil {
		return nil
	}
	if n, ok := partitionOutOfRange(r); ok {
		return fmt.Errorf("%w: topic %s has %d partitions, numbered from 0, so there is no partition %d",
			kafka.ErrPartitionNotFound, r.Topic, n, r.Partition)
	}
	return classify(err, sent)
}

// classify wraps a franz-go error in this package's error for its kind. A
// broker's verdict (kafka.Classify's specific kinds) stands as it is; any
// other failure means the client gave the record up, which is certain
// (ErrNotWritten, ErrClosed) only if !sent.
func classify(err error, sent bool) error {
	if errors.Is(err, kgo.ErrMaxBuffered) {
		return fmt.Errorf("%w: %v", ErrBufferFull, err)
	}
	kind := kafka.Classify(err)
	if kind != nil && kind != kafka.ErrUnavailable {
		return fmt.Errorf("%w: %v", kind, err)
	}
	switch {
	case sent:
		return fmt.Errorf("%w: the producer gave the record up (%v) after a produce request may have carried it; it may or may not have been written",
			ErrTimeout, err)
	case errors.Is(err, kgo.ErrClientClosed):
		return fmt.Errorf("%w: %v", ErrClosed, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		return fmt.Errorf("%w: no broker took the record in time (%v)", ErrNotWritten, err)
	}
	return fmt.Errorf("%w: %v", ErrNotWritten, err)
}
