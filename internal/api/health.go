package api

import (
	"net/http"
)

type status struct {
	Status string `json:"status"`
}

// handleHealthz answers 200 while the process runs.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		encode(w, http.StatusOK, status{"ok"})
	})
}

// handleReadyz answers 200 when krest can produce and 503 with the reason
// when it cannot (broker unreachable, topic missing, shutting down).
func handleReadyz(h checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := h.Ready(); err != nil {
			writeError(w, &apiError{http.StatusServiceUnavailable, codeNotReady, "not ready: " + err.Error()})
			return
		}
		encode(w, http.StatusOK, status{"ready"})
	})
}

// handleNotFound answers what no route matched: 405 with Allow when the
// path exists under other methods, 404 otherwise.
func handleNotFound(mux *http.ServeMux) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeError(w, &apiError{http.StatusNotFound, http.StatusNotFound, "no route for " + r.URL.Path})
			return
		}
		w.Header()["Allow"] = allow
		writeError(w, &apiError{http.StatusMethodNotAllowed, http.StatusMethodNotAllowed,
			"method " + r.Method + " is not allowed on " + r.URL.Path})
	})
}
