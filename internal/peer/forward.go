package peer

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Forward signs req and sends it to node, and reads the answer's headers
// into resp, whose body is left to stream (resp.BodyStream; the caller
// closes it with resp.CloseBodyStream). req's Host header goes as it came,
// so that links in the answer name the host the caller used. It returns
// ErrUnknownNode, ErrBusy, or ErrUnreachable with its cause, when node
// cannot answer.
//
// A forwarded request is sent once, never retried: the owner may have
// acted on it (fetched a batch of records) when its answer is lost.
func (c *Cluster) Forward(node string, req *fasthttp.Request, resp *fasthttp.Response) error {
	hc, err := c.client(node)
	if err != nil {
		return err
	}
	req.UseHostHeader = true
	// The path goes as it came, as the signature covers it.
	req.URI().DisablePathNormalizing = true
	c.sign(&req.Header, req.URI().RequestURI(), time.Now())
	resp.StreamBody = true
	err = hc.Do(req, resp)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return fmt.Errorf("%w: %s", ErrBusy, node)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnreachable, node, err)
}

// client returns the client of node, made on first use. Past MaxPeers
// clients, one is let go for the new one: its connections close when idle.
func (c *Cluster) client(node string) (*fasthttp.HostClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.clients[node]; ok {
		return hc, nil
	}
	u, err := c.URL(node)
	if err != nil {
		return nil, err
	}
	tls := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if tls {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	hc := &fasthttp.HostClient{
		Addr:                      addr,
		Name:                      "krest-peer",
		IsTLS:                     tls,
		MaxConns:                  c.opts.MaxConns,
		MaxConnWaitTimeout:        time.Second,
		ReadTimeout:               c.opts.Timeout,
		WriteTimeout:              c.opts.Timeout,
		MaxIdemponentCallAttempts: 1,
		// Well under a krest's idle timeout, so that a kept connection is
		// not one the peer is closing: with no retries, that would fail
		// the request.
		MaxIdleConnDuration:    10 * time.Second,
		StreamResponseBody:     true,
		DisablePathNormalizing: true,
	}
	if len(c.clients) >= c.opts.MaxPeers {
		for n := range c.clients {
			delete(c.clients, n)
			break
		}
	}
	c.clients[node] = hc
	return hc, nil
}
