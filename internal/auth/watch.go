package auth

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultReloadInterval is how often a watched file is polled for changes
// unless its options say otherwise.
const DefaultReloadInterval = 5 * time.Second

const (
	// maxFileBytes bounds a watched file; a users file of 100,000 users is
	// about 7 MiB.
	maxFileBytes = 32 << 20
	// racyWindow is how close to the last read a file's modification time
	// may be and still hide a change: a write in the same clock tick as the
	// read keeps the time and, if it keeps the size, is only caught by
	// reading again. Until the file's time is this far behind the last
	// read, every poll reads it (compare git's "racy git" problem).
	racyWindow = 2 * time.Second
)

// watcher polls one file and hands its contents to load whenever they
// change: a changed modification time or size makes it read the file, and
// a changed SHA-256 of the contents makes it call load. A load that fails
// leaves the last good contents in force; the failure is logged once and
// kept for Err until the file changes again.
type watcher struct {
	path string
	load func([]byte) error
	log  *slog.Logger

	mu      sync.Mutex // serializes check and guards what follows
	seen    bool       // a read has succeeded
	loaded  bool       // a load has succeeded: contents are in force
	modTime time.Time
	size    int64
	sum     [sha256.Size]byte
	readAt  time.Time
	loadErr error // load's answer to the contents summed in sum
	err     error // the last attempt's error: reading, or loadErr

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newWatcher loads path once, failing if it cannot, and then, with a
// positive interval, starts a goroutine that polls it every interval until
// close.
func newWatcher(path string, interval time.Duration, log *slog.Logger, load func([]byte) error) (*watcher, error) {
	w := &watcher{path: path, load: load, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	if err := w.check(); err != nil {
		return nil, err
	}
	if interval <= 0 {
		close(w.done)
		return w, nil
	}
	go w.run(interval)
	return w, nil
}

func (w *watcher) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.check() // the error is logged and kept for Err
		}
	}
}

// check reloads the file if it changed, returning this attempt's error.
func (w *watcher) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	fi, err := os.Stat(w.path)
	if err != nil {
		return w.fail(err)
	}
	if !fi.Mode().IsRegular() {
		return w.fail(fmt.Errorf("%w: %s: not a regular file", ErrInvalidFile, w.path))
	}
	if w.seen && fi.ModTime().Equal(w.modTime) && fi.Size() == w.size && w.readAt.Sub(w.modTime) > racyWindow {
		return nil
	}
	readAt := time.Now()
	data, err := readFile(w.path)
	if err != nil {
		return w.fail(err)
	}
	sum := sha256.Sum256(data)
	unchanged := w.seen && sum == w.sum
	w.seen, w.modTime, w.size, w.sum, w.readAt = true, fi.ModTime(), fi.Size(), sum, readAt
	if unchanged {
		// Touched or rewritten with the same bytes, or readable again
		// after a failed read: load's answer to these bytes stands.
		w.err = w.loadErr
		return w.loadErr
	}
	if err := w.load(data); err != nil {
		w.loadErr = fmt.Errorf("%w: %s: %w", ErrInvalidFile, w.path, err)
		return w.fail(w.loadErr)
	}
	w.loadErr, w.loaded = nil, true
	if w.err != nil {
		w.log.Info("file reloaded after an error", "file", w.path)
	}
	w.err = nil
	return nil
}

// fail records err, logging it when it differs from the last one. Before
// the first load succeeds there is nothing to keep, and the error goes
// back to newWatcher's caller instead.
func (w *watcher) fail(err error) error {
	if w.loaded && (w.err == nil || w.err.Error() != err.Error()) {
		w.log.Error("file not reloaded; keeping the last good contents", "file", w.path, "err", err)
	}
	w.err = err
	return err
}

// readFile reads a regular file of at most maxFileBytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(f, maxFileBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxFileBytes {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalidFile, path, maxFileBytes)
	}
	return buf.Bytes(), nil
}

// Err returns the error of the last attempt to load the file, or nil when
// its current contents are in force.
func (w *watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// close stops polling and waits for the goroutine to end.
func (w *watcher) close() {
	w.closeOnce.Do(func() { close(w.stop) })
	<-w.done
}
