package consume

import (
	"context"
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

// syncProducer produces and waits; *kgo.Client implements it.
type syncProducer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

var _ syncProducer = (*kgo.Client)(nil)

// DeadLetters writes records that could not be processed to a topic, with
// their key, value, timestamp and headers, plus headers saying why and
// where they came from.
type DeadLetters struct {
	producer syncProducer
	topic    string
}

// NewDeadLetters returns a writer to topic through p, which should be an
// idempotent acks=all producer.
func NewDeadLetters(p syncProducer, topic string) *DeadLetters {
	return &DeadLetters{producer: p, topic: topic}
}

// Send writes r to the dead-letter topic with cause, retrying with backoff
// until it is acknowledged or ctx ends.
func (d *DeadLetters) Send(ctx context.Context, r *kgo.Record, cause error) error {
	dead := &kgo.Record{
		Topic:     d.topic,
		Key:       r.Key,
		Value:     r.Value,
		Timestamp: r.Timestamp,
		Headers: append(append([]kgo.RecordHeader(nil), r.Headers...),
			kgo.RecordHeader{Key: HeaderError, Value: []byte(cause.Error())},
			kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
			kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
		),
	}
	backoff := 100 * time.Millisecond
	for {
		err := d.producer.ProduceSync(ctx, dead).FirstErr()
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
