package admin

import (
	"errors"
	"fmt"

	"krest/internal/kafka"
)

// Admin's own sentinels, for things that are not Kafka errors: ids and
// names a well-formed answer does not hold. Everything the brokers refuse
// wraps one of kafka's sentinels (kafka.ErrTopicNotFound,
// kafka.ErrUnavailable, …; see kafka.Classify).
var (
	// ErrBrokerNotFound is returned when no broker in the cluster has the
	// given id.
	ErrBrokerNotFound = errors.New("broker not found")

	// ErrConsumerNotFound is returned when the consumer group exists but has
	// no member with the given consumer id.
	ErrConsumerNotFound = errors.New("consumer not found")

	// ErrConfigNotFound is returned when a topic or broker has no config
	// with the given name.
	ErrConfigNotFound = errors.New("config not found")
)

// brokerErr wraps err, as returned by kadm, kgo, or decoded from a
// response's error code, in the kafka sentinel it belongs to. op names the
// operation and prefixes the message; msg is the broker's optional error
// message. The result wraps both the sentinel and err, so errors.Is works
// with either. An error no sentinel fits (including context.Canceled) is
// wrapped as is. A nil err returns nil.
func brokerErr(op string, err error, msg string) error {
	if err == nil {
		return nil
	}
	err = kafka.Wrap(err)
	if msg == "" {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w (%s)", op, err, msg)
}
