package api

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"krest/internal/consumers"
	"krest/internal/peer"
)

// Forwarding: behind a load balancer with no sticky sessions, a request
// for a consumer instance lands on any node. The frame's forward step,
// for the routes flagged instance, sends it on to the node that owns the
// instance, once: the owner serves it as its own (the caller's
// Authorization goes as it came and is authenticated there again), and
// its answer streams back. A request a peer forwarded is signed with the
// cluster secret; one that is not its receiver's to serve is answered
// 40403 there, never forwarded again.

// forwarder reaches this node's peers (peer.Cluster implements it).
type forwarder interface {
	// Node returns this node's name.
	Node() string
	// Verify reports whether h is a forwarded request, and an error
	// unless its signature and stamp hold at now.
	Verify(h *fasthttp.RequestHeader, now time.Time) (forwarded bool, err error)
	// Forward sends req to node, and reads the answer into resp, whose
	// body streams.
	Forward(node string, req *fasthttp.Request, resp *fasthttp.Response) error
}

var _ forwarder = (*peer.Cluster)(nil)

// Peers let requests for consumer instances reach their owners: Cluster
// nil serves every request here.
type Peers struct {
	Cluster forwarder
	// OwnerOf names the node owning the consumer instance of group, false
	// when no node is known to.
	OwnerOf func(group, instance string) (node string, ok bool)
}

// forward is the frame's forward step for an instance route: it reports
// whether it sent c on to the instance's owner, whose answer then streams
// to the caller. A forwarded request is served here if it is this node's,
// and answered 40403 if not; its signature refused, it is answered 401
// and not acted on.
func (s *Server) forward(c *call) (bool, error) {
	p := s.opts.Peers
	if p.Cluster == nil || !c.route.instance {
		return false, nil
	}
	if err := verifyForwarded(c, p.Cluster); err != nil {
		return false, err
	}
	owner, ok := p.OwnerOf(c.pathValue("group_name"), c.pathValue("instance"))
	switch {
	case !ok || owner == p.Cluster.Node():
		return false, nil
	case c.forwarded:
		return false, consumers.ErrNotFound
	}
	if n := c.fctx.Request.Header.ContentLength(); n > s.limits.MaxBodyBytes {
		return false, errBodyTooLarge(s.limits.MaxBodyBytes)
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	s.forwardedRequest(c, req)
	resp := fasthttp.AcquireResponse()
	if err := p.Cluster.Forward(owner, req, resp); err != nil {
		fasthttp.ReleaseResponse(resp)
		if errors.Is(err, peer.ErrBusy) {
			return false, &apiError{http.StatusTooManyRequests, codeTooManyRequests, "too many requests forwarded to node " + owner + "; retry shortly"}
		}
		// The instance lived in its owner's memory: an owner gone took it
		// along.
		s.opts.Logger.Warn("consumer instance's owner unreachable", "node", owner, "instance", c.pathValue("instance"),
			"request_id", string(c.reqID), "err", err)
		return false, consumers.ErrNotFound
	}
	answerForwarded(c, resp)
	return true, nil
}

// verifyForwarded sets c.forwarded when a peer of cluster forwarded c,
// and refuses it (401, not acted on) when its signature does not hold.
func verifyForwarded(c *call, cluster forwarder) error {
	forwarded, err := cluster.Verify(&c.fctx.Request.Header, time.Now())
	if err != nil {
		c.cause = err
		return &errUnauthenticated{"forwarded request refused"}
	}
	c.forwarded = forwarded
	return nil
}

// forwardedRequest makes req the copy of c's request its owner gets: the
// headers forwardedHeader gives it, and c's body, bounded, as it
// arrives.
func (s *Server) forwardedRequest(c *call, req *fasthttp.Request) {
	forwardedHeader(c, req)
	h := &c.fctx.Request.Header
	// The body goes on as it arrives; the owner holds it to the same
	// limit. A LimitedReader, which has no Close, so that releasing req
	// leaves the caller's stream to fasthttp.
	body := &io.LimitedReader{R: c.fctx.RequestBodyStream(), N: int64(s.limits.MaxBodyBytes) + 1}
	switch n := h.ContentLength(); {
	case n > 0:
		req.SetBodyStream(body, n)
	case n == -1: // chunked
		req.SetBodyStream(body, -1)
	}
}

// forwardedHeader sets req's headers to those of c's request as its
// owner gets them: the caller's (Host and Authorization among them), the
// scheme and address it came from, and this request's id.
func forwardedHeader(c *call, req *fasthttp.Request) {
	h := &c.fctx.Request.Header
	h.CopyTo(&req.Header)
	scheme := "http"
	if c.fctx.IsTLS() {
		scheme = "https"
	}
	req.Header.Set("X-Forwarded-Proto", scheme)
	ip := c.fctx.RemoteIP().String()
	if prior := h.Peek("X-Forwarded-For"); len(prior) > 0 {
		ip = string(prior) + ", " + ip
	}
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.SetBytesV("X-Request-Id", c.reqID)
}

// answerForwarded streams the owner's answer resp to c's caller, and
// releases resp when done.
func answerForwarded(c *call, resp *fasthttp.Response) {
	for k, v := range resp.Header.All() {
		switch string(k) {
		case fasthttp.HeaderContentLength, fasthttp.HeaderTransferEncoding, fasthttp.HeaderConnection,
			fasthttp.HeaderDate, fasthttp.HeaderServer, "X-Request-Id":
			continue
		case fasthttp.HeaderContentType:
			c.fctx.Response.Header.SetContentTypeBytes(v)
			continue
		}
		c.fctx.Response.Header.AddBytesKV(k, v)
	}
	status := resp.StatusCode()
	c.stream(status, func(w *bufio.Writer) int {
		defer fasthttp.ReleaseResponse(resp)
		defer func() { _ = resp.CloseBodyStream() }()
		body := resp.BodyStream()
		if body == nil {
			body = bytes.NewReader(resp.Body())
		}
		if _, err := io.Copy(w, body); err != nil {
			return statusClientGone
		}
		return status
	})
}
