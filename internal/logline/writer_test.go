package logline

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// output records the writes that reach it, each as one string, and
// signals each on signal. With gate set, each write first waits for a
// value from it.
type output struct {
	mu     sync.Mutex
	writes []string
	err    error
	signal chan struct{}
	gate   chan struct{}
}

func newOutput() *output { return &output{signal: make(chan struct{}, 100)} }

func (o *output) Write(p []byte) (int, error) {
	if o.gate != nil {
		<-o.gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes = append(o.writes, string(p))
	select {
	case o.signal <- struct{}{}:
	default:
	}
	if o.err != nil {
		return 0, o.err
	}
	return len(p), nil
}

func (o *output) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.writes...)
}

func newWriter(t *testing.T, out *output, opts WriterOptions) *Writer {
	t.Helper()
	w, err := NewWriter(out, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func TestWriterBuffers(t *testing.T) {
	out := newOutput()
	w := newWriter(t, out, WriterOptions{FlushInterval: time.Hour, BufferBytes: 10})
	for _, p := range []string{"abc\n", "def\n"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if got := out.got(); len(got) != 0 {
		t.Fatalf("wrote %q before a flush", got)
	}
	_, _ = w.Write([]byte("ghi\n")) // does not fit: the buffer goes first
	_, _ = w.Write([]byte("longer than ten\n"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []string{"abc\ndef\n", "ghi\n", "longer than ten\n"}
	if got := out.got(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("writes %q, want %q", got, want)
	}
	if err := w.Flush(); err != nil || len(out.got()) != 3 {
		t.Errorf("an empty flush wrote: %q, %v", out.got(), err)
	}
}

// TestWriterWritesBehind: a full buffer is written while the next one
// fills, so a write waits for a slow output only once a second buffer is
// full too; Flush returns once both are out, in order.
func TestWriterWritesBehind(t *testing.T) {
	out := newOutput()
	out.gate = make(chan struct{})
	w := newWriter(t, out, WriterOptions{FlushInterval: time.Hour, BufferBytes: 10})
	for _, p := range []string{"0123456789", "abc"} { // the second hands the first over
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatalf("Write(%q): %v", p, err)
		}
	}
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush() }()
	for range 2 { // the first write, then the flush's own
		out.gate <- struct{}{}
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if got := out.got(); strings.Join(got, "|") != "0123456789|abc" {
		t.Errorf("writes %q, want the full buffer and then the rest", got)
	}
}

func TestWriterFlushesOnItsInterval(t *testing.T) {
	out := newOutput()
	w := newWriter(t, out, WriterOptions{FlushInterval: 10 * time.Millisecond})
	_, _ = w.Write([]byte("line\n"))
	select {
	case <-out.signal:
	case <-time.After(10 * time.Second):
		t.Fatal("the line was not written in 10s")
	}
	if got := out.got(); len(got) != 1 || got[0] != "line\n" {
		t.Errorf("writes %q", got)
	}
}

func TestWriterClose(t *testing.T) {
	out := newOutput()
	w := newWriter(t, out, WriterOptions{FlushInterval: time.Hour})
	_, _ = w.Write([]byte("before\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, _ = w.Write([]byte("after\n"))
	if got := out.got(); strings.Join(got, "|") != "before\n|after\n" {
		t.Errorf("writes %q: Close must write the buffer out, and later writes go straight through", got)
	}
}

func TestWriterErrors(t *testing.T) {
	out := newOutput()
	out.err = errors.New("disk full")
	w := newWriter(t, out, WriterOptions{FlushInterval: time.Hour})
	_, _ = w.Write([]byte("lost\n"))
	if err := w.Flush(); !errors.Is(err, out.err) {
		t.Errorf("Flush = %v, want the output's error", err)
	}
	out.mu.Lock()
	out.err = nil
	out.mu.Unlock()
	if err := w.Flush(); err != nil || len(out.got()) != 1 {
		t.Errorf("what the output refused was tried again: %q, %v", out.got(), err)
	}
	// A buffer written behind: its error waits for the next Flush.
	behind := newOutput()
	behind.err = errors.New("pipe closed")
	small := newWriter(t, behind, WriterOptions{FlushInterval: time.Hour, BufferBytes: 4})
	for _, p := range []string{"abc\n", "def\n"} {
		if _, err := small.Write([]byte(p)); err != nil {
			t.Fatalf("Write(%q) = %v: the buffer it handed over is written behind it", p, err)
		}
	}
	<-behind.signal
	behind.mu.Lock()
	behind.err = nil
	behind.mu.Unlock()
	if err := small.Flush(); err == nil || err.Error() != "pipe closed" {
		t.Errorf("Flush = %v, want the error of the buffer written before it", err)
	}
	if got := behind.got(); strings.Join(got, "|") != "abc\n|def\n" {
		t.Errorf("writes %q", got)
	}
	for _, opts := range []WriterOptions{{FlushInterval: -1}, {BufferBytes: -1}} {
		if _, err := NewWriter(out, opts); err == nil {
			t.Errorf("NewWriter(%+v) accepted", opts)
		}
	}
	if _, err := NewWriter(nil, WriterOptions{}); err == nil {
		t.Error("NewWriter(nil) accepted")
	}
}

// TestHandlerFlushesWarnings: info lines wait in the buffer; a warning
// or an error is written at once, with what came before it.
func TestHandlerFlushesWarnings(t *testing.T) {
	out := newOutput()
	w := newWriter(t, out, WriterOptions{FlushInterval: time.Hour})
	h, err := NewHandler(w, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(h)
	logger.Info("waits")
	if got := out.got(); len(got) != 0 {
		t.Fatalf("an info line was written at once: %q", got)
	}
	logger.With("client", "consumer").Warn("goes")
	got := out.got()
	if len(got) != 1 || !strings.Contains(got[0], "msg=waits") || !strings.Contains(got[0], "msg=goes client=consumer") {
		t.Errorf("writes %q, want the info and the warning together", got)
	}
	var buf bytes.Buffer
	if _, err := NewHandler(&buf, HandlerOptions{}); err != nil {
		t.Errorf("a writer without Flush: %v", err)
	}
	if _, err := NewHandler(nil, HandlerOptions{}); err == nil {
		t.Error("NewHandler(nil) accepted")
	}
}

// TestHandlerWritesInPlace: lines a Handler builds in a Writer's buffer
// come out whole and in order with the ones slog's handler writes, a line
// it gives up on half-built leaves nothing behind, and a line longer than
// the buffer comes out whole.
func TestHandlerWritesInPlace(t *testing.T) {
	for _, size := range []int{100, DefaultBufferBytes} {
		out := newOutput()
		w := newWriter(t, out, WriterOptions{FlushInterval: time.Hour, BufferBytes: size})
		h, err := NewHandler(w, HandlerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		logger := slog.New(h)
		long := strings.Repeat("x", 300)
		logger.Info("one", "k", "v")
		logger.Info("two", "k", "v", "f", 1.5) // half built, then left to slog
		logger.Info("three", "long", long)
		at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		if ok, err := h.HandleMessage(at, []byte("1"), []byte("hi"), 2, "m", 0, 7); !ok || err != nil {
			t.Fatalf("HandleMessage: %v, %v", ok, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.Join(out.got(), ""), "\n")
		want := []string{"msg=one k=v", "msg=two k=v f=1.5", "msg=three long=" + long, `msg="consumed message" id=1 content=hi topic=m partition=0 offset=7`, ""}
		if len(lines) != len(want) {
			t.Fatalf("buffer %d: lines %q", size, lines)
		}
		for i, l := range lines[:len(lines)-1] {
			if !strings.HasPrefix(l, "time=") || !strings.HasSuffix(l, " level=INFO "+want[i]) {
				t.Errorf("buffer %d: line %d is %q, want it to end with %q", size, i, l, want[i])
			}
		}
	}
}
