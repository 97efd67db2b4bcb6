package api

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// limitListener bounds the server's connections, in all and per client
// address, and gives each connection idle deadlines: every Read and Write
// must make progress within the read or write idle timeout. A deadline the
// server sets (fasthttp's ReadTimeout, a handler's) still applies when it
// comes sooner. A connection closed in the middle of a request lingers
// (idleConn.Close) and holds its place under the caps until it is shut.
type limitListener struct {
	net.Listener
	limits Limits
	conns  *connLimiter
}

// refusedAnswer is written to a connection over a limit before it is
// closed: a JSON 503, as every krest error is.
var refusedAnswer = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
	"Connection: close\r\nContent-Length: 73\r\n\r\n" +
	`{"error_code":50304,"message":"too many connections; retry in a moment"}` + "\n")

// Accept returns the next connection within the limits; one over them is
// answered refusedAnswer and closed.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteHost(c)
		if !l.conns.acquire(addr) {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(refusedAnswer)
			_ = c.Close()
			continue
		}
		return &idleConn{Conn: c, limits: &l.limits, release: func() { l.conns.release(addr) }}, nil
	}
}

func remoteHost(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// connLimiter counts open connections, in all and by address.
type connLimiter struct {
	max, perAddr int

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

func newConnLimiter(max, perAddr int) *connLimiter {
	return &connLimiter{max: max, perAddr: perAddr, byAddr: map[string]int{}}
}

func (l *connLimiter) acquire(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max || l.perAddr > 0 && l.byAddr[addr] >= l.perAddr {
		return false
	}
	l.open++
	if l.perAddr > 0 {
		l.byAddr[addr]++
	}
	return true
}

func (l *connLimiter) release(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perAddr > 0 {
		if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
			delete(l.byAddr, addr)
		}
	}
}

// idleConn applies idle deadlines to each Read and Write; SetReadDeadline
// and SetWriteDeadline set a bound on top of them (the zero time lifts
// it). A deadline is changed at the connection only when it moves by a
// sixteenth of the idle time or more, so a busy connection does not pay a
// deadline change per read and per request: a read or write is then cut
// after between 15/16 and 17/16 of its bound.
type idleConn struct {
	net.Conn
	limits  *Limits
	release func()
	once    sync.Once
	// serving says a request is being read or answered (connState), so
	// that a close now may leave request bytes arriving.
	serving atomic.Bool

	read, write deadlines
}

// deadlines are one direction's: the bound set on top of the idle time,
// and the deadline in force at the connection, in unix nanoseconds (0 for
// none).
type deadlines struct {
	by, applied atomic.Int64
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.read.apply(c.Conn.SetReadDeadline, c.limits.ReadIdleTimeout); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if err := c.write.apply(c.Conn.SetWriteDeadline, c.limits.WriteIdleTimeout); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// apply puts the deadline now due in force with set: now plus idle, or
// the set bound when that is sooner; unless the one in force is within a
// sixteenth of idle of it.
func (d *deadlines) apply(set func(time.Time) error, idle time.Duration) error {
	due := time.Now().Add(idle).UnixNano()
	if by := d.by.Load(); by != 0 && by < due {
		due = by
	}
	if diff := due - d.applied.Load(); -int64(idle/16) < diff && diff < int64(idle/16) {
		return nil
	}
	d.applied.Store(due)
	return set(time.Unix(0, due))
}

// SetReadDeadline bounds reads by t (the zero time lifts the bound) and
// applies it at once when it moves the deadline in force, so that it also
// wakes a read in progress.
func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.read.by.Store(unixNano(t))
	return c.read.apply(c.Conn.SetReadDeadline, c.limits.ReadIdleTimeout)
}

// SetWriteDeadline bounds writes by t, as SetReadDeadline does reads.
func (c *idleConn) SetWriteDeadline(t time.Time) error {
	c.write.by.Store(unixNano(t))
	return c.write.apply(c.Conn.SetWriteDeadline, c.limits.WriteIdleTimeout)
}

func (c *idleConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Close shuts the connection; closed in the middle of a request, as after
// an error answer to a request whose body is still arriving (a body over
// the limit), it lingers first.
func (c *idleConn) Close() error {
	c.once.Do(func() {
		if c.serving.Load() {
			c.linger()
		}
		c.release()
	})
	return c.Conn.Close()
}

// A lingering close, as nginx's lingering_close: the kernel resets a
// connection closed with request bytes unread or still arriving, and the
// reset can destroy the answer before the client reads it, or fail the
// client's write of the body before it reads the answer (Go's Transport
// then reports the reset, not the answer). So the connection half-closes
// first: the answer and then the end of the stream go out, and what the
// client still sends is read and dropped until it closes its side, for at
// most lingerTime and lingerBytes.
//
// A client that reads while it sends has the answer within a round trip
// and stops, or finishes the body it is sending; lingerBytes, four times
// the default body limit, is what it may send meanwhile (a quarter of it
// still let clients on loopback be reset before the answer). lingerTime
// bounds a slow or silent client (nginx waits up to 30 s). Close runs in
// the connection's own fasthttp worker, which Shutdown does not wait for,
// and the connection keeps its place under the caps until it is shut: a
// client holds a place for at most lingerTime past its answer, less than
// it could by sending a request slowly (ReadTimeout).
const (
	lingerTime  = time.Second
	lingerBytes = 4 << 20
)

// linger half-closes the connection and drops what the client still
// sends, within lingerTime and lingerBytes.
func (c *idleConn) linger() {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil || c.Conn.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, c.Conn, lingerBytes)
}

// connState is the fasthttp.Server's ConnState hook: it tells each
// connection whether a request is being served on it.
func connState(nc net.Conn, state fasthttp.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if c, ok := nc.(*idleConn); ok {
		c.serving.Store(state == fasthttp.StateActive)
	}
}
