package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	// ErrTopicNotFound is returned when the named topic does not exist.
	ErrTopicNotFound = errors.New("topic not found")

	// ErrPartitionNotFound is returned when the topic exists but has no
	// partition with the given id, or when a consumer group has no lag for
	// the given partition.
	ErrPartitionNotFound = errors.New("partition not found")

	// ErrBrokerNotFound is returned when no broker in the cluster has the
	// given id.
	ErrBrokerNotFound = errors.New("broker not found")

	// ErrGroupNotFound is returned when the named consumer group does not
	// exist (or is dead).
	ErrGroupNotFound = errors.New("consumer group not found")

	// ErrConsumerNotFound is returned when the consumer group exists but has
	// no member with the given consumer id.
	ErrConsumerNotFound = errors.New("consumer not found")

	// ErrConfigNotFound is returned when a topic or broker has no config
	// with the given name.
	ErrConfigNotFound = errors.New("config not found")

	// ErrTopicExists is returned when creating a topic that already exists.
	ErrTopicExists = errors.New("topic already exists")

	// ErrInvalidRequest is returned when the request is malformed or the
	// broker rejects it as such: an invalid topic name, a partition count
	// or replication factor the cluster cannot satisfy, a decrease in
	// partitions, an unknown or invalid config.
	ErrInvalidRequest = errors.New("invalid request")

	// ErrNotAuthorized is returned when the broker denies the operation to
	// the principal krest connects as.
	ErrNotAuthorized = errors.New("not authorized")

	// ErrUnavailable is returned when the cluster cannot answer right now:
	// a broker is unreachable, the request timed out, or the broker replied
	// with a retriable error (no leader, coordinator loading, ...). Retrying
	// later may succeed.
	ErrUnavailable = errors.New("kafka unavailable")
)

// brokerErr maps err, as returned by kadm, kgo, or decoded from a response's
// error code, onto this package's sentinels. op names the operation and
// prefixes the message; msg is the broker's optional error message. The
// result wraps both the sentinel and err, so errors.Is works with either. An
// error no sentinel fits (including context.Canceled) is wrapped as is. A nil
// err returns nil.
//
// This is the one place that knows kerr codes: add new mappings here.
func brokerErr(op string, err error, msg string) error {
	if err == nil {
		return nil
	}
	sentinel := classify(err)
	switch {
	case sentinel == nil && msg == "":
		return fmt.Errorf("%s: %w", op, err)
	case sentinel == nil:
		return fmt.Errorf("%s: %w (%s)", op, err, msg)
	case msg == "":
		return fmt.Errorf("%s: %w: %w", op, sentinel, err)
	default:
		return fmt.Errorf("%s: %w: %w (%s)", op, sentinel, err, msg)
	}
}

// classify returns the sentinel for err, or nil if none fits. Specific codes
// come first: UNKNOWN_TOPIC_OR_PARTITION is retriable to Kafka, but to a
// caller asking about one topic it means the topic does not exist.
func classify(err error) error {
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition),
		errors.Is(err, kerr.UnknownTopicID):
		return ErrTopicNotFound

	case errors.Is(err, kerr.GroupIDNotFound):
		return ErrGroupNotFound

	case errors.Is(err, kerr.TopicAlreadyExists):
		return ErrTopicExists

	case errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.GroupAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.SaslAuthenticationFailed):
		return ErrNotAuthorized

	case errors.Is(err, kerr.InvalidTopicException),
		errors.Is(err, kerr.InvalidPartitions),
		errors.Is(err, kerr.InvalidReplicationFactor),
		errors.Is(err, kerr.InvalidReplicaAssignment),
		errors.Is(err, kerr.InvalidConfig),
		errors.Is(err, kerr.InvalidRequest),
		errors.Is(err, kerr.PolicyViolation),
		errors.Is(err, kerr.InvalidGroupID),
		errors.Is(err, kerr.TopicDeletionDisabled),
		errors.Is(err, kerr.UnsupportedVersion):
		return ErrInvalidRequest

	case kerr.IsRetriable(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, kgo.ErrClientClosed),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return ErrUnavailable
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return ErrUnavailable
	}
	return nil
}
