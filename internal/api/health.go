package api

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"

	"krest/internal/metrics"
)

// Health and the server's own routes: /healthz, /readyz, /metrics and the
// OpenAPI document (openapi.go). They are not counted against the in-flight
// limit, so they answer under overload. With a management listener, health
// and metrics are served there instead (ManagementHandler), with Go's
// profiler, on net/http: off the hot path.

type status struct {
	Status  string         `json:"status"`
	Details map[string]any `json:"details,omitempty"`
}

// readiness answers /readyz: 200 when krest can produce, with the details
// beside readiness (the consumer's paused partitions), which never make it
// unready; 503 with the reason when it cannot (broker unreachable, topic
// missing, shutting down).
func readiness(h checker) (status, error) {
	if err := h.Ready(); err != nil {
		return status{}, &apiError{http.StatusServiceUnavailable, codeNotReady, "not ready: " + err.Error()}
	}
	return status{Status: "ready", Details: h.Details()}, nil
}

// handleHealthz answers 200 while the process runs.
func handleHealthz(*call) (int, any, error) {
	return http.StatusOK, status{Status: "ok"}, nil
}

// readyz answers readiness.
func (h *handlers) readyz(*call) (int, any, error) {
	st, err := readiness(h.health)
	return http.StatusOK, st, err
}

// metrics answers the metrics in Prometheus' text format.
func (h *handlers) metrics(c *call) (int, any, error) {
	c.fctx.SetContentType(h.reg.ContentType())
	c.fctx.SetStatusCode(http.StatusOK)
	if err := h.reg.WriteText(c.fctx); err != nil {
		return 0, nil, err
	}
	return answered, nil, nil
}

// ManagementHandler serves the management listener: /healthz and /readyz
// as the API answers them, /metrics, and Go's profiler under /debug/pprof/.
func ManagementHandler(health checker, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, code int, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		_, _ = w.Write(body)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		st, err := readiness(health)
		if err != nil {
			ae := errorFor(err)
			writeJSON(w, ae.Status, append(appendErrorBody(nil, ae.Code, ae.Message), '\n'))
			return
		}
		b, _ := json.Marshal(st) // details are krest's own values
		writeJSON(w, http.StatusOK, append(b, '\n'))
	})
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
