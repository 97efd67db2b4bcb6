package config

import (
	"flag"
	"time"
)

// Queues are the settings of the work queues on Kafka share groups (the
// share-groups routes): see queues.go, which registers their flags and
// checks them.
type Queues struct {
	// ShareMaxMembers bounds the share-group members open on this node at
	// once, each with its own Kafka client; past it, a lease that needs
	// another answers 429. Default 256; --share-max-members,
	// KREST_SHARE_MAX_MEMBERS.
	ShareMaxMembers int
	// ShareIdleTimeout closes a share-group member no lease used for this
	// long. Default 1m; --share-idle-timeout, KREST_SHARE_IDLE_TIMEOUT.
	ShareIdleTimeout time.Duration
	// ShareMaxLease bounds the lease_ms a caller may ask for, from 1s.
	// Default 5m; --share-max-lease, KREST_SHARE_MAX_LEASE.
	ShareMaxLease time.Duration
	// ShareMaxDeliveries is the delivery after which a record released,
	// or whose lease expired, is dead-lettered: at least 1; above the
	// brokers' group.share.delivery.count.limit, theirs is used. Default
	// 4, one below the brokers' default, so that a record whose fourth
	// holder vanished is dead-lettered at its fifth delivery rather than
	// archived by the brokers; --share-max-deliveries,
	// KREST_SHARE_MAX_DELIVERIES.
	ShareMaxDeliveries int
	// ShareAutoOffsetReset is where a share group with no position starts
	// (share.auto.offset.reset, for the groups that do not set it):
	// earliest or latest. Default earliest; --share-auto-offset-reset,
	// KREST_SHARE_AUTO_OFFSET_RESET.
	ShareAutoOffsetReset string
	// ShareLockDuration, when set, is share.record.lock.duration.ms for
	// the share groups that do not set it: how long the brokers hold a
	// record for a member (within their group.share.min and
	// max.record.lock.duration.ms, 15s to 1h by default). A lease longer
	// than the lock is renewed on Kafka 4.2 and later. Default 0, the
	// brokers' own (30s); --share-lock-duration,
	// KREST_SHARE_LOCK_DURATION.
	ShareLockDuration time.Duration
	// ShareDeadLetters is who dead-letters a record delivered too often:
	// "krest" writes it to <topic>.dlq; "broker" leaves it to the
	// brokers' own limit (and, on Kafka 4.4 and later, their
	// errors.deadletterqueue.topic.name). Default krest;
	// --share-dead-letters, KREST_SHARE_DEAD_LETTERS.
	ShareDeadLetters string
}

// The values of ShareDeadLetters.
const (
	ShareDeadLettersKrest  = "krest"
	ShareDeadLettersBroker = "broker"
)

// minShareLease is the shortest ShareMaxLease, and the shortest lease a
// caller may ask for.
const minShareLease = time.Second

// queueDefaults returns the work queue settings' defaults.
func queueDefaults() Queues {
	return Queues{ShareMaxMembers: 256, ShareIdleTimeout: time.Minute, ShareMaxLease: 5 * time.Minute, ShareMaxDeliveries: 4,
		ShareAutoOffsetReset: "earliest", ShareDeadLetters: ShareDeadLettersKrest}
}

// queueFlags registers the flags of the work queue settings on fs.
func queueFlags(fs *flag.FlagSet, c *Config) {
	fs.IntVar(&c.ShareMaxMembers, "share-max-members", c.ShareMaxMembers, "share-group members open on this node before a lease answers 429 (KREST_SHARE_MAX_MEMBERS)")
	fs.DurationVar(&c.ShareIdleTimeout, "share-idle-timeout", c.ShareIdleTimeout, "how long a share-group member stays open unused (KREST_SHARE_IDLE_TIMEOUT)")
	fs.DurationVar(&c.ShareMaxLease, "share-max-lease", c.ShareMaxLease, "longest lease a caller may ask for (KREST_SHARE_MAX_LEASE)")
	fs.IntVar(&c.ShareMaxDeliveries, "share-max-deliveries", c.ShareMaxDeliveries, "delivery after which a released or expired record is dead-lettered (KREST_SHARE_MAX_DELIVERIES)")
	fs.StringVar(&c.ShareAutoOffsetReset, "share-auto-offset-reset", c.ShareAutoOffsetReset, "where a share group with no position starts: earliest or latest (KREST_SHARE_AUTO_OFFSET_RESET)")
	fs.DurationVar(&c.ShareLockDuration, "share-lock-duration", c.ShareLockDuration, "the brokers' record lock for share groups that set none; 0 leaves theirs (KREST_SHARE_LOCK_DURATION)")
	fs.StringVar(&c.ShareDeadLetters, "share-dead-letters", c.ShareDeadLetters, "who dead-letters a record delivered too often: krest (to <topic>.dlq) or broker (KREST_SHARE_DEAD_LETTERS)")
}

// validateQueues reports, through bad, work queue settings that cannot
// work.
func (c Config) validateQueues(bad func(string, ...any)) {
	if c.ShareMaxMembers < 1 {
		bad("share max members must be positive, not %d", c.ShareMaxMembers)
	}
	if c.ShareIdleTimeout < time.Second {
		bad("share idle timeout must be at least 1s, not %s", c.ShareIdleTimeout)
	}
	if c.ShareMaxLease < minShareLease {
		bad("share max lease must be at least %s, not %s", minShareLease, c.ShareMaxLease)
	}
	if c.ShareLockDuration != 0 && c.ShareLockDuration < time.Second {
		bad("share lock duration must be 0 or at least 1s, not %s", c.ShareLockDuration)
	}
	if c.ShareMaxDeliveries < 1 {
		bad("share max deliveries must be at least 1, not %d", c.ShareMaxDeliveries)
	}
	switch c.ShareAutoOffsetReset {
	case "earliest", "latest":
	default:
		bad("share auto offset reset must be earliest or latest, not %q", c.ShareAutoOffsetReset)
	}
	switch c.ShareDeadLetters {
	case ShareDeadLettersKrest, ShareDeadLettersBroker:
	default:
		bad("share dead letters must be krest or broker, not %q", c.ShareDeadLetters)
	}
}
