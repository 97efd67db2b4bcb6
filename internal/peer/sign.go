package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// The headers of a forwarded request. ForwardedBy names the node that
// forwarded it; Stamp is when, in Unix seconds; Signature is the hex
// HMAC-SHA256, under the cluster secret, of the method, the request URI
// (path and query), the stamp and the node, each ended by a newline.
// The body is not signed: the caller's own credentials, passed on as
// they came, are what the owner authenticates it by.
const (
	HeaderForwardedBy = "X-Krest-Forwarded-By"
	HeaderStamp       = "X-Krest-Forward-Stamp"
	HeaderSignature   = "X-Krest-Forward-Signature"
)

// MaxSkew is how far a forwarded request's stamp may be from the clock of
// the node that receives it.
const MaxSkew = 30 * time.Second

// sign sets the forwarding headers of h, a request for uri this node
// sends at now.
func (c *Cluster) sign(h *fasthttp.RequestHeader, uri []byte, now time.Time) {
	stamp := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderForwardedBy, c.opts.Node)
	h.Set(HeaderStamp, stamp)
	h.Set(HeaderSignature, c.mac(h.Method(), uri, stamp, c.opts.Node))
}

// Verify reports whether h is a forwarded request, and, when it is,
// whether its signature is the cluster secret's and its stamp fresh at
// now: ErrUnsigned, ErrStale or ErrBadSignature otherwise. A request with
// no forwarding headers is not forwarded, and nil.
func (c *Cluster) Verify(h *fasthttp.RequestHeader, now time.Time) (forwarded bool, err error) {
	node := h.Peek(HeaderForwardedBy)
	stamp := h.Peek(HeaderStamp)
	sig := h.Peek(HeaderSignature)
	if len(node) == 0 && len(stamp) == 0 && len(sig) == 0 {
		return false, nil
	}
	if len(node) == 0 || len(stamp) == 0 || len(sig) == 0 {
		return true, ErrUnsigned
	}
	// The signature is checked first, so that a forger learns nothing
	// from the stamp's answer.
	want := c.mac(h.Method(), h.RequestURI(), string(stamp), string(node))
	if !hmac.Equal(sig, []byte(want)) {
		return true, ErrBadSignature
	}
	sec, err := strconv.ParseInt(string(stamp), 10, 64)
	if err != nil {
		return true, fmt.Errorf("%w: %q", ErrStale, stamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return true, fmt.Errorf("%w: %s from this node's clock", ErrStale, d.Round(time.Second))
	}
	return true, nil
}

// mac returns the hex signature of a forwarded request.
func (c *Cluster) mac(method, uri []byte, stamp, node string) string {
	m := hmac.New(sha256.New, c.opts.Secret)
	for _, part := range [][]byte{method, uri, []byte(stamp), []byte(node)} {
		m.Write(part)
		m.Write([]byte{'\n'})
	}
	return hex.EncodeToString(m.Sum(nil))
}
