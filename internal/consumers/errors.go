package consumers

import "errors"

var (
	// ErrNotFound is returned when no instance of the group has the id on
	// this node.
	ErrNotFound = errors.New("consumer instance not found")
	// ErrExists is returned when an instance is created under an id an
	// instance of the group already has on this node.
	ErrExists = errors.New("consumer instance already exists")
	// ErrTooMany is returned when creating an instance past
	// Options.MaxInstances.
	ErrTooMany = errors.New("too many consumer instances on this node")
	// ErrIllegalState is returned, wrapped with the reason, for an
	// operation the instance's state forbids: subscribing while assigned
	// (or the reverse), seeking or committing a partition the instance
	// does not hold, another read in progress.
	ErrIllegalState = errors.New("illegal state")
	// ErrInvalidConfig is returned, wrapped with the reason, when an
	// instance's configuration cannot work.
	ErrInvalidConfig = errors.New("invalid consumer configuration")
	// ErrClosed is returned when the manager is closed.
	ErrClosed = errors.New("consumer instances closed")
)
