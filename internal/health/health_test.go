package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestMonitor(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	down := errors.New("broker unreachable")
	m := New(func(context.Context) error {
		if failing.Load() {
			return down
		}
		return nil
	}, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := m.Ready(); !errors.Is(err, errNotChecked) {
		t.Fatalf("before any check: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)

	waitReady := func(want error) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for err := m.Ready(); !errors.Is(err, want) && !(want == nil && err == nil); err = m.Ready() {
			if time.Now().After(deadline) {
				t.Fatalf("Ready() = %v, want %v", err, want)
			}
			<-time.After(5 * time.Millisecond) // polling interval
		}
	}
	waitReady(down)
	select {
	case <-m.Readied():
		t.Fatal("Readied closed while the check fails")
	default:
	}
	failing.Store(false)
	waitReady(nil)
	<-m.Readied()
	m.Drain()
	if err := m.Ready(); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("after Drain: %v", err)
	}
}
