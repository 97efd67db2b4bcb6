package consume

import "errors"

var (
	// ErrUndecodable is returned by LogSink for a record whose value is not
	// a message {"id": string, "content": string}.
	ErrUndecodable = errors.New("record value is not a message")
	// ErrDeadLetterFailed is returned by DeadLetters.Send when the
	// dead-letter topic did not take a record: the writer's error was not
	// retriable, or retries ran out of their time. It wraps the writer's
	// last error too.
	ErrDeadLetterFailed = errors.New("record could not be dead-lettered")
)
