package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Kafka error vocabulary every krest package shares. Errors that come
// back from a broker or a client are wrapped in one of these by Classify,
// so that no caller outside this package needs to know Kafka's error
// codes; packages add their own sentinels only for states of their own (a
// full producer buffer, a broker id that does not exist).
var (
	// ErrUnavailable is returned when the cluster cannot serve the request
	// right now: no broker reachable, no leader, too few in-sync replicas,
	// a coordinator loading, a request timed out. Retrying later may
	// succeed.
	ErrUnavailable = errors.New("kafka unavailable")
	// ErrTopicNotFound is returned when the topic does not exist.
	ErrTopicNotFound = errors.New("topic not found")
	// ErrPartitionNotFound is returned when the topic has no such
	// partition.
	ErrPartitionNotFound = errors.New("partition not found")
	// ErrGroupNotFound is returned when the consumer group does not exist.
	ErrGroupNotFound = errors.New("consumer group not found")
	// ErrTopicExists is returned when creating a topic that exists.
	ErrTopicExists = errors.New("topic already exists")
	// ErrInvalidRequest is returned when the broker refuses a request as
	// malformed or impossible: an invalid name, a partition count or
	// replication factor the cluster cannot satisfy, an unknown config.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrNotAuthorized is returned when the broker denies the operation to
	// the principal krest connects as.
	ErrNotAuthorized = errors.New("not authorized")
	// ErrAuthentication is returned when the broker refuses krest's SASL
	// credentials or their mechanism, or krest cannot get them (an
	// unreadable password file, an OAuth token endpoint that refuses or
	// fails).
	ErrAuthentication = errors.New("SASL authentication failed")
	// ErrTooLarge is returned when the broker refuses a record for its
	// size.
	ErrTooLarge = errors.New("record too large")
	// ErrRejected is returned when the broker refused the request for a
	// reason retrying will not fix and no other sentinel names.
	ErrRejected = errors.New("kafka rejected the request")
)

// Wrap returns err wrapped in the sentinel Classify gives it, so that
// errors.Is works with either; err itself when no sentinel fits or err
// already wraps its own. A nil err returns nil.
func Wrap(err error) error {
	kind := Classify(err)
	if kind == nil || errors.Is(err, kind) {
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// Classify returns the sentinel of this vocabulary that err, from kgo,
// kadm or a response's error code, belongs to, or nil when none does (a
// cancelled context, say). Specific codes come first:
// UNKNOWN_TOPIC_OR_PARTITION is retriable to Kafka, but to a caller naming
// one topic it means the topic does not exist.
//
// This is the one place that knows kerr codes: add new mappings here.
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return ErrTopicNotFound
	case errors.Is(err, kerr.GroupIDNotFound):
		return ErrGroupNotFound
	case errors.Is(err, kerr.TopicAlreadyExists):
		return ErrTopicExists
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return ErrTooLarge
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, ErrAuthentication):
		return ErrAuthentication
	case errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.GroupAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
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
	if ke, ok := errors.AsType[*kerr.Error](err); ok && !ke.Retriable {
		return ErrRejected
	}
	return nil
}
