// Package queue serves work queues on Kafka share groups (KIP-932): a
// bounded set of share-group members on one node, records leased from them
// under signed tokens, and each lease settled by an acknowledgement
// (accept, release, reject, renew), by its expiry, or by a dead letter
// after too many deliveries. It knows no HTTP.
package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Options configure a Manager.
type Options struct {
	// NewClient makes a member's Kafka client from the member's own
	// options (seeds, security and hooks are NewClient's to add).
	NewClient func(opts ...kgo.Opt) (*kgo.Client, error)
	// Admin is the client that checks the brokers' versions and sets the
	// configs of the groups members join.
	Admin *kgo.Client
	// Node names this node in lease tokens.
	Node string
	// Secret signs lease tokens; every node of a cluster needs the same.
	// When nil, a random one is made: tokens then hold on this node only.
	Secret []byte
	// MaxMembers bounds the share-group members open on this node at
	// once (ErrBusy past it). Default 256.
	MaxMembers int
	// IdleTimeout closes a member no lease used for this long. Default 1m.
	IdleTimeout time.Duration
	// MaxLease bounds a lease's duration. Default 5m.
	MaxLease time.Duration
	// MaxDeliveries is the delivery after which a record that is released,
	// or whose lease expires, is dead-lettered; a record delivered more
	// often is dead-lettered when leased. Default DefaultMaxDeliveries;
	// above the brokers' group.share.delivery.count.limit, theirs is used.
	MaxDeliveries int
	// DeadLetters writes dead letters to DeadLetterTopic of each record's
	// topic; nil leaves them to the brokers (their
	// group.share.delivery.count.limit and, on Kafka 4.4 and later, their
	// dead-letter queue).
	DeadLetters DeadLetterWriter
	// EnsureTopic, when set, makes sure a dead-letter topic exists
	// (creating it as krest creates its own topics) before its first dead
	// letter; its error fails the dead letter.
	EnsureTopic func(ctx context.Context, topic string) error
	// AutoOffsetReset is share.auto.offset.reset for the groups members
	// join that do not set it: "earliest" (the default) or "latest".
	AutoOffsetReset string
	// LockDuration, when set, is share.record.lock.duration.ms for the
	// groups members join that do not set it; the brokers hold it within
	// their group.share.min and max.record.lock.duration.ms (15 s to 1 h
	// by default), and refuse it outside them (logged; their default,
	// 30 s, holds then).
	LockDuration time.Duration
	// Logger receives expiries, dead letters and close failures.
	Logger *slog.Logger
	// Metrics, if set, counts leases, acknowledgements, expiries, dead
	// letters and members.
	Metrics Metrics
}

// Metrics counts what the queues do; metrics.Metrics implements it.
type Metrics interface {
	// QueueLeased counts n records leased.
	QueueLeased(n int)
	// QueueAcked counts one acknowledgement by its action and status.
	QueueAcked(action, status string)
	// QueueLeaseExpired counts one lease expired unacknowledged.
	QueueLeaseExpired()
	// QueueDeadLettered counts one record dead-lettered, by reason.
	QueueDeadLettered(reason string)
	// QueueDeadLetterFailed counts one dead letter not written.
	QueueDeadLetterFailed()
	// QueueMembers sets the share-group members open now.
	QueueMembers(n int)
}

// DeadLetterWriter writes a record to its dead-letter topic and waits for
// the brokers' acknowledgement; consume.DeadLetters implements it.
type DeadLetterWriter interface {
	SendTo(ctx context.Context, topic string, r *kgo.Record, cause error, extra ...kgo.RecordHeader) error
}

// Dead-letter headers the queue adds to consume's krest.dlq.* ones.
const (
	HeaderDeliveryCount = "krest.dlq.delivery_count"
	HeaderReason        = "krest.dlq.reason"
)

// DeadLetterTopic is the dead-letter topic of a topic's records.
func DeadLetterTopic(topic string) string { return topic + ".dlq" }

// MaxRecords bounds LeaseRequest.MaxRecords.
const MaxRecords = 500

// LeaseRequest asks for records of group's share of topics.
type LeaseRequest struct {
	Group  string
	Topics []string
	// MaxRecords is the most records to lease, 1 to MaxRecords.
	MaxRecords int
	// Wait is how long to wait for a record when none is ready; 0 answers
	// at once.
	Wait time.Duration
	// Lease is how long each record is held for its caller, at most
	// Options.MaxLease.
	Lease time.Duration
}

// Leased is a record held for its caller until ExpiresAt, settled by an
// acknowledgement naming Token.
type Leased struct {
	// Record has the record's topic, partition, offset, key, value,
	// headers and timestamp; it is the caller's to keep.
	Record        *kgo.Record
	DeliveryCount int32
	Token         string
	ExpiresAt     time.Time
}

// Action settles or extends a lease.
type Action int8

// The actions of an acknowledgement.
const (
	// Accept marks the record processed.
	Accept Action = iota + 1
	// Release gives the record back for another delivery.
	Release
	// Reject dead-letters the record.
	Reject
	// Renew extends the lease by its duration.
	Renew
)

// ParseAction returns the action named s: accept, release, reject, renew.
func ParseAction(s string) (Action, bool) {
	for a, name := range actionNames {
		if name == s && a != 0 {
			return Action(a), true
		}
	}
	return 0, false
}

var actionNames = [...]string{"", "accept", "release", "reject", "renew"}

// String returns the action's name.
func (a Action) String() string {
	if a > 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Ack is one acknowledgement: a lease's token and what to do with it.
type Ack struct {
	Token  string
	Action Action
}

// Status is an acknowledgement's outcome.
type Status string

// The outcomes of an acknowledgement.
const (
	// StatusOK: done (for renew, the lease now expires at ExpiresAt).
	StatusOK Status = "ok"
	// StatusLeaseLost: the lease expired, its member is gone, or the
	// brokers refused the acknowledgement; the record will be delivered
	// again.
	StatusLeaseLost Status = "lease_lost"
	// StatusInvalid: the token is not one of this group's.
	StatusInvalid Status = "invalid"
)

// AckResult is the outcome of one Ack.
type AckResult struct {
	Token  string
	Status Status
	// ExpiresAt is a renewed lease's new expiry.
	ExpiresAt time.Time
}

var (
	// ErrBusy is returned when a lease needs a member past
	// Options.MaxMembers and none is idle.
	ErrBusy = errors.New("too many share-group members on this node")
	// ErrUnsupported is returned, wrapped with the versions found, when
	// the brokers do not serve share groups.
	ErrUnsupported = errors.New("share groups need Kafka 4.1 with share.version=1, or Kafka 4.2 or later")
	// ErrInvalid is returned, wrapped with the reason, for a request that
	// cannot be served.
	ErrInvalid = errors.New("invalid lease request")
	// ErrClosed is returned when the manager is closed.
	ErrClosed = errors.New("queues closed")
)
