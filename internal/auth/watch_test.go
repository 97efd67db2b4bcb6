package auth

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestWatcher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	writeFile(t, path, "good-1")
	var loaded []string
	load := func(b []byte) error {
		loaded = append(loaded, string(b))
		if string(b[:3]) == "bad" {
			return errors.New("bad contents")
		}
		return nil
	}
	w, err := newWatcher(path, -1, slog.New(slog.DiscardHandler), load)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	fi, _ := os.Stat(path)
	mtime := fi.ModTime()
	steps := []struct {
		name   string
		change func()
		loads  []string
		err    error // errors.Is the watcher's Err
	}{
		{"unchanged", func() {}, []string{"good-1"}, nil},
		{"same size, same time, just read: caught", func() {
			writeFile(t, path, "good-2")
			os.Chtimes(path, mtime, mtime)
		}, []string{"good-1", "good-2"}, nil},
		{"touched: read, not loaded", func() {
			mtime = mtime.Add(-time.Hour)
			os.Chtimes(path, mtime, mtime)
		}, []string{"good-1", "good-2"}, nil},
		{"bad contents: loaded and refused", func() { writeFile(t, path, "bad-1") }, []string{"good-1", "good-2", "bad-1"}, ErrInvalidFile},
		{"the same bad contents are not loaded again", func() {
			os.Chtimes(path, time.Now(), time.Now())
		}, []string{"good-1", "good-2", "bad-1"}, ErrInvalidFile},
		{"missing", func() { os.Remove(path) }, []string{"good-1", "good-2", "bad-1"}, os.ErrNotExist},
		{"back with the same bad contents", func() { writeFile(t, path, "bad-1") }, []string{"good-1", "good-2", "bad-1"}, ErrInvalidFile},
		{"fixed", func() { writeFile(t, path, "good-3") }, []string{"good-1", "good-2", "bad-1", "good-3"}, nil},
		{"a directory", func() { os.Remove(path); os.Mkdir(path, 0o700) }, []string{"good-1", "good-2", "bad-1", "good-3"}, ErrInvalidFile},
	}
	for _, s := range steps {
		s.change()
		err := w.check()
		if !slices.Equal(loaded, s.loads) {
			t.Fatalf("%s: loaded %q, want %q", s.name, loaded, s.loads)
		}
		if (s.err == nil && w.Err() != nil) || (s.err != nil && !errors.Is(w.Err(), s.err)) || !errors.Is(err, s.err) && s.err != nil {
			t.Fatalf("%s: check() = %v, Err() = %v; want %v", s.name, err, w.Err(), s.err)
		}
	}
}
