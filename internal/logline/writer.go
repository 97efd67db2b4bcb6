package logline

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Writer defaults.
const (
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultBufferBytes   = 64 << 10
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// FlushInterval is the longest a write waits in the buffer. Default
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// BufferBytes is the size of the buffer: a write that would overflow
	// it first writes the buffer out, and one larger than it goes straight
	// through. Default DefaultBufferBytes.
	BufferBytes int
}

// Writer buffers writes to an io.Writer, so that many short lines cost one
// system call. It writes the buffer out when it fills, every
// FlushInterval, on Flush and on Close; a Handler flushes it after each
// warning or error. It is safe for concurrent use, and each Write reaches
// the output whole and in order.
//
// What a Writer holds is lost if the process dies without Close: at most
// FlushInterval of lines, and never a warning or error written through a
// Handler. Work whose record is a line (the consumer's "consumed message")
// must Flush before it counts as done.
type Writer struct {
	out      io.Writer
	size     int
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu     sync.Mutex
	buf    []byte
	closed bool
}

// NewWriter returns a Writer to out and starts the goroutine that flushes
// it every FlushInterval until Close.
func NewWriter(out io.Writer, opts WriterOptions) (*Writer, error) {
	switch {
	case out == nil:
		return nil, errors.New("log writer needs an output")
	case opts.FlushInterval < 0:
		return nil, fmt.Errorf("log flush interval must not be negative, not %s", opts.FlushInterval)
	case opts.BufferBytes < 0:
		return nil, fmt.Errorf("log buffer size must not be negative, not %d", opts.BufferBytes)
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.BufferBytes == 0 {
		opts.BufferBytes = DefaultBufferBytes
	}
	w := &Writer{out: out, size: opts.BufferBytes, buf: make([]byte, 0, opts.BufferBytes),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(opts.FlushInterval)
	return w, nil
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush() // the next write or Flush meets a lasting error
		}
	}
}

// Write buffers p, writing the buffer out first if p does not fit. After
// Close it writes p straight through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.out.Write(p)
	}
	if len(w.buf)+len(p) > w.size {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > w.size {
			return w.out.Write(p)
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// appendLine appends a line built by build to the buffer in place, as
// Write would write it, unless build reports false. It saves a Handler
// the copy through its own buffer.
func (w *Writer) appendLine(build func([]byte) ([]byte, bool)) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		b, ok := build(nil)
		if !ok {
			return false, nil
		}
		_, err := w.out.Write(b)
		return true, err
	}
	// Room for a line of up to lineRoom without growing the buffer.
	if len(w.buf) > 0 && len(w.buf) > w.size-lineRoom {
		if err := w.flushLocked(); err != nil {
			return false, err
		}
	}
	start := len(w.buf)
	b, ok := build(w.buf)
	if !ok {
		w.buf = w.buf[:start]
		return false, nil
	}
	w.buf = b
	if len(w.buf) < w.size {
		return true, nil
	}
	err := w.flushLocked()
	if cap(w.buf) > 2*w.size { // a long line grew it: give that back
		w.buf = make([]byte, 0, w.size)
	}
	return true, err
}

// lineRoom is the room appendLine keeps for a line.
const lineRoom = 4 << 10

// Flush writes the buffer out and returns the output's error. The buffer
// is emptied either way: what the output refused is not tried again.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Close stops the flushing goroutine and writes the buffer out; later
// writes go straight to the output. It does not close the output.
func (w *Writer) Close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.flushLocked()
}
