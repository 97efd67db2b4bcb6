package api

import (
	"net/http"
)

// Health and the server's own routes: /healthz, /readyz, /metrics and the
// OpenAPI document (openapi.go). They are not counted against the in-flight
// limit, so they answer under overload.

type status struct {
	Status string `json:"status"`
}

// handleHealthz answers 200 while the process runs.
func handleHealthz(*call) (int, any, error) {
	return http.StatusOK, status{"ok"}, nil
}

// readyz answers 200 when krest can produce and 503 with the reason when
// it cannot (broker unreachable, topic missing, shutting down).
func (h *handlers) readyz(*call) (int, any, error) {
	if err := h.health.Ready(); err != nil {
		return 0, nil, &apiError{http.StatusServiceUnavailable, codeNotReady, "not ready: " + err.Error()}
	}
	return http.StatusOK, status{"ready"}, nil
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
