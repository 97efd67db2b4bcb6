// Package api is krest's HTTP interface, served on fasthttp: routes.go lists
// every route with the resource and operation it touches, frame.go runs
// every handler in one frame, one file per resource holds its handlers,
// errors.go maps every error to a status in one place, and json.go decodes
// and encodes bodies.
//
// A fasthttp RequestCtx, and every byte slice or string taken from it
// without a copy, is valid only until the handler returns (or, for a
// streamed answer, until its stream writer returns): whatever outlives the
// request is copied first.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"krest/internal/metrics"
	"krest/internal/produce"
)

// producer sends records and waits for their acknowledgements;
// produce.Producer implements it. ctx bounds only the waiting: a record,
// once handed over, is the producer's, whatever happens to its caller.
type producer interface {
	Produce(ctx context.Context, recs ...*kgo.Record) []produce.Result
	// Send sends r without waiting and calls done once with its outcome.
	Send(ctx context.Context, r *kgo.Record, done func(produce.Result))
	// ForgetTopic drops what the producer knows of a topic krest just
	// deleted, so that one recreated under the name is produced to at once.
	ForgetTopic(topic string)
}

// checker reports whether krest can serve: nil when ready; health.Monitor
// implements it.
type checker interface {
	Ready() error
	// Details are facts beside readiness that do not change it (the
	// consumer's paused partitions), by name; nil for none.
	Details() map[string]any
}

var _ producer = (*produce.Producer)(nil)

// Options are the server's dependencies and limits. Zero limits take the
// defaults DefaultLimits gives.
type Options struct {
	// Logger receives request logs (debug level), every 5xx with its cause,
	// and panics.
	Logger *slog.Logger
	// Producer produces every record the API accepts.
	Producer producer
	// Health answers /readyz.
	Health checker
	// Metrics records request metrics and serves /metrics.
	Metrics *metrics.Metrics
	// Admin answers the REST Proxy metadata and admin routes
	// (v3.go declares the interface; admin.Admin implements it).
	Admin adminer
	// Topic is the topic of POST /api/messages.
	Topic string
	// MaxRequestRecords bounds the records of one multi-record produce
	// request (v2 produce, v3 records:batch): past it, the request is
	// refused whole with a 4xx before anything is produced.
	MaxRequestRecords int
	// CallTimeout bounds the Kafka calls of one metadata or admin request
	// (produce requests are bounded by the producer's own timeout).
	CallTimeout time.Duration
	// AdvertisedURL is the scheme, host and optional port the links of
	// answers start with (upstream's advertised listener), e.g.
	// "https://kafka-rest.example.com". Empty takes the request's Host
	// header when it is a well-formed host, else the listener's address.
	AdvertisedURL string
	// APIV2 serves Confluent REST Proxy API v2 at the root, and APIV3 API
	// v3 under /v3; off, their routes do not exist (404).
	APIV2, APIV3 bool
	// Limits bound what one client can hold.
	Limits Limits
	// TLS, when set, serves HTTPS with it (certs.Server's Config follows
	// its files); nil serves plain HTTP.
	TLS *tls.Config
	// Management says /healthz, /readyz and /metrics are served by the
	// management listener (ManagementHandler) instead of this one.
	Management bool
	// Security authenticates and authorizes callers (auth.go).
	Security Security
	// Consumers holds the v2 consumer instances of this node
	// (consumers.Manager); nil answers their routes 503.
	Consumers consumerRegistry
	// BareConsumerRecords leaves krest's timestamp and headers out of the
	// records a v2 consumer instance reads, for clients that refuse
	// fields upstream lacks.
	BareConsumerRecords bool
	// Peers send requests for consumer instances to their owners
	// (forward.go), and acknowledgements of leases to the nodes that
	// leased them (v3_share_groups.go).
	Peers Peers
	// Queues holds this node's share-group members and leases
	// (queue.Manager); nil answers the share-groups routes 503.
	Queues queueManager
	// EventHeartbeat is the interval of the heartbeat comment of a
	// records:stream answer (v3_events.go); zero takes
	// DefaultEventHeartbeat.
	EventHeartbeat time.Duration
}

// Limits bound the server's work per client. Every field has a default
// (DefaultLimits).
type Limits struct {
	// MaxBodyBytes limits a request body (413 past it); for a streamed
	// records request, each record.
	MaxBodyBytes int
	// MaxHeaderBytes limits a request's line and headers (431 past it).
	MaxHeaderBytes int
	// MaxInFlight bounds the requests served at once, counted from when a
	// request's body has been read (429 past it). Health, metrics and
	// streams are not counted.
	MaxInFlight int
	// MaxStreams bounds the streamed records requests open at once (429
	// past it).
	MaxStreams int
	// MaxConns bounds the open connections, and MaxConnsPerAddr those
	// from one client address (0: no per-address bound, as behind a load
	// balancer every connection comes from its address). Past either, a
	// new connection gets 503 and is closed.
	MaxConns, MaxConnsPerAddr int
	// ReadTimeout bounds reading a request's headers and, except for a
	// stream, its body, from its first byte.
	ReadTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection.
	IdleTimeout time.Duration
	// ReadIdleTimeout and WriteIdleTimeout bound how long a read or write
	// may make no progress: each read and write resets them, so a stream
	// lives as long as data moves.
	ReadIdleTimeout, WriteIdleTimeout time.Duration
}

// DefaultLimits returns the limits a zero Limits field takes.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:     1 << 20,
		MaxHeaderBytes:   16 << 10,
		MaxInFlight:      1024,
		MaxStreams:       256,
		MaxConns:         16384,
		ReadTimeout:      30 * time.Second,
		IdleTimeout:      2 * time.Minute,
		ReadIdleTimeout:  time.Minute,
		WriteIdleTimeout: time.Minute,
	}
}

// withDefaults fills l's zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.MaxBodyBytes, &d.MaxBodyBytes}, {&l.MaxHeaderBytes, &d.MaxHeaderBytes}, {&l.MaxInFlight, &d.MaxInFlight},
		{&l.MaxStreams, &d.MaxStreams}, {&l.MaxConns, &d.MaxConns},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&l.ReadTimeout, &d.ReadTimeout}, {&l.IdleTimeout, &d.IdleTimeout},
		{&l.ReadIdleTimeout, &d.ReadIdleTimeout}, {&l.WriteIdleTimeout, &d.WriteIdleTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Server serves krest's API over HTTP/1.1.
type Server struct {
	opts    Options
	limits  Limits
	http    *fasthttp.Server
	router  router
	routes  []*route
	slots   chan struct{} // in-flight requests
	streams chan struct{} // open streams
	conns   *connLimiter

	closeOnce sync.Once
	closing   chan struct{} // closed when Shutdown starts: open streams end
}

// NewServer returns a server of every route in routes.go; Serve starts it.
func NewServer(opts Options) (*Server, error) {
	if opts.Logger == nil || opts.Metrics == nil {
		return nil, errors.New("api: a logger and metrics are required")
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	if opts.MaxRequestRecords <= 0 {
		opts.MaxRequestRecords = 1000
	}
	if opts.EventHeartbeat <= 0 {
		opts.EventHeartbeat = DefaultEventHeartbeat
	}
	base, err := advertisedBase(opts.AdvertisedURL)
	if err != nil {
		return nil, err
	}
	opts.AdvertisedURL = base
	l := opts.Limits.withDefaults()
	s := &Server{
		opts:    opts,
		limits:  l,
		slots:   make(chan struct{}, l.MaxInFlight),
		streams: make(chan struct{}, l.MaxStreams),
		conns:   newConnLimiter(l.MaxConns, l.MaxConnsPerAddr),
		closing: make(chan struct{}),
	}
	s.routes = routes(opts, newHandlers(s))
	for _, r := range s.routes {
		s.router.add(r)
	}
	s.http = &fasthttp.Server{
		Handler:        s.serve,
		ErrorHandler:   s.serveParseError,
		HeaderReceived: s.headerReceived,
		ExpectHandler:  s.expect,
		// Bodies are read by the frame, which bounds them per route and
		// reads them before a request takes an in-flight slot; the records
		// route reads its body as it streams.
		StreamRequestBody:            true,
		MaxRequestBodySize:           l.MaxBodyBytes,
		DisablePreParseMultipartForm: true,
		// The read buffer bounds the request line and headers.
		ReadBufferSize: l.MaxHeaderBytes,
		// ReadTimeout bounds headers and body from the first byte;
		// streams lift it for their body (frame.go). Progress on every
		// read and write is bounded by the connection's idle deadlines
		// (listener.go) instead of a WriteTimeout, which would cut a
		// long stream.
		ReadTimeout: l.ReadTimeout,
		IdleTimeout: l.IdleTimeout,
		// Connections are bounded by the listener (listener.go), which
		// answers JSON; fasthttp's own Concurrency stays above it.
		// ConnState tells a connection when it is closed in the middle
		// of a request, so that it lingers.
		Concurrency:           l.MaxConns + 1,
		ConnState:             connState,
		CloseOnShutdown:       true,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		Logger:                fasthttpLogger{opts.Logger},
	}
	return s, nil
}

// Serve serves HTTP on ln until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	var l net.Listener = &limitListener{Listener: ln, limits: s.limits, conns: s.conns}
	if s.opts.TLS != nil {
		l = tls.NewListener(l, s.opts.TLS)
	}
	err := s.http.Serve(l)
	select {
	case <-s.closing:
		return nil
	default:
		return err
	}
}

// Shutdown stops accepting connections, ends open streams with a last
// report, and waits for every request in progress until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	return s.http.ShutdownWithContext(ctx)
}

// handlers holds what route handlers use; every handler of routes.go is
// one of its methods, or a function that needs none of it.
type handlers struct {
	health     checker
	reg        *metrics.Metrics
	topic      string
	maxRecords int
	maxBody    int
	closing    <-chan struct{} // closed when shutdown starts: streams end
	consumers  consumerRegistry
	queue      queueManager
	// eventHeartbeat is the interval of a records:stream's heartbeat.
	eventHeartbeat time.Duration
	// recordMetadata adds timestamp and headers to consumed records.
	recordMetadata bool
}

func newHandlers(s *Server) *handlers {
	return &handlers{
		health: s.opts.Health, reg: s.opts.Metrics, topic: s.opts.Topic,
		maxRecords: s.opts.MaxRequestRecords, maxBody: s.limits.MaxBodyBytes, closing: s.closing,
		consumers: s.opts.Consumers, queue: s.opts.Queues, recordMetadata: !s.opts.BareConsumerRecords,
		eventHeartbeat: s.opts.EventHeartbeat,
	}
}

// fasthttpLogger sends fasthttp's own log lines (connection errors it does
// not hand to the handler) to the server's logger.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn("http", "msg", fmt.Sprintf(format, args...))
}
