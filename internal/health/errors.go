package health

import "errors"

var (
	// ErrShuttingDown is returned by Ready once Drain was called.
	ErrShuttingDown = errors.New("shutting down")

	// ErrTopicMissing is returned by Check when a topic does not exist and
	// krest does not create it.
	ErrTopicMissing = errors.New("topic does not exist")

	// ErrNotWritable is returned by Check when no partition of a topic can
	// take a write with acks=all: none has a leader and min.insync.replicas
	// in-sync replicas (as when most brokers are down).
	ErrNotWritable = errors.New("no partition can take writes")

	// errNotChecked is returned by Ready before the first check finished.
	errNotChecked = errors.New("cluster not checked yet")
)
