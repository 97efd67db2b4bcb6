// Package watch reloads files when they change: a Watcher polls a set of
// files (a users file, a policy, a certificate and its key) and hands
// their contents to a load function whenever any of them changes, keeping
// the last good contents in force when a load fails.
package watch

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultInterval is how often files are polled unless told otherwise.
const DefaultInterval = 5 * time.Second

// ErrInvalidFile is returned, wrapped with the file's name, for a file
// that is not a regular file, is too large, or that load refused.
var ErrInvalidFile = errors.New("invalid file")

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

// Watcher polls a set of files and calls load with all their contents
// whenever they change: a changed modification time or size makes it read
// them, and a changed SHA-256 of the contents makes it call load. A load
// that fails leaves the last good contents in force; the failure is
// logged once and kept for Err until the files change again.
type Watcher struct {
	paths []string
	load  func([][]byte) error
	log   *slog.Logger

	mu      sync.Mutex // serializes check and guards what follows
	seen    bool       // a read of every file has succeeded
	loaded  bool       // a load has succeeded: contents are in force
	files   []fileState
	sum     [sha256.Size]byte // of every file's contents, in order
	loadErr error             // load's answer to the contents summed in sum
	err     error             // the last attempt's error: reading, or loadErr

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// fileState is what a Watcher last saw of one file.
type fileState struct {
	modTime time.Time
	size    int64
	readAt  time.Time
}

// New loads paths once, failing if it cannot, and then, with a positive
// interval, starts a goroutine that polls them every interval until Close.
// load gets the files' contents in the order of paths.
func New(paths []string, interval time.Duration, log *slog.Logger, load func([][]byte) error) (*Watcher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{paths: paths, load: load, log: log, files: make([]fileState, len(paths)),
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := w.Check(); err != nil {
		return nil, err
	}
	if interval <= 0 {
		close(w.done)
		return w, nil
	}
	go w.run(interval)
	return w, nil
}

func (w *Watcher) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Check() // the error is logged and kept for Err
		}
	}
}

// Check reloads the files now if they changed, returning this attempt's
// error.
func (w *Watcher) Check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	stats := make([]os.FileInfo, len(w.paths))
	changed := !w.seen
	for i, path := range w.paths {
		fi, err := os.Stat(path)
		if err != nil {
			return w.fail(err)
		}
		if !fi.Mode().IsRegular() {
			return w.fail(fmt.Errorf("%w: %s: not a regular file", ErrInvalidFile, path))
		}
		f := w.files[i]
		if !fi.ModTime().Equal(f.modTime) || fi.Size() != f.size || f.readAt.Sub(f.modTime) <= racyWindow {
			changed = true
		}
		stats[i] = fi
	}
	if !changed {
		return nil
	}
	contents := make([][]byte, len(w.paths))
	h := sha256.New()
	for i, path := range w.paths {
		readAt := time.Now()
		data, err := readFile(path)
		if err != nil {
			return w.fail(err)
		}
		contents[i] = data
		fmt.Fprintf(h, "%d:", len(data))
		h.Write(data)
		w.files[i] = fileState{modTime: stats[i].ModTime(), size: stats[i].Size(), readAt: readAt}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	unchanged := w.seen && sum == w.sum
	w.seen, w.sum = true, sum
	if unchanged {
		// Touched or rewritten with the same bytes, or readable again
		// after a failed read: load's answer to these bytes stands.
		w.err = w.loadErr
		return w.loadErr
	}
	if err := w.load(contents); err != nil {
		w.loadErr = fmt.Errorf("%w: %s: %w", ErrInvalidFile, w.name(), err)
		return w.fail(w.loadErr)
	}
	w.loadErr, w.loaded = nil, true
	if w.err != nil {
		w.log.Info("file reloaded after an error", "file", w.name())
	}
	w.err = nil
	return nil
}

// name names the watched files in messages.
func (w *Watcher) name() string {
	if len(w.paths) == 1 {
		return w.paths[0]
	}
	return fmt.Sprint(w.paths)
}

// fail records err, logging it when it differs from the last one. Before
// the first load succeeds there is nothing to keep, and the error goes
// back to New's caller instead.
func (w *Watcher) fail(err error) error {
	if w.loaded && (w.err == nil || w.err.Error() != err.Error()) {
		w.log.Error("file not reloaded; keeping the last good contents", "file", w.name(), "err", err)
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

// Err returns the error of the last attempt to load the files, or nil when
// their current contents are in force.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close stops polling and waits for the goroutine to end.
func (w *Watcher) Close() {
	w.closeOnce.Do(func() { close(w.stop) })
	<-w.done
}
