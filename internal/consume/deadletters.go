package consume

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Dead-letter headers: where a record came from and why it was rejected.
const (
	HeaderError     = "krest.dlq.error"
	HeaderTopic     = "krest.dlq.topic"
	HeaderPartition = "krest.dlq.partition"
	HeaderOffset    = "krest.dlq.offset"
)

// Writer writes one record and waits for the brokers' acknowledgement,
// within its own timeout; produce.Producer implements it. Its errors wrap
// kafka's sentinels (kafka.ErrTooLarge, kafka.ErrUnavailable, …).
type Writer interface {
	Write(ctx context.Context, r *kgo.Record) error
}

// DefaultRetryTimeout is DeadLetterOptions.RetryTimeout when unset.
const DefaultRetryTimeout = 30 * time.Second

// DeadLetterOptions configure DeadLetters.
type DeadLetterOptions struct {
	// Retriable reports whether a Writer error may pass on its own (the
	// brokers unavailable, a full buffer, a late answer); produce.Retriable
	// is the one to use with produce.Producer. Such errors are retried with
	// backoff; any other fails the record at once. Nil treats every error
	// as retriable.
	Retriable func(error) bool
	// RetryTimeout bounds the time one record's attempts may take, from
	// the first; past it the record fails with the last error. Default
	// DefaultRetryTimeout. The consumer processes nothing else meanwhile,
	// so keep it well under the group's rebalance timeout (60 s).
	RetryTimeout time.Duration
}

// DeadLetters writes records that could not be processed to a topic, with
// their key, value, timestamp and headers, plus headers saying why and
// where they came from.
type DeadLetters struct {
	w         Writer
	topic     string
	retriable func(error) bool
	timeout   time.Duration
}

// NewDeadLetters returns a writer of dead letters to topic through w,
// which should be an idempotent acks=all producer.
func NewDeadLetters(w Writer, topic string, opts DeadLetterOptions) (*DeadLetters, error) {
	switch {
	case w == nil:
		return nil, errors.New("dead letters need a writer")
	case topic == "":
		return nil, errors.New("dead-letter topic must not be empty")
	case opts.RetryTimeout < 0:
		return nil, fmt.Errorf("dead-letter retry timeout must not be negative, not %s", opts.RetryTimeout)
	}
	if opts.Retriable == nil {
		opts.Retriable = func(error) bool { return true }
	}
	if opts.RetryTimeout == 0 {
		opts.RetryTimeout = DefaultRetryTimeout
	}
	return &DeadLetters{w: w, topic: topic, retriable: opts.Retriable, timeout: opts.RetryTimeout}, nil
}

// Topic is the dead-letter topic.
func (d *DeadLetters) Topic() string { return d.topic }

// Send writes r to the dead-letter topic with cause. A retriable error is
// tried again after a backoff (100 ms, doubling up to 5 s) until the retry
// timeout; Send then returns ErrDeadLetterFailed wrapping the last error,
// as it does at once for an error that is not retriable. When ctx ends it
// returns the last error as is.
func (d *DeadLetters) Send(ctx context.Context, r *kgo.Record, cause error) error {
	return d.SendTo(ctx, d.topic, r, cause)
}

// SendTo writes r to topic as Send writes it to the dead-letter topic,
// with the extra headers after the krest.dlq.* ones.
func (d *DeadLetters) SendTo(ctx context.Context, topic string, r *kgo.Record, cause error, extra ...kgo.RecordHeader) error {
	deadline := time.Now().Add(d.timeout)
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		// A fresh record each time: after a timeout the previous one may
		// still be in the client's hands.
		err := d.w.Write(ctx, letter(topic, r, cause, extra))
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err
		case !d.retriable(err):
			return fmt.Errorf("%w to %s: %w", ErrDeadLetterFailed, topic, err)
		case time.Now().Add(backoff).After(deadline):
			return fmt.Errorf("%w to %s after %d attempts in %s: %w", ErrDeadLetterFailed, topic, attempt, d.timeout, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// letter is the dead-letter record for r in topic.
func letter(topic string, r *kgo.Record, cause error, extra []kgo.RecordHeader) *kgo.Record {
	headers := append(make([]kgo.RecordHeader, 0, len(r.Headers)+4+len(extra)), r.Headers...)
	headers = append(headers,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(cause.Error())},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: append(headers, extra...)}
}
