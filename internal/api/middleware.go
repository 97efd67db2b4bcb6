package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"krest/internal/metrics"
)

// recoverPanics turns a handler panic into a logged 500 instead of a
// dropped connection.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// requestIDPrefix makes request ids unique across krest processes.
var requestIDPrefix = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}()

var requestSeq atomic.Uint64

// requestID echoes the caller's X-Request-ID, or sets a new one.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Headers are keyed in canonical form; X-Request-Id is it.
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			id = requestIDPrefix + strconv.FormatUint(requestSeq.Add(1), 10)
			r.Header["X-Request-Id"] = []string{id}
		}
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r)
	})
}

// observe logs each request at debug level and records its metrics under
// the route pattern that served it.
func observe(logger *slog.Logger, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		m.ObserveRequest(route, metricMethod(r.Method), sw.status, d)
		if logger.Enabled(r.Context(), slog.LevelDebug) {
			logger.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.String("route", route), slog.Int("status", sw.status),
				slog.Duration("duration", d), slog.String("request_id", w.Header().Get("X-Request-ID")))
		}
	})
}

// metricMethod bounds the method label: any method outside HTTP's own set
// counts as "other".
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusWriter remembers the status a handler wrote. It unwraps for
// http.ResponseController, so flushing and deadlines still work.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the wrapped writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// limitInFlight returns middleware that serves at most n requests at once
// and answers the rest 429 with Retry-After at once, so overload never
// queues without bound.
func limitInFlight(n int) func(http.Handler) http.Handler {
	slots := make(chan struct{}, n)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				next.ServeHTTP(w, r)
			default:
				writeError(w, &apiError{http.StatusTooManyRequests, codeTooManyRequests,
					"too many requests in flight; retry shortly"})
			}
		})
	}
}
