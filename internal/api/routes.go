package api

import "net/http"

// addRoutes registers every route krest serves. Routes that do work against
// Kafka are wrapped in the in-flight limit; health and metrics are not, so
// they answer under overload.
func addRoutes(mux *http.ServeMux, opts Options) {
	limit := limitInFlight(opts.MaxInFlight)

	mux.Handle("POST /api/messages", limit(handleMessages(opts.Producer, opts.Topic, opts.MaxBodyBytes)))

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(opts.Health))
	mux.Handle("GET /metrics", opts.Metrics.Handler())

	mux.Handle("/", handleNotFound(mux))
}
