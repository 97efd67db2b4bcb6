// Package api is krest's HTTP interface: routes.go lists every route, one
// file per resource holds its handlers, errors.go maps every error to a
// status in one place, and json.go decodes and encodes bodies.
package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/metrics"
	"krest/internal/produce"
)

// producer sends records and waits for their acknowledgements;
// produce.Producer implements it.
type producer interface {
	Produce(ctx context.Context, recs ...*kgo.Record) []produce.Result
	// Send sends r without waiting and calls done once with its outcome.
	Send(ctx context.Context, r *kgo.Record, done func(produce.Result))
}

// checker reports whether krest can serve: nil when ready.
type checker interface {
	Ready() error
}

var _ producer = (*produce.Producer)(nil)

// Options are the server's dependencies and limits.
type Options struct {
	// Logger receives request logs (debug level) and panics.
	Logger *slog.Logger
	// Producer produces every record the API accepts.
	Producer producer
	// Health answers /readyz.
	Health checker
	// Metrics records request metrics and serves /metrics.
	Metrics *metrics.Metrics
	// Topic is the topic of POST /api/messages.
	Topic string
	// MaxBodyBytes limits request bodies (413 past it).
	MaxBodyBytes int64
	// MaxInFlight bounds the API requests served at once (429 past it).
	// Health and metrics routes are not counted.
	MaxInFlight int
	// BatchMaxEntries bounds the records of one records:batch request.
	BatchMaxEntries int
	// Admin answers the REST Proxy metadata and admin routes
	// (restproxy.go declares the interface; admin.Admin implements it).
	Admin adminer
	// APIV2 serves Confluent REST Proxy API v2 at the root, and APIV3 API
	// v3 under /v3; off, their routes do not exist (404).
	APIV2, APIV3 bool
}

// NewServer returns the HTTP handler serving every route in routes.go.
func NewServer(opts Options) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, opts)
	var h http.Handler = mux
	h = observe(opts.Logger, opts.Metrics, h)
	h = requestID(h)
	h = recoverPanics(opts.Logger, h)
	return h
}
