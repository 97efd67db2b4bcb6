package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"krest/internal/auth"
	"krest/internal/kafka"
)

// The frame: every request runs through Server.serve, in this order:
// recover → request id → route → origin → authenticate → (v2
// negotiation) → path values → authorize → rate limit → (forward to a
// consumer instance's owner) → body → in-flight
// slot → (v3 cluster check) → handler → errors → metrics, the audit line
// and the debug log line.

// resource is the kind of Kafka resource a route touches, as Kafka's ACLs
// name them; resourceServer is krest itself (health, metrics, its
// document).
type resource string

const (
	resourceTopic   resource = "topic"
	resourceGroup   resource = "group"
	resourceCluster resource = "cluster"
	resourceServer  resource = "server"
)

// operation is what a route does to its resource, as Kafka's ACL
// operations name it.
type operation string

const (
	opRead            operation = "read"
	opWrite           operation = "write"
	opCreate          operation = "create"
	opDelete          operation = "delete"
	opAlter           operation = "alter"
	opDescribe        operation = "describe"
	opAlterConfigs    operation = "alter_configs"
	opDescribeConfigs operation = "describe_configs"
)

// bodyMode says how the frame reads a route's request body.
type bodyMode int

const (
	bodyNone   bodyMode = iota // no body is read
	bodyWhole                  // read whole (bounded) before the in-flight slot is taken
	bodyStream                 // the handler reads it as it arrives; counted as a stream
)

// apiVersion is the API a route belongs to: it decides content
// negotiation and error codes.
type apiVersion int

const (
	apiKrest apiVersion = iota
	apiV2
	apiV3
)

// handler is the body of one route. It returns the answer's status and
// body (nil for none; a rawJSON is written as it is, any other value is
// encoded as JSON), or an error for the frame to answer. A handler that
// wrote its answer itself returns status answered.
type handler func(c *call) (status int, body any, err error)

// answered is the status a handler returns when it wrote its answer.
const answered = 0

// route is one row of the route table.
type route struct {
	method  string
	pattern string
	// resource and op are what the route does, for authorization; param
	// is the path value naming the resource (set by init for topics and
	// groups), unless name is its fixed name, listing says the route lists
	// resources of that kind, or nameInBody that the request body names it.
	resource   resource
	op         operation
	param      string
	name       string
	listing    bool
	nameInBody bool
	handle     handler
	body       bodyMode
	version    apiVersion
	unlimited  bool // not counted against the in-flight limit
	// embeddedAccept says the handler reads Accept (an embedded format).
	embeddedAccept bool
	instance       bool // names a consumer instance ("instance"), which its owner serves (forward.go)

	label  string   // "METHOD pattern", the metrics label
	params []string // wildcard names, in pattern order
}

// init derives the fields a row does not state.
func (r *route) init() {
	r.label = r.method + " " + r.pattern
	r.params = wildcards(r.pattern)
	if r.param == "" && r.name == "" && !r.listing && !r.nameInBody {
		switch r.resource {
		case resourceTopic:
			r.param = "topic_name"
		case resourceGroup:
			r.param = "consumer_group_id"
		}
	}
}

// call is one request in the frame: the fasthttp context, its route, its
// validated path values and its body.
type call struct {
	srv   *Server
	fctx  *fasthttp.RequestCtx
	route *route
	// ctx is the request's context: never the RequestCtx itself, whose
	// Done is the server's and whose values go back to fasthttp's pool
	// with it, so that no context derived from it outlives the request.
	// context() bounds it by Options.CallTimeout for Kafka calls; the
	// frame cancels that when the request finishes.
	ctx    context.Context
	cancel context.CancelFunc
	values [maxSegments]string
	pathArgs
	body  []byte // the whole body, for bodyWhole routes
	buf   *bytes.Buffer
	slot  chan struct{} // the slot c holds: in flight, or stream
	start time.Time
	label string // the route's metrics label, "unmatched" before one is found
	// streaming is set once the answer is a stream, whose writer
	// finishes the request.
	streaming bool
	cause     error // why the answer is a 5xx (or a 401 or 403), for the log
	// principal is who the caller is: auth.Anonymous without credentials.
	principal auth.Principal
	// p and adm are the producer and admin c acts through: krest's own,
	// or with Options.Identities the principal's own login to Kafka.
	p   producer
	adm adminer
	// asPrincipal says p and adm log in as the principal: a login they
	// are refused is the caller's (401), not krest's (503).
	asPrincipal bool
	// endLife ends the context the principal's clients are held in use
	// under; finish calls it.
	endLife context.CancelFunc
	// auditTarget names the resource a request body named (a topic to
	// create), for the audit line.
	auditTarget string
	// forwarded says a peer forwarded c, signed (forward.go).
	forwarded bool
	reqID     []byte
	idBuf     [32]byte
}

var callPool = sync.Pool{New: func() any { return new(call) }}

// pathValue returns the value of the route's wildcard name ("" if none).
func (c *call) pathValue(name string) string {
	v, _ := c.pathValueOK(name)
	return v
}

// pathValueOK returns the value of the route's wildcard name, and whether
// the route has one.
func (c *call) pathValueOK(name string) (string, bool) {
	for i, n := range c.route.params {
		if n == name {
			return c.values[i], true
		}
	}
	return "", false
}

// query returns the value of query parameter name, copied.
func (c *call) query(name string) string { return string(c.fctx.QueryArgs().Peek(name)) }

// hasQuery reports whether the query names parameter name.
func (c *call) hasQuery(name string) bool { return c.fctx.QueryArgs().Has(name) }

// header returns request header name, copied.
func (c *call) header(name string) string { return string(c.fctx.Request.Header.Peek(name)) }

// setHeader sets a response header.
func (c *call) setHeader(name, value string) { c.fctx.Response.Header.Set(name, value) }

// requestIDPrefix makes request ids unique across krest processes.
var requestIDPrefix = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}()

var requestSeq atomic.Uint64

// maxRequestIDBytes bounds a caller's X-Request-Id; a longer one, or one
// with other than visible ASCII, is replaced.
const maxRequestIDBytes = 128

// setRequestID echoes the caller's X-Request-Id, or sets a new one.
func (c *call) setRequestID() {
	id := c.fctx.Request.Header.Peek("X-Request-Id")
	if !validRequestID(id) {
		id = strconv.AppendUint(append(c.idBuf[:0], requestIDPrefix...), requestSeq.Add(1), 10)
	}
	c.reqID = id
	c.fctx.Response.Header.SetBytesV("X-Request-Id", id)
}

func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > maxRequestIDBytes {
		return false
	}
	for _, b := range id {
		if b < 0x21 || b > 0x7e {
			return false
		}
	}
	return true
}

// serve is the frame every request runs in.
func (s *Server) serve(fctx *fasthttp.RequestCtx) {
	c := callPool.Get().(*call)
	*c = call{srv: s, fctx: fctx, ctx: context.Background(), idBuf: c.idBuf, start: time.Now(), label: "unmatched",
		p: s.opts.Producer, adm: s.opts.Admin}
	status := 0
	defer func() {
		if v := recover(); v != nil {
			s.opts.Logger.Error("handler panicked", "method", string(fctx.Method()), "route", c.label,
				"request_id", string(c.reqID), "panic", v)
			status = s.writeError(c, errors.New("panic"))
		}
		if !c.streaming {
			c.finish(status)
		}
	}()
	c.setRequestID()
	r, err := s.find(c)
	if r != nil {
		c.label = r.label
	}
	if err == nil {
		status, err = s.run(c, r)
	}
	if err != nil {
		status = s.writeError(c, err)
	}
}

// finish ends c's request: its calls' context, its slots, its metrics,
// and c itself, returned to the pool.
func (c *call) finish(status int) {
	if c.cancel != nil {
		c.cancel()
	}
	if c.endLife != nil {
		c.endLife()
	}
	if c.slot != nil {
		<-c.slot
	}
	c.srv.observe(c, status, time.Since(c.start))
	c.release()
}

// release returns c's buffers and c to their pools.
func (c *call) release() {
	if c.buf != nil {
		putBuffer(c.buf)
	}
	*c = call{idBuf: c.idBuf}
	callPool.Put(c)
}

// stream answers status and, as the body, what write writes. write runs
// in a goroutine of its own while fasthttp sends its output to the client,
// and may read the request body meanwhile; its result is the status the
// request is recorded with, and the request is finished when it returns.
// A client that goes away makes write's writes fail; fasthttp then waits,
// in closing the body, for write to return, so nothing of the request is
// used after fasthttp releases it.
func (c *call) stream(status int, write func(w *bufio.Writer) int) {
	c.streaming = true
	c.fctx.SetStatusCode(status)
	pr, pw := io.Pipe()
	b := &streamBody{pr: pr, done: make(chan struct{})}
	// The writer starts at the first read of the body, which fasthttp
	// makes once the handler, and the frame around it, returned.
	b.start = func() {
		go func() {
			defer close(b.done)
			bw := bufio.NewWriterSize(pw, 4<<10)
			final := write(bw)
			_ = bw.Flush()
			_ = pw.Close()
			c.finish(final)
		}()
	}
	b.never = func() {
		close(b.done)
		c.finish(statusClientGone)
	}
	c.fctx.SetBodyStream(b, -1)
}

// streamBody is the body of a streamed answer: the reading end of the
// pipe its writer writes to.
type streamBody struct {
	pr           *io.PipeReader
	once         sync.Once
	start, never func()
	done         chan struct{} // closed when the writer returned
}

func (b *streamBody) Read(p []byte) (int, error) {
	b.once.Do(b.start)
	return b.pr.Read(p)
}

// Close ends the stream: the writer's next write fails (if it is still
// writing, the client is gone), and Close returns once it has returned.
func (b *streamBody) Close() error {
	b.once.Do(b.never)
	_ = b.pr.CloseWithError(errClientGone)
	<-b.done
	return nil
}

// find returns the route of c's method and path, with its path values set,
// or an error answering 404 (no route) or 405 (with Allow).
func (s *Server) find(c *call) (*route, error) {
	rs := s.router.match(c.fctx.Request.URI().PathOriginal(), &c.values)
	method := c.fctx.Method()
	if string(method) == http.MethodHead {
		method = []byte(http.MethodGet)
	}
	for _, r := range rs {
		if string(method) == r.method {
			c.route = r
			return r, nil
		}
	}
	path := string(c.fctx.Path())
	if len(rs) == 0 {
		return nil, &apiError{http.StatusNotFound, http.StatusNotFound, "no route for " + path}
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, r := range rs {
			if r.method == m || m == http.MethodHead && r.method == http.MethodGet {
				c.fctx.Response.Header.Add("Allow", m)
			}
		}
	}
	return nil, &apiError{http.StatusMethodNotAllowed, http.StatusMethodNotAllowed,
		"method " + string(c.fctx.Method()) + " is not allowed on " + path}
}

// run serves c on route r past the route lookup and returns the status
// answered.
func (s *Server) run(c *call, r *route) (int, error) {
	if err := s.checkOrigin(c); err != nil {
		return 0, err
	}
	if err := s.authenticate(c); err != nil {
		return 0, err
	}
	if r.version == apiV2 {
		c.fctx.SetContentType(mediaV2)
		if err := negotiateV2(c); err != nil {
			return 0, err
		}
	}
	var err error
	if c.pathArgs, err = parsePath(c); err != nil {
		return 0, err
	}
	if err := s.authorize(c); err != nil {
		return 0, err
	}
	if err := s.limit(c); err != nil {
		return 0, err
	}
	if sent, err := s.forward(c); sent || err != nil {
		return c.fctx.Response.StatusCode(), err
	}
	if err := s.refusedLogin(r); err != nil {
		return 0, err
	}
	if err := s.actAs(c); err != nil {
		return 0, err
	}
	switch r.body {
	case bodyWhole:
		if err := c.readBody(s.limits.MaxBodyBytes); err != nil {
			return 0, err
		}
	}
	switch {
	case r.body == bodyStream:
		if !c.acquire(s.streams) {
			return 0, &apiError{http.StatusTooManyRequests, codeTooManyRequests, "too many streams open; retry shortly"}
		}
	case !r.unlimited:
		if !c.acquire(s.slots) {
			return 0, &apiError{http.StatusTooManyRequests, codeTooManyRequests, "too many requests in flight; retry shortly"}
		}
	}
	if r.version == apiV3 && c.cluster != "" {
		if err := checkCluster(c); err != nil {
			return 0, err
		}
	}
	status, body, err := r.handle(c)
	if err != nil {
		return 0, err
	}
	switch {
	case status == answered:
		return c.fctx.Response.StatusCode(), nil
	case body == nil:
		c.fctx.SetStatusCode(status)
	default:
		encode(c, status, body)
	}
	return status, nil
}

// refusedLogin fails a produce at once while the brokers refuse krest's
// own login (readiness says so): the producer would otherwise wait out its
// timeout for records no broker can take. The answer is readiness's
// reason, 503 with Retry-After.
func (s *Server) refusedLogin(r *route) error {
	if r.op != opWrite || s.opts.Health == nil {
		return nil
	}
	if err := s.opts.Health.Ready(); errors.Is(err, kafka.ErrAuthentication) {
		return err
	}
	return nil
}

// acquire takes a slot of slots for c, which finish gives back, or
// reports that none is free.
func (c *call) acquire(slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		c.slot = slots
		return true
	default:
		return false
	}
}

// context returns the context bounding c's Kafka calls.
func (c *call) context() context.Context {
	if c.cancel == nil {
		c.ctx, c.cancel = context.WithTimeout(context.Background(), c.srv.opts.CallTimeout)
	}
	return c.ctx
}

// readBody reads the whole request body into c.body, refusing more than
// limit bytes.
func (c *call) readBody(limit int) error {
	if n := c.fctx.Request.Header.ContentLength(); n > limit {
		return errBodyTooLarge(limit)
	}
	c.buf = bufferPool.Get().(*bytes.Buffer)
	c.buf.Reset()
	_, err := c.buf.ReadFrom(io.LimitReader(c.fctx.RequestBodyStream(), int64(limit)+1))
	if err != nil {
		return clientGone(err)
	}
	if c.buf.Len() > limit {
		return errBodyTooLarge(limit)
	}
	c.body = c.buf.Bytes()
	return nil
}

func errBodyTooLarge(limit int) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, codeBodyTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit)}
}

// errClientGone is the error of a request whose client stopped sending or
// went away: nobody is left to answer.
var errClientGone = errors.New("client gone")

// clientGone wraps a read or write error of the client's connection.
func clientGone(err error) error { return fmt.Errorf("%w: %v", errClientGone, err) }

// statusClientGone is the status metrics and logs give a request whose
// client went away before its answer, as nginx names it.
const statusClientGone = 499

// observe records one request's metrics and, at debug level, its log
// line: at warn for a 5xx, at info for a 401 or 403, with its cause. A
// state-changing admin call gets its audit line.
func (s *Server) observe(c *call, status int, d time.Duration) {
	s.opts.Metrics.ObserveRequest(c.label, metricMethod(c.fctx.Method()), status, d)
	s.countPrincipal(c, status)
	lvl := slog.LevelDebug
	switch {
	case status >= 500 && status != statusClientGone:
		lvl = slog.LevelWarn
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		lvl = slog.LevelInfo
	}
	if c.route != nil && c.route.audited() {
		s.opts.Logger.LogAttrs(context.Background(), slog.LevelInfo, "audit", slog.String("principal", c.principal.Name),
			slog.String("route", c.label), slog.String("resource", string(c.route.resource)), slog.String("name", c.auditName()),
			slog.Int("status", status), slog.String("request_id", string(c.reqID)))
	}
	if !s.opts.Logger.Enabled(context.Background(), lvl) {
		return
	}
	attrs := []slog.Attr{slog.String("method", string(c.fctx.Method())), slog.String("path", string(c.fctx.Path())),
		slog.String("route", c.label), slog.Int("status", status), slog.Duration("duration", d),
		slog.String("request_id", string(c.reqID)), slog.String("principal", c.principal.Name)}
	if c.cause != nil {
		attrs = append(attrs, slog.String("cause", c.cause.Error()))
	}
	s.opts.Logger.LogAttrs(context.Background(), lvl, "request", attrs...)
}

// audited reports whether r changes the cluster's state beyond records:
// creating, deleting or altering topics and configs.
func (r *route) audited() bool {
	switch r.op {
	case opCreate, opDelete, opAlter, opAlterConfigs:
		return true
	}
	return false
}

// auditName names the resource of c's audit line.
func (c *call) auditName() string {
	switch {
	case c.route.param != "":
		return c.pathValue(c.route.param)
	case c.auditTarget != "":
		return c.auditTarget
	}
	return c.route.name
}

// metricMethod bounds the method label: any method outside HTTP's own set
// counts as "other".
func metricMethod(m []byte) string {
	switch string(m) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodTrace:
		return http.MethodTrace
	}
	return "other"
}

// headerReceived runs once a request's headers are read, before its body:
// a stream's body is exempt from the read timeout (its connection's idle
// deadlines bound it instead).
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	uri := h.RequestURI()
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	var values [maxSegments]string
	for _, r := range s.router.match(uri, &values) {
		if r.body == bodyStream && string(h.Method()) == r.method {
			return fasthttp.RequestConfig{ReadTimeout: streamReadTimeout}
		}
	}
	return fasthttp.RequestConfig{}
}

// streamReadTimeout is the read timeout of a stream's request: longer than
// any stream lives, since its idle deadlines bound it.
const streamReadTimeout = 100 * 365 * 24 * time.Hour

// expect answers a request with "Expect: 100-continue" before its body is
// sent: 413 when its Content-Length is over the body limit, so the client
// need not send it.
func (s *Server) expect(fctx *fasthttp.RequestCtx) int {
	if n := fctx.Request.Header.ContentLength(); n > s.limits.MaxBodyBytes {
		var values [maxSegments]string
		for _, r := range s.router.match(fctx.Request.URI().PathOriginal(), &values) {
			if r.body == bodyStream {
				return fasthttp.StatusContinue
			}
		}
		writeErrorBody(fctx, errBodyTooLarge(s.limits.MaxBodyBytes))
		return http.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusContinue
}

// serveParseError answers a request fasthttp could not read: a malformed
// or ambiguous request (400, including the request-smuggling shapes), a
// body over the limit (413), headers over the limit (431), a timeout
// (408).
func (s *Server) serveParseError(fctx *fasthttp.RequestCtx, err error) {
	var ae *apiError
	var tooBig *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ae = errBodyTooLarge(s.limits.MaxBodyBytes)
	case errors.As(err, &tooBig):
		ae = &apiError{http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestHeaderFieldsTooLarge,
			fmt.Sprintf("request headers are larger than %d bytes", s.limits.MaxHeaderBytes)}
	case isTimeout(err):
		ae = &apiError{http.StatusRequestTimeout, http.StatusRequestTimeout, "request not received in time"}
	default:
		ae = &apiError{http.StatusBadRequest, http.StatusBadRequest, "malformed request: " + err.Error()}
	}
	fctx.Response.Header.SetConnectionClose()
	writeErrorBody(fctx, ae)
	s.opts.Metrics.ObserveRequest("unmatched", metricMethod(fctx.Method()), ae.Status, 0)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
