package watch

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestWatcher walks one file through the changes a watcher must see and
// those it must not load again.
func TestWatcher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	writeFile(t, path, "good-1")
	var loaded []string
	load := func(files [][]byte) error {
		b := files[0]
		loaded = append(loaded, string(b))
		if string(b[:3]) == "bad" {
			return errors.New("bad contents")
		}
		return nil
	}
	w, err := New([]string{path}, -1, slog.New(slog.DiscardHandler), load)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
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
		err := w.Check()
		if !slices.Equal(loaded, s.loads) {
			t.Fatalf("%s: loaded %q, want %q", s.name, loaded, s.loads)
		}
		if (s.err == nil && w.Err() != nil) || (s.err != nil && !errors.Is(w.Err(), s.err)) || !errors.Is(err, s.err) && s.err != nil {
			t.Fatalf("%s: check() = %v, Err() = %v; want %v", s.name, err, w.Err(), s.err)
		}
	}
}

// TestWatcherPair checks that a change to either of two files loads both,
// and that a pair refused (a certificate rotated before its key) loads
// once the second file follows.
func TestWatcherPair(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert"), filepath.Join(dir, "key")
	writeFile(t, cert, "c1")
	writeFile(t, key, "k1")
	var loaded []string
	w, err := New([]string{cert, key}, -1, nil, func(files [][]byte) error {
		c, k := string(files[0]), string(files[1])
		if c[1:] != k[1:] {
			return errors.New("certificate and key differ")
		}
		loaded = append(loaded, c+k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	writeFile(t, cert, "c2")
	if err := w.Check(); !errors.Is(err, ErrInvalidFile) {
		t.Fatalf("cert without its key: %v", err)
	}
	writeFile(t, key, "k2")
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded, []string{"c1k1", "c2k2"}) {
		t.Errorf("loaded %q", loaded)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
