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
// it). An idle deadline is moved only once a sixteenth of the idle time
// has passed since it was last set, so a busy connection does not pay a
// deadline change per read: it is then cut after between 15/16 and all of
// the idle time without progress.
type idleConn struct {
	net.Conn
	limits  *Limits
	release func()
	once    sync.Once

	readBy, writeBy   atomic.Int64 // unix nanoseconds of the set deadlines, 0 for none
	readSet, writeSet atomic.Int64 // unix nanoseconds when the idle deadlines were last applied
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := refresh(c.Conn.SetReadDeadline, c.limits.ReadIdleTimeout, &c.readBy, &c.readSet); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if err := refresh(c.Conn.SetWriteDeadline, c.limits.WriteIdleTimeout, &c.writeBy, &c.writeSet); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// refresh applies the idle deadline with set unless it was applied less
// than a sixteenth of idle ago.
func refresh(set func(time.Time) error, idle time.Duration, by, applied *atomic.Int64) error {
	now := time.Now()
	if now.UnixNano()-applied.Load() < int64(idle/16) {
		return nil
	}
	applied.Store(now.UnixNano())
	return set(deadlineFrom(now, idle, by))
}

// deadlineFrom is now plus idle, or the set deadline when that is sooner.
func deadlineFrom(now time.Time, idle time.Duration, set *atomic.Int64) time.Time {
	d := now.Add(idle)
	if by := set.Load(); by != 0 && by < d.UnixNano() {
		return time.Unix(0, by)
	}
	return d
}

// SetReadDeadline bounds reads by t (the zero time lifts the bound) and
// applies it at once, so that it also wakes a read in progress.
func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.readBy.Store(unixNano(t))
	now := time.Now()
	c.readSet.Store(now.UnixNano())
	return c.Conn.SetReadDeadline(deadlineFrom(now, c.limits.ReadIdleTimeout, &c.readBy))
}

// SetWriteDeadline bounds writes by t, as SetReadDeadline does reads.
func (c *idleConn) SetWriteDeadline(t time.Time) error {
	c.writeBy.Store(unixNano(t))
	now := time.Now()
	c.writeSet.Store(now.UnixNano())
	return c.Conn.SetWriteDeadline(deadlineFrom(now, c.limits.WriteIdleTimeout, &c.writeBy))
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
