package api

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// limitListener bounds the server's connections, in all and per client
// address, and gives each connection idle deadlines: every Read and Write
// must make progress within the read or write idle timeout. A deadline the
// server sets (fasthttp's ReadTimeout, a handler's) still applies when it
// comes sooner.
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

func (c *idleConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
