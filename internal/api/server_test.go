package api

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"krest/internal/metrics"
)

// serve starts a Server with opts on a free loopback port and returns its
// base URL; t.Cleanup shuts it down. A zero Logger or Metrics is filled in.
func serve(t testing.TB, opts Options) string {
	t.Helper()
	_, url := startServer(t, opts)
	return url
}

// startServer is serve that also returns the server.
func startServer(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

// routeLabels returns "METHOD /pattern" for every route of opts.
func routeLabels(opts Options) []string {
	var labels []string
	for _, r := range routes(opts, &handlers{}) {
		labels = append(labels, r.label)
	}
	return labels
}
