package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"krest/internal/consumers"
	"krest/internal/naming"
	"krest/internal/queue"
)

// Work queues on Kafka share groups, a krest extension to API v3 (the
// queue package serves them): under …/share-groups/{group_name},
// POST records:lease leases records of the group's share of topics, each
// held for its caller under a token until its lease expires; POST acks
// settles leases by their tokens (accept, release, reject) or extends
// them (renew); GET records:stream pushes leased records as Server-Sent
// Events, the next batch once the last is settled, and gives back what a
// stream leaves unsettled when it ends.
//
// A token names the node that leased its record. An acks request that
// lands on another node is split by owner: each owner gets its own acks
// once, as a request forwarded (signed) on the same route, which it
// serves as its own and never forwards again, and the answers are put
// back in the caller's order. An owner that cannot be reached took its
// leases with it: its acks are lease_lost, and the brokers deliver the
// records again.

// queueManager holds this node's share-group members and their leases;
// queue.Manager implements it.
type queueManager interface {
	Lease(ctx context.Context, req queue.LeaseRequest) ([]queue.Leased, error)
	Owner(group, token string) (node string, ok bool)
	Acks(ctx context.Context, group string, acks []queue.Ack) []queue.AckResult
	Open(ctx context.Context, req queue.LeaseRequest) (*queue.Stream, error)
}

var _ queueManager = (*queue.Manager)(nil)

// Bounds of a lease request, beside queue.MaxTopics, queue.MaxRecords
// and the manager's longest lease.
const (
	// maxLeaseWait bounds wait_ms: as long as a v2 consumer instance's
	// read may wait.
	maxLeaseWait = consumers.MaxRequestTimeout
	// minLease is the shortest lease_ms.
	minLease = time.Second
	// defaultLease is lease_ms when not given.
	defaultLease = 30 * time.Second
)

// codeUnsupported is the error_code of a share-groups route on brokers
// without share groups.
const codeUnsupported = 50101

// v3LeaseRequest is the body of POST …/records:lease.
type v3LeaseRequest struct {
	Topics     []string `json:"topics"`
	MaxRecords *int64   `json:"max_records"`
	WaitMs     *int64   `json:"wait_ms"`
	LeaseMs    *int64   `json:"lease_ms"`
}

// v3Ack is one acknowledgement of POST …/acks.
type v3Ack struct {
	Token  string `json:"token"`
	Action string `json:"action"`
}

// v3AckResult is one acknowledgement's outcome in the answer of POST
// …/acks; ExpiresAt is a renewed lease's new expiry.
type v3AckResult struct {
	Token     string       `json:"token"`
	Status    queue.Status `json:"status"`
	ExpiresAt string       `json:"expires_at,omitempty"`
}

// v3AckResults is the answer of POST …/acks.
type v3AckResults struct {
	Results []v3AckResult `json:"results"`
}

// queues returns the node's work queues, or 503 without them.
func (h *handlers) queues() (queueManager, error) {
	if h.queue == nil {
		return nil, &apiError{http.StatusServiceUnavailable, codeKafkaUnavailable, "work queues are not served here"}
	}
	return h.queue, nil
}

// checkLease validates the names of a lease request and its right to
// them: c's group, and 1 to queue.MaxTopics distinct valid topic names,
// each of which the caller may read (403 otherwise).
func checkLease(c *call, req queue.LeaseRequest) error {
	if err := naming.Group(req.Group); err != nil {
		return badQuery(err.Error())
	}
	if len(req.Topics) == 0 || len(req.Topics) > queue.MaxTopics {
		return badQuery(fmt.Sprintf("a lease names 1 to %d topics, not %d", queue.MaxTopics, len(req.Topics)))
	}
	seen := make(map[string]bool, len(req.Topics))
	for _, t := range req.Topics {
		if err := naming.Topic(t); err != nil {
			return badQuery(err.Error())
		}
		if seen[t] {
			return badQuery(fmt.Sprintf("topic %s is named twice", t))
		}
		seen[t] = true
	}
	for _, t := range req.Topics {
		if err := c.allow(resourceTopic, t, opRead); err != nil {
			return err
		}
	}
	return nil
}

// maxMillis is the most milliseconds a Duration holds: lease_ms's bound
// here, the manager holding it to its longest lease.
const maxMillis = int64(1<<63-1) / int64(time.Millisecond)

// decodeLease decodes the body of a lease of group: topics; max_records
// from 1 to queue.MaxRecords, default 1; wait_ms from 0 to maxLeaseWait,
// default 0; lease_ms from minLease, default defaultLease. A bad one is
// 400. The topics' names are checkLease's to check.
//
// Invariants (FuzzShareGroupBodies): it never panics and fails only with
// a 4xx apiError; on success the request is of group and every number is
// within its bounds.
func decodeLease(body []byte, group string) (queue.LeaseRequest, error) {
	var in v3LeaseRequest
	if err := unmarshalStrict(body, &in); err != nil {
		return queue.LeaseRequest{}, err
	}
	req := queue.LeaseRequest{Group: group, Topics: in.Topics}
	n, err := bodyInt("max_records", in.MaxRecords, 1, 1, queue.MaxRecords)
	if err != nil {
		return req, err
	}
	req.MaxRecords = int(n)
	if n, err = bodyInt("wait_ms", in.WaitMs, 0, 0, maxLeaseWait.Milliseconds()); err != nil {
		return req, err
	}
	req.Wait = time.Duration(n) * time.Millisecond
	if n, err = bodyInt("lease_ms", in.LeaseMs, defaultLease.Milliseconds(), minLease.Milliseconds(), maxMillis); err != nil {
		return req, err
	}
	req.Lease = time.Duration(n) * time.Millisecond
	return req, nil
}

// bodyInt is the integer field name of a body, v, from lo to hi, or def
// when absent.
func bodyInt(name string, v *int64, def, lo, hi int64) (int64, error) {
	switch {
	case v == nil:
		return def, nil
	case *v < lo && hi == maxMillis:
		return 0, badQuery(fmt.Sprintf("%s must be at least %d, not %d", name, lo, *v))
	case *v < lo || *v > hi:
		return 0, badQuery(fmt.Sprintf("%s must be from %d to %d, not %d", name, lo, hi, *v))
	}
	return *v, nil
}

// v3ShareLease leases records of the path's share group and answers
// them, {"records": [...]}, each a read's record with its topic_name,
// delivery_count, token and expires_at; none after wait_ms is an empty
// list.
func (h *handlers) v3ShareLease(c *call) (int, any, error) {
	qs, err := h.queues()
	if err != nil {
		return 0, nil, err
	}
	format, err := queryFormat(c.fctx.QueryArgs())
	if err != nil {
		return 0, nil, err
	}
	body, err := jsonBody(c)
	if err != nil {
		return 0, nil, err
	}
	req, err := decodeLease(body, c.pathValue("group_name"))
	if err != nil {
		return 0, nil, err
	}
	if err := checkLease(c, req); err != nil {
		return 0, nil, err
	}
	// The call's context bounds Kafka calls by CallTimeout; a lease may
	// wait for records longer.
	ctx, cancel := context.WithTimeout(context.Background(), req.Wait+c.srv.opts.CallTimeout)
	defer cancel()
	leased, err := qs.Lease(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	var stamps v3Stamps
	b := append(make([]byte, 0, 256*len(leased)+16), `{"records":[`...)
	for i := range leased {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLeased(b, &stamps, &leased[i], format)
	}
	return http.StatusOK, rawJSON(append(b, "]}"...)), nil
}

// appendLeased appends a leased record: {"topic_name", a read's record
// members, "delivery_count", "token", "expires_at"}.
func appendLeased(b []byte, stamps *v3Stamps, l *queue.Leased, format string) []byte {
	b = appendTopicRecordFields(append(b, '{'), stamps, l.Record.Topic, l.Record, format)
	b = append(b, `,"delivery_count":`...)
	b = strconv.AppendInt(b, int64(l.DeliveryCount), 10)
	b = append(b, `,"token":`...)
	b = appendJSONString(b, l.Token)
	b = append(b, `,"expires_at":"`...)
	b = stamps.append(b, l.ExpiresAt)
	return append(b, `"}`...)
}

// decodeAcks decodes the body of an acks request: a JSON array of 1 to
// most {"token", "action"}, each action accept, release, reject or
// renew. Any other action refuses the whole request (400).
//
// Invariants (FuzzShareGroupBodies): it never panics and fails only with
// a 4xx apiError; on success it returns 1 to most acknowledgements, as
// decoded and as queue.Acks of the same tokens, in order, each of a
// valid action.
func decodeAcks(body []byte, most int) ([]v3Ack, []queue.Ack, error) {
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '[' {
		return nil, nil, &apiError{http.StatusBadRequest, codeMalformedJSON, `an acks request is a JSON array of {"token", "action"}`}
	}
	var in []v3Ack
	if err := unmarshalStrict(body, &in); err != nil {
		return nil, nil, err
	}
	if len(in) == 0 || len(in) > most {
		return nil, nil, badQuery(fmt.Sprintf("an acks request holds 1 to %d acknowledgements, not %d", most, len(in)))
	}
	acks := make([]queue.Ack, len(in))
	for i, a := range in {
		action, ok := queue.ParseAction(a.Action)
		if !ok {
			return nil, nil, badQuery(fmt.Sprintf("acknowledgement %d: action must be accept, release, reject or renew, not %q", i, a.Action))
		}
		acks[i] = queue.Ack{Token: a.Token, Action: action}
	}
	return in, acks, nil
}

// v3ShareAcks applies acknowledgements of the path's share group, each
// at the node that leased its record, and answers each one's outcome in
// order: ok (a renewed lease with its new expires_at), lease_lost or
// invalid (a token that is not one of the group's).
func (h *handlers) v3ShareAcks(c *call) (int, any, error) {
	qs, err := h.queues()
	if err != nil {
		return 0, nil, err
	}
	body, err := jsonBody(c)
	if err != nil {
		return 0, nil, err
	}
	in, acks, err := decodeAcks(body, h.maxRecords)
	if err != nil {
		return 0, nil, err
	}
	group := c.pathValue("group_name")
	if err := naming.Group(group); err != nil {
		return 0, nil, badQuery(err.Error())
	}
	cluster := c.srv.opts.Peers.Cluster
	if cluster != nil {
		if err := verifyForwarded(c, cluster); err != nil {
			return 0, nil, err
		}
	}
	results := make([]v3AckResult, len(acks))
	var local []int
	remote := map[string][]int{}
	for i, a := range acks {
		results[i].Token = a.Token
		node, ok := qs.Owner(group, a.Token)
		switch {
		case !ok:
			results[i].Status = queue.StatusInvalid
		case cluster == nil || c.forwarded || node == cluster.Node():
			local = append(local, i)
		default:
			remote[node] = append(remote[node], i)
		}
	}
	// The owners' requests are made here, from c, and sent meanwhile.
	var wg sync.WaitGroup
	for node, idx := range remote {
		req := fasthttp.AcquireRequest()
		ownerAcks(c, req, in, idx)
		wg.Go(func() {
			defer fasthttp.ReleaseRequest(req)
			h.forwardAcks(c, cluster, node, req, idx, results)
		})
	}
	if len(local) > 0 {
		mine := make([]queue.Ack, len(local))
		for j, i := range local {
			mine[j] = acks[i]
		}
		var stamps v3Stamps
		for j, r := range qs.Acks(c.context(), group, mine) {
			results[local[j]] = v3AckResult{Token: r.Token, Status: r.Status}
			if r.Status == queue.StatusOK && acks[local[j]].Action == queue.Renew {
				results[local[j]].ExpiresAt = string(stamps.append(nil, r.ExpiresAt))
			}
		}
	}
	wg.Wait()
	return http.StatusOK, v3AckResults{results}, nil
}

// ownerAcks makes req the request of c's acks at idx for their owner: c's
// headers and URI, and those acks as its body.
func ownerAcks(c *call, req *fasthttp.Request, in []v3Ack, idx []int) {
	forwardedHeader(c, req)
	req.Header.Del("Expect")
	sub := make([]v3Ack, len(idx))
	for j, i := range idx {
		sub[j] = in[i]
	}
	b, _ := json.Marshal(sub) // strings always marshal
	req.SetBody(b)
}

// forwardAcks sends req, the acks at idx, to their owner node and sets
// their results from its answer: all lease_lost when it cannot answer.
func (h *handlers) forwardAcks(c *call, cluster forwarder, node string, req *fasthttp.Request, idx []int, results []v3AckResult) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	got, err := ownerResults(cluster, node, req, resp, len(idx))
	if err != nil {
		c.srv.opts.Logger.Warn("share-group acks' owner did not answer: its leases are lost", "node", node, "acks", len(idx),
			"request_id", string(c.reqID), "err", err)
		for _, i := range idx {
			results[i].Status = queue.StatusLeaseLost
		}
		return
	}
	for j, i := range idx {
		results[i] = got[j]
	}
}

// maxAckAnswerBytes bounds the answer an owner gives for one
// acknowledgement.
const maxAckAnswerBytes = 512

// ownerResults sends req to node and returns the n results of its
// answer, which must be a 200 of n.
func ownerResults(cluster forwarder, node string, req *fasthttp.Request, resp *fasthttp.Response, n int) ([]v3AckResult, error) {
	if err := cluster.Forward(node, req, resp); err != nil {
		return nil, err
	}
	defer func() { _ = resp.CloseBodyStream() }()
	var body io.Reader = bytes.NewReader(resp.Body())
	if s := resp.BodyStream(); s != nil {
		body = s
	}
	limit := int64(64 + maxAckAnswerBytes*n)
	raw, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		return nil, err
	case int64(len(raw)) > limit:
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	case resp.StatusCode() != http.StatusOK:
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode(), strings.TrimSpace(string(raw)))
	}
	var got v3AckResults
	if err := unmarshalStrict(raw, &got); err != nil {
		return nil, err
	}
	if len(got.Results) != n {
		return nil, fmt.Errorf("%d results for %d acknowledgements", len(got.Results), n)
	}
	return got.Results, nil
}

// parseStreamLease validates a queue stream's Accept and query: topic
// (repeated), max_records (default 1), lease_ms (default 30000) and
// format, as a lease's.
func parseStreamLease(c *call) (queue.LeaseRequest, string, error) {
	req := queue.LeaseRequest{Group: c.pathValue("group_name")}
	if err := acceptEvents(c); err != nil {
		return req, "", err
	}
	args := c.fctx.QueryArgs()
	format, err := queryFormat(args)
	if err != nil {
		return req, "", err
	}
	for _, t := range args.PeekMulti("topic") {
		req.Topics = append(req.Topics, string(t))
	}
	n, err := queryInt(args, "max_records", 1, 1, queue.MaxRecords)
	if err != nil {
		return req, "", err
	}
	req.MaxRecords = int(n)
	if n, err = queryInt(args, "lease_ms", defaultLease.Milliseconds(), minLease.Milliseconds(), maxMillis); err != nil {
		return req, "", err
	}
	req.Lease = time.Duration(n) * time.Millisecond
	return req, format, checkLease(c, req)
}

// v3ShareStream pushes leased records of the path's share group as
// Server-Sent Events, "event: record" and the lease record as data,
// batch after batch, each once the last is settled (acks route), until
// the client goes away, the stream fails, or shutdown; then what it
// holds unsettled is released, to be delivered again.
func (h *handlers) v3ShareStream(c *call) (int, any, error) {
	qs, err := h.queues()
	if err != nil {
		return 0, nil, err
	}
	req, format, err := parseStreamLease(c)
	if err != nil {
		return 0, nil, err
	}
	s, err := qs.Open(c.context(), req)
	if err != nil {
		return 0, nil, err
	}
	// Closed when the request finishes, whether or not its writer ran:
	// a client gone before the answer started leaves nothing held.
	c.atFinish(s.Close)
	q := &queueStream{s: s, format: format}
	answerEvents(c, func(w *bufio.Writer) int {
		return q.run(w, h.closing, h.eventHeartbeat)
	})
	return answered, nil, nil
}

// atFinish has f run once c's request has finished (c.finish), its
// stream's writer included.
func (c *call) atFinish(f func()) {
	end := c.endLife
	c.endLife = func() {
		if end != nil {
			end()
		}
		f()
	}
}

// queueStream is one queue stream: the manager's stream and the
// encoding of its events.
type queueStream struct {
	s      *queue.Stream
	format string
	stamps v3Stamps
	buf    []byte
}

// leases is the outcome of one Stream.Next.
type leases struct {
	leased []queue.Leased
	err    error
}

// queueShutdown ends a queue stream at shutdown, as a comment.
const queueShutdown = ": krest is shutting down: reconnect; what this stream leased and did not settle is delivered again\n\n"

// run writes the stream's events to w until the client goes away, the
// stream fails, or closing closes; it returns the stream's status for the
// metrics. Next runs in a goroutine of its own, so that the heartbeat and
// shutdown are not held up while it waits for the last batch to be
// settled; it has returned when run does.
func (q *queueStream) run(w *bufio.Writer, closing <-chan struct{}, heartbeat time.Duration) int {
	ctx, cancel := context.WithCancel(context.Background())
	next := make(chan leases, 1)
	pending := false
	lease := func() {
		pending = true
		go func() {
			l, err := q.s.Next(ctx, heartbeat)
			next <- leases{l, err}
		}()
	}
	// Next is cancelled and waited for before the request finishes, and
	// the stream with it.
	defer func() {
		cancel()
		if pending {
			<-next
		}
	}()
	q.buf = fmt.Appendf(q.buf[:0], "retry: %d\n\n", eventRetry)
	if writeEvents(w, q.buf) != nil {
		return statusClientGone
	}
	lease()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-closing:
			_ = writeEvents(w, []byte(queueShutdown))
			return http.StatusOK
		case <-tick.C:
			if writeEvents(w, []byte(eventPing)) != nil {
				return statusClientGone
			}
		case l := <-next:
			pending = false
			if l.err != nil {
				ae := errorFor(l.err)
				q.buf = fmt.Appendf(q.buf[:0], ": %s\n\n", strings.ReplaceAll(ae.Message, "\n", " "))
				_ = writeEvents(w, q.buf)
				return ae.Status
			}
			q.buf = q.buf[:0]
			for i := range l.leased {
				q.buf = append(q.buf, "event: record\ndata: "...)
				start := len(q.buf)
				q.buf = endEventData(appendLeased(q.buf, &q.stamps, &l.leased[i], q.format), start)
			}
			if len(l.leased) == 0 {
				q.buf = append(q.buf, eventPing...)
			}
			if writeEvents(w, q.buf) != nil {
				return statusClientGone
			}
			tick.Reset(heartbeat)
			lease()
		}
	}
}
