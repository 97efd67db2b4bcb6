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
	ln := listen(t)
	s := newTestServer(t, opts)
	serveOn(t, s, ln)
	return s, "http://" + ln.Addr().String()
}

// listen returns a listener on a free loopback port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// newTestServer returns a Server of opts, a zero Logger or Metrics filled
// in.
func newTestServer(t testing.TB, opts Options) *Server {
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
	return s
}

// serveOn serves s on ln; t.Cleanup shuts it down.
func serveOn(t testing.TB, s *Server, ln net.Listener) {
	t.Helper()
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
}

// routeLabels returns "METHOD /pattern" for every route of opts.
func routeLabels(opts Options) []string {
	var labels []string
	for _, r := range routes(opts, &handlers{}) {
		labels = append(labels, r.label)
	}
	return labels
}
