package broker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Where kfake's SASL departs from Apache Kafka's, every connection of the
// embedded broker passes through conn, which makes it answer as Kafka does:
//
//   - kfake advertises SaslHandshake from v1 only; Kafka advertises v0-1,
//     and librdkafka before 2.x needs v0 listed ("SASL Handshake not
//     supported by broker"). conn lists v0 in every ApiVersions answer,
//     and serves it: a v0 handshake reaches kfake as v1 (the same bytes),
//     and the raw SASL tokens that follow one, framed by their size
//     alone, reach it as SaslAuthenticate v0 requests.
//   - kfake lists its mechanisms in a SaslHandshake answer only when it
//     refuses the one asked for, lists all three, and takes a handshake for
//     a mechanism no user has; Kafka lists sasl.enabled.mechanisms in
//     every answer (kafkajs checks the list), and refuses the others.
//     conn lists the one mechanism the broker has, and asks kfake about
//     any other as a mechanism it does not know.
//   - On credentials it refuses, kfake closes the connection; Kafka
//     answers SASL_AUTHENTICATION_FAILED (58) first, so that a client can
//     tell a wrong password from a broker going away. conn writes that
//     answer when kfake closes a connection with a SaslAuthenticate
//     unanswered.
//   - kfake reads any frame a client announces, up to 4 GiB, before
//     anything else; Kafka bounds a request to socket.request.max.bytes
//     (100 MiB), and a frame before authentication to
//     sasl.server.max.receive.size (512 KiB). conn closes a connection
//     announcing more, and one idle for connections.max.idle.ms (10 min).
//
// kfake serves one request of a connection at a time and writes each
// answer in one Write, its size and correlation ID first; conn relies on
// both.

// Kafka's defaults for the bounds conn enforces.
const (
	maxRequestBytes     = 100 << 20        // socket.request.max.bytes
	maxSASLRequestBytes = 512 << 10        // sasl.server.max.receive.size
	maxIdle             = 10 * time.Minute // connections.max.idle.ms
	authFailedWriteWait = time.Second      // for the answer to a refused login
)

// errFrameTooLarge is returned to kfake's reader for a frame past conn's
// bounds, which ends the connection.
var errFrameTooLarge = errors.New("request larger than the broker accepts")

// listener accepts the embedded broker's connections: TLS first when
// configured, then conn. Addr is the advertised address, which kfake puts in
// its metadata.
type listener struct {
	net.Listener
	advertised net.Addr // nil: the listening address
	mechanism  string   // the SASL mechanism the broker requires; "" for none
	closing    *atomic.Bool
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newConn(c, l), nil
}

func (l *listener) Addr() net.Addr {
	if l.advertised != nil {
		return l.advertised
	}
	return l.Listener.Addr()
}

// KafkaListener wraps ln, a listener for kfake to serve (kfake.ListenFn),
// so that kfake answers as Kafka does (see conn): for a kfake that requires
// SASL mechanism, or none when mechanism is "". TLS, if any, must be ln's,
// not kfake.TLS. Start uses it; so can tests that run kfake themselves.
func KafkaListener(ln net.Listener, mechanism string) net.Listener {
	return &listener{Listener: ln, mechanism: mechanism, closing: new(atomic.Bool)}
}

// hostPort is an advertised address.
type hostPort string

func (hostPort) Network() string  { return "tcp" }
func (a hostPort) String() string { return string(a) }

// pendingReq is a request conn watches for its answer.
type pendingReq struct {
	key, version int16 // as the client sent it
	mechanism    string
	raw          bool // a raw SASL token of a v0 handshake, sent on as SaslAuthenticate v0
}

// conn is one client connection of the embedded broker (see above).
type conn struct {
	net.Conn
	l *listener
	r *bufio.Reader

	// Read state, used by kfake's one reader at a time.
	out  []byte // bytes to hand to kfake before reading on
	left int    // bytes of the current frame to pass through unread

	mu        sync.Mutex // guards what follows, and writes
	pending   map[int32]pendingReq
	authed    bool   // SASL done, or not required: the larger bound applies
	mechanism string // of the last successful handshake
	rounds    int    // successful SaslAuthenticate answers since it
	raw       bool   // reading raw SASL tokens after a v0 handshake
	rawCorr   int32  // correlation ID of the next token sent on
	closeOnce sync.Once
	closeErr  error
}

func newConn(c net.Conn, l *listener) *conn {
	return &conn{Conn: c, l: l, r: bufio.NewReaderSize(c, 32<<10), pending: map[int32]pendingReq{},
		authed: l.mechanism == "", rawCorr: math.MinInt32}
}

// Read hands kfake the client's bytes, frame by frame (see conn).
func (c *conn) Read(p []byte) (int, error) {
	if len(c.out) == 0 && c.left == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	n, err := c.r.Read(p[:min(len(p), c.left)])
	c.left -= n
	return n, err
}

// next reads the next frame's size, and the whole frame if it is one conn
// watches or rewrites.
func (c *conn) next() error {
	_ = c.Conn.SetReadDeadline(time.Now().Add(maxIdle))
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return err
	}
	n := int64(binary.BigEndian.Uint32(size[:]))
	c.mu.Lock()
	authed, raw := c.authed, c.raw
	c.mu.Unlock()
	if limit := int64(maxRequestBytes); n > limit || !authed && n > maxSASLRequestBytes {
		return fmt.Errorf("%w: %d bytes", errFrameTooLarge, n)
	}
	if raw {
		token := make([]byte, n)
		if _, err := io.ReadFull(c.r, token); err != nil {
			return err
		}
		c.out = c.wrapToken(token)
		return nil
	}
	hdr, err := c.r.Peek(min(int(n), 8))
	if err != nil {
		return err
	}
	if len(hdr) < 8 {
		c.out, c.left = size[:], int(n) // kfake fails to parse it
		return nil
	}
	switch key := int16(binary.BigEndian.Uint16(hdr)); key {
	case kmsg.SASLHandshake.Int16(), kmsg.ApiVersions.Int16(), kmsg.SASLAuthenticate.Int16():
		frame := make([]byte, 4+n)
		copy(frame, size[:])
		if _, err := io.ReadFull(c.r, frame[4:]); err != nil {
			return err
		}
		c.out = c.watch(frame)
	default:
		c.out, c.left = size[:], int(n)
	}
	return nil
}

// watch notes a request whose answer conn inspects; a v0 SaslHandshake
// becomes v1, which has the same body, and one for a mechanism the broker
// does not have asks for none. It returns the frame to hand to kfake.
func (c *conn) watch(frame []byte) []byte {
	key := int16(binary.BigEndian.Uint16(frame[4:]))
	version := int16(binary.BigEndian.Uint16(frame[6:]))
	corr := int32(binary.BigEndian.Uint32(frame[8:]))
	pr := pendingReq{key: key, version: version}
	if key == kmsg.SASLHandshake.Int16() {
		// Both versions have the v1 request header: a nullable client
		// ID after the correlation ID, and no tags.
		r := kbin.Reader{Src: frame[12:]}
		r.NullableString()
		req := kmsg.NewSASLHandshakeRequest()
		req.Version = 1
		if r.Complete() == nil && req.ReadFrom(r.Src) == nil {
			pr.mechanism = req.Mechanism
			if req.Mechanism != c.l.mechanism {
				pr.mechanism, req.Mechanism = "", "" // kfake refuses it, staying where it was
				body := len(frame) - len(r.Src)      // up to the mechanism
				frame = req.AppendTo(frame[:body:body])
				binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
			}
		}
		if version == 0 {
			binary.BigEndian.PutUint16(frame[6:], 1)
		}
	}
	c.mu.Lock()
	c.pending[corr] = pr
	c.mu.Unlock()
	return frame
}

// wrapToken frames a raw SASL token as the SaslAuthenticate v0 request
// kfake serves.
func (c *conn) wrapToken(token []byte) []byte {
	c.mu.Lock()
	corr := c.rawCorr
	c.rawCorr++
	c.pending[corr] = pendingReq{key: kmsg.SASLAuthenticate.Int16(), mechanism: c.mechanism, raw: true}
	c.mu.Unlock()
	req := kmsg.NewSASLAuthenticateRequest()
	req.SASLAuthBytes = token
	b := binary.BigEndian.AppendUint32(nil, 0) // size, below
	b = binary.BigEndian.AppendUint16(b, uint16(kmsg.SASLAuthenticate.Int16()))
	b = binary.BigEndian.AppendUint16(b, 0) // version
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client ID
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// Write sends kfake's answer, amended where conn watches its request.
func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) < 8 {
		return c.Conn.Write(p)
	}
	corr := int32(binary.BigEndian.Uint32(p[4:]))
	pr, ok := c.pending[corr]
	if !ok {
		return c.Conn.Write(p)
	}
	delete(c.pending, corr)
	out := p
	switch pr.key {
	case kmsg.ApiVersions.Int16():
		out = listHandshakeV0(p, pr.version)
	case kmsg.SASLHandshake.Int16():
		resp := kmsg.NewSASLHandshakeResponse()
		resp.Version = 1
		if resp.ReadFrom(p[8:]) == nil {
			if resp.ErrorCode == 0 {
				c.mechanism, c.rounds, c.raw = pr.mechanism, 0, pr.version == 0
			}
			resp.SupportedMechanisms = nil
			if c.l.mechanism != "" {
				resp.SupportedMechanisms = []string{c.l.mechanism}
			}
			out = resp.AppendTo(append(make([]byte, 0, len(p)+len(c.l.mechanism)), p[:8]...))
			binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		}
	case kmsg.SASLAuthenticate.Int16():
		resp := kmsg.NewSASLAuthenticateResponse()
		resp.Version = pr.version
		body := p[8:]
		if resp.IsFlexible() {
			body = body[1:] // the header's empty tags
		}
		ok := resp.ReadFrom(body) == nil && resp.ErrorCode == 0
		if ok {
			c.rounds++
			if c.rounds >= saslRounds(c.mechanism) {
				c.authed, c.raw = true, false
			}
		}
		if pr.raw {
			if !ok {
				return 0, errors.New("SASL authentication failed") // v0 has no error answer: Kafka closes
			}
			out = binary.BigEndian.AppendUint32(nil, uint32(len(resp.SASLAuthBytes)))
			out = append(out, resp.SASLAuthBytes...)
		}
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// saslRounds is how many SaslAuthenticate exchanges mechanism takes.
func saslRounds(mechanism string) int {
	if mechanism == saslPlain {
		return 1
	}
	return 2 // SCRAM: client-first, client-final
}

// listHandshakeV0 returns the ApiVersions answer frame with SaslHandshake
// listed from v0, or frame itself when it does not list it from later.
func listHandshakeV0(frame []byte, version int16) []byte {
	resp := kmsg.NewApiVersionsResponse()
	resp.Version = version
	if version > resp.MaxVersion() || resp.ReadFrom(frame[8:]) != nil { // its header never has tags
		return frame
	}
	patched := false
	for i, k := range resp.ApiKeys {
		if k.ApiKey == kmsg.SASLHandshake.Int16() && k.MinVersion > 0 {
			resp.ApiKeys[i].MinVersion, patched = 0, true
		}
	}
	if !patched {
		return frame
	}
	out := resp.AppendTo(append(make([]byte, 0, len(frame)+1), frame[:8]...))
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// Close answers a SaslAuthenticate that kfake gave up on with
// SASL_AUTHENTICATION_FAILED, as Kafka does, unless the broker is shutting
// down, and closes the connection.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		if !c.l.closing.Load() {
			for corr, pr := range c.pending {
				if pr.key == kmsg.SASLAuthenticate.Int16() && !pr.raw {
					c.writeAuthFailed(corr, pr)
				}
			}
		}
		c.mu.Unlock()
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// writeAuthFailed writes the SASL_AUTHENTICATION_FAILED answer to the
// request corr, with Kafka's message for its mechanism. c.mu is held.
func (c *conn) writeAuthFailed(corr int32, pr pendingReq) {
	resp := kmsg.NewSASLAuthenticateResponse()
	resp.Version = pr.version
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + c.mechanism
	if c.mechanism == saslPlain {
		msg = "Authentication failed: Invalid username or password"
	}
	resp.ErrorMessage = &msg
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	if resp.IsFlexible() {
		b = append(b, 0) // the header's empty tags
	}
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_ = c.Conn.SetWriteDeadline(time.Now().Add(authFailedWriteWait))
	_, _ = c.Conn.Write(b)
}

var _ net.Conn = (*conn)(nil)

// advertise returns the address to advertise for a listener bound to
// bound: addr if set, else bound itself.
func advertise(addr string, bound net.Addr) (net.Addr, error) {
	if addr == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("advertised address %q: %w", addr, err)
	}
	if port == "0" || port == "" {
		_, port, _ = net.SplitHostPort(bound.String())
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || host == "" {
		return nil, fmt.Errorf("advertised address %q: want host:port", addr)
	}
	return hostPort(net.JoinHostPort(host, port)), nil
}
