package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"krest/internal/kafkatest"
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
		kafkatest.WaitFor(t, 5*time.Second, func() error {
			if err := m.Ready(); !errors.Is(err, want) {
				return fmt.Errorf("Ready() = %v, want %v", err, want)
			}
			return nil
		})
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

// TestDetails checks that details are reported as their funcs answer at
// the time of asking, nil answers left out, whatever Ready says.
func TestDetails(t *testing.T) {
	m := New(func(context.Context) error { return nil }, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got := m.Details(); got != nil {
		t.Fatalf("Details() with none registered = %v, want nil", got)
	}
	var paused atomic.Int64
	m.AddDetail("paused_partitions", func() any {
		if n := paused.Load(); n > 0 {
			return n
		}
		return nil
	})
	m.AddDetail("mode", func() any { return "embedded" })
	if got, want := m.Details(), map[string]any{"mode": "embedded"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Details() = %v, want %v", got, want)
	}
	paused.Store(2)
	if got, want := m.Details(), map[string]any{"mode": "embedded", "paused_partitions": int64(2)}; !reflect.DeepEqual(got, want) {
		t.Errorf("Details() = %v, want %v", got, want)
	}
	if err := m.Ready(); !errors.Is(err, errNotChecked) {
		t.Errorf("Ready() = %v: details must not change readiness", err)
	}
}
