package logline

import (
	"cmp"
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
// warning or error. A full buffer, and the interval's, is written by a
// goroutine of its own while the next one fills, so a slow output holds
// up a writer only once a second buffer is full too. Flush and Close
// return once all that came before is out. It is safe for concurrent use,
// and each Write reaches the output whole and in order.
//
// What a Writer holds is lost if the process dies without Close: at most
// FlushInterval of lines and the buffer on its way, and never a warning or
// error written through a Handler. Work whose record is a line (the consumer's "consumed message")
// must Flush before it counts as done.
type Writer struct {
	out      io.Writer
	size     int
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// The second buffer goes back and forth between the writing
	// goroutine and spare: a full buffer is sent to full, and spare hands
	// back the one written before, with that write's error.
	full  chan []byte
	spare chan written

	mu     sync.Mutex
	buf    []byte
	err    error // the first error of a write since the last Flush
	closed bool
}

// written is a buffer the writing goroutine is done with, emptied, and the
// error its write returned.
type written struct {
	buf []byte
	err error
}

// NewWriter returns a Writer to out and starts its two goroutines until
// Close: one hands the buffer over every FlushInterval, the other writes
// out what is handed over.
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
		stop: make(chan struct{}), done: make(chan struct{}),
		full: make(chan []byte), spare: make(chan written, 1)}
	w.spare <- written{buf: make([]byte, 0, opts.BufferBytes)}
	go w.loop(opts.FlushInterval)
	go w.writeBehind()
	return w, nil
}

// writeBehind writes out each buffer handed over, then hands it back as
// the spare.
func (w *Writer) writeBehind() {
	for b := range w.full {
		_, err := w.out.Write(b)
		if cap(b) > 2*w.size { // a long line grew it: give that back
			b = make([]byte, 0, w.size)
		}
		w.spare <- written{buf: b[:0], err: err}
	}
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
			w.mu.Lock()
			w.handOffLocked()
			w.mu.Unlock()
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
	if len(p) > w.size {
		w.writeOutLocked()
		return w.out.Write(p)
	}
	if len(w.buf)+len(p) > w.size {
		w.handOffLocked()
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
	if len(w.buf) > w.size-lineRoom {
		w.handOffLocked()
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
	w.handOffLocked()
	return true, nil
}

// lineRoom is the room appendLine keeps for a line.
const lineRoom = 4 << 10

// Flush writes the buffer out, after the one on its way, and returns the
// first error the output returned since the last Flush. The buffer is
// emptied either way: what the output refused is not tried again.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	w.writeOutLocked()
	err := w.err
	w.err = nil
	return err
}

// writeOutLocked writes the buffer out once the one on its way is out;
// either's error waits for the next Flush. Then nothing is on its way
// until the next hand-off, which needs w.mu.
func (w *Writer) writeOutLocked() {
	s := <-w.spare
	w.err = cmp.Or(w.err, s.err)
	if len(w.buf) > 0 {
		_, err := w.out.Write(w.buf)
		w.err = cmp.Or(w.err, err)
		w.buf = w.buf[:0]
	}
	w.spare <- written{buf: s.buf}
}

// handOffLocked sends the buffer to the writing goroutine, once that is
// done with the one before, and takes that one to fill. An error of its
// write waits for the next Flush.
func (w *Writer) handOffLocked() {
	if len(w.buf) == 0 {
		return
	}
	s := <-w.spare
	w.full <- w.buf
	w.buf = s.buf
	w.err = cmp.Or(w.err, s.err)
}

// Close stops the flushing goroutine and writes the buffer out; later
// writes go straight to the output. It does not close the output.
func (w *Writer) Close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flushLocked()
	close(w.full)
	return err
}
