package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// slowBodyBytes is the Content-Length every slow request announces: more than a probe sends (options
// validate it), so that no slow body completes.
const slowBodyBytes = 10000

// slowWorkers is how many goroutines open the slow connections, and then drive them: each owns a share.
const slowWorkers = 16

// runSlowClients runs the slow-client probe against krest on a fresh broker, and against the older krest
// too when one is given (--krest-before, --krest-bin-before).
func (b *bench) runSlowClients(ctx context.Context) {
	binaries := []krestBinary{b.krest}
	if b.before != nil {
		binaries = append(binaries, *b.before)
	}
	brokerErr := b.freshBroker(ctx)
	for _, k := range binaries {
		if ctx.Err() != nil {
			return
		}
		r := &slowResult{Target: k.name, Title: krestTitle(k.name), Clients: b.checkConcurrency(), SlowConns: b.opt.slowConns,
			SlowRate: b.opt.slowRate}
		if brokerErr != nil {
			r.Skipped, r.Error = skipReason(brokerErr), brokerErr.Error()
		} else {
			b.slowClients(ctx, k, r)
		}
		b.rep.SlowClients = append(b.rep.SlowClients, *r)
		b.progress("slow clients, %s: %s", k.name, r.summary())
	}
}

// krestTitle is the row label of krest or of the older krest.
func krestTitle(name string) string {
	if name == "krest-before" {
		return "krest before"
	}
	return "krest"
}

// slowClients measures one krest binary: its --check-concurrency closed-loop clients for --slow-duration
// while --slow-conns raw connections send a request's body at --slow-rate bytes a second, and for as long
// without them, half just before the probe and half just after, so that a drift of the machine weighs on
// both alike. It records what the normal clients got both ways, what became of the slow connections, and
// krest's open HTTP connections at the end of the probe and after its clean-up; every record acknowledged
// is verified in the topic.
func (b *bench) slowClients(ctx context.Context, k krestBinary, r *slowResult) {
	topic := b.topicName("slow-" + k.name)
	if _, err := b.kafka.createTopic(ctx, topic, b.opt.partitions); err != nil {
		r.Error = err.Error()
		return
	}
	defer b.kafka.deleteTopic(context.WithoutCancel(ctx), topic)
	p, base, err := b.startKrest(ctx, k, topic, "bench-"+topic)
	if err != nil {
		r.Skipped, r.Error = skipReason(err), err.Error()
		return
	}
	defer p.stop()
	u, err := url.Parse(base)
	if err != nil {
		r.Error = err.Error()
		return
	}
	port, _ := strconv.Atoi(u.Port())
	before, err := b.kafka.records(ctx, topic)
	if err != nil {
		r.Error = err.Error()
		return
	}

	hc := newHTTPClient(r.Clients)
	defer hc.CloseIdleConnections()
	send := singleInstance(p, base+"/api/messages", topic).sender(hc, spec{size: b.opt.bodyBytes, batch: 1})
	// measure runs the normal clients for d, with m metering krest.
	measure := func(m *meter, d time.Duration) loadResult {
		m.begin()
		res := load{concurrency: r.Clients, duration: d, send: send}.run(ctx)
		m.end()
		return res
	}
	total, without, during := newLoadResult(), newLoadResult(), newLoadResult()
	if b.opt.warmup > 0 {
		total = load{concurrency: r.Clients, duration: b.opt.warmup, send: send}.run(ctx)
	}
	firstMeter, duringMeter, lastMeter := newMeter(p.pid()), newMeter(p.pid()), newMeter(p.pid())
	half := b.opt.slowDuration / 2
	b.progress("slow clients, %s: %d clients for %v without the probe", k.name, r.Clients, half)
	without.merge(measure(firstMeter, half))
	hc.CloseIdleConnections()

	b.progress("slow clients, %s: %d clients for %v beside %d connections at %s B/s", k.name, r.Clients, b.opt.slowDuration,
		r.SlowConns, rateLabel(r.SlowRate))
	probe := openSlowProbe(ctx, u.Host, r.SlowConns, r.SlowRate)
	defer probe.close()
	during.merge(measure(duringMeter, b.opt.slowDuration))
	r.During = newNormalLoad(during, duringMeter.resources(during.acked))
	r.KrestConnsAtEnd, _ = httpConns(port)
	r.Slow = probe.finish()
	hc.CloseIdleConnections()

	// Every connection of the bench is closed now; krest's must go too.
	cleaned := time.Now()
	err = poll(ctx, 10*time.Second, 20*time.Millisecond, func() error {
		n, err := httpConns(port)
		r.KrestConnsAfter = n
		if err == nil && n > 0 {
			err = fmt.Errorf("krest still holds %d HTTP connections", n)
		}
		return err
	})
	r.CleanupSec = time.Since(cleaned).Seconds()
	if err != nil {
		r.CleanupError = err.Error()
	}
	if ctx.Err() == nil {
		b.progress("slow clients, %s: %d clients for %v without the probe, after it", k.name, r.Clients, b.opt.slowDuration-half)
		without.merge(measure(lastMeter, b.opt.slowDuration-half))
	}
	// krest's CPU without the probe is that of both halves; its peak RSS that of the first, as after the
	// probe krest may still hold the memory the slow connections made it take.
	cpu := newTally()
	cpu.absorb(firstMeter)
	cpu.absorb(lastMeter)
	r.Without = newNormalLoad(without, cpu.resources(without.acked))
	if rss := firstMeter.resources(0); rss != nil && r.Without.Krest != nil {
		r.Without.Krest.PeakRSSMiB, r.Without.Krest.PeakSinceStart = rss.PeakRSSMiB, rss.PeakSinceStart
	}

	r.Alive = p.running()
	if !r.Alive {
		r.Error = p.exitError().Error()
		return
	}
	total.merge(without)
	total.merge(during)
	after, err := b.kafka.records(ctx, topic)
	v := verification{acked: total.acked, unacked: total.sent - total.acked, inTopic: after - before}
	if err == nil {
		err = v.err()
	}
	if err != nil {
		r.Error = "verification failed: " + err.Error()
	}
	r.Verification = v.String()
	if r.Without.RecordsPerSec > 0 {
		r.Ratio = r.During.RecordsPerSec / r.Without.RecordsPerSec
	}
}

// newNormalLoad sums up what the normal clients got in one run of the probe.
func newNormalLoad(res loadResult, krest *resources) *normalLoad {
	n := &normalLoad{Seconds: res.elapsed.Seconds(), Requests: res.requests, Created: res.statuses[http.StatusCreated],
		TooMany: res.statuses[http.StatusTooManyRequests], NoResponse: res.failed, Latency: latencyOf(res.latency),
		Statuses: statusCounts(res), FirstError: res.firstErr, Krest: krest}
	n.Not201 = n.Requests - n.Created
	if n.Seconds > 0 {
		n.RecordsPerSec = float64(res.acked) / n.Seconds
	}
	return n
}

// summary is the progress line of a probe.
func (r *slowResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("%.0f rec/s beside %d slow connections vs %.0f rec/s alone (%.2f×), p99 %.2f vs %.2f ms, %d not 201 "+
		"(%d 429); slow connections: %s; krest HTTP connections %d at the end, %d after clean-up",
		r.During.RecordsPerSec, r.SlowConns, r.Without.RecordsPerSec, r.Ratio, r.During.Latency.P99, r.Without.Latency.P99,
		r.During.Not201, r.During.TooMany, r.Slow.String(), r.KrestConnsAtEnd, r.KrestConnsAfter)
}

// slowProbe is the slow clients of one probe: raw TCP connections that have sent the headers of a POST
// /api/messages with Content-Length slowBodyBytes, and send its body a byte at a time. A fixed few
// workers drive them; each owns a share of the connections and, every 1/rate seconds, checks each of
// its open connections for an answer or a close (a non-blocking read), then sends it its next byte.
type slowProbe struct {
	conns    []*slowConn
	failed   int    // connections that could not be opened or could not send their headers
	firstErr string // why the first of them failed
	stop     chan struct{}
	wg       sync.WaitGroup
	closed   bool
}

// openSlowProbe opens n slow connections to addr, sends their headers, and starts the workers that send
// their bodies at rate bytes per second each. Close stops and closes everything, finish too.
func openSlowProbe(ctx context.Context, addr string, n int, rate float64) *slowProbe {
	p := &slowProbe{stop: make(chan struct{})}
	conns := make([]*slowConn, n)
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(n, slowWorkers) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				c, err := dialSlow(ctx, addr, "slow-"+strconv.Itoa(i))
				if err != nil {
					mu.Lock()
					p.failed++
					if p.firstErr == "" {
						p.firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			p.conns = append(p.conns, c)
		}
	}
	interval := time.Duration(float64(time.Second) / rate)
	workers := min(len(p.conns), slowWorkers)
	start := time.Now()
	for w := range workers {
		var share []*slowConn
		for i := w; i < len(p.conns); i += workers {
			share = append(share, p.conns[i])
		}
		// The workers' ticks are spread over the interval, so that krest sees the bytes arrive evenly.
		first := start.Add(time.Duration(w) * interval / time.Duration(workers))
		p.wg.Go(func() { p.drive(ctx, share, first, interval) })
	}
	return p
}

// drive sends the connections of share their next byte every interval from first on, until the probe
// stops.
func (p *slowProbe) drive(ctx context.Context, share []*slowConn, first time.Time, interval time.Duration) {
	t := time.NewTimer(time.Until(first))
	defer t.Stop()
	next := first
	for {
		select {
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		for _, c := range share {
			c.check(now)
			c.send(now)
		}
		// A worker that fell behind skips the ticks it missed rather than sending them in a burst.
		for !next.After(now) {
			next = next.Add(interval)
		}
		t.Reset(time.Until(next))
	}
}

// finish stops the workers, checks each connection a last time and returns what became of them; then it
// closes every connection.
func (p *slowProbe) finish() *slowOutcome {
	p.halt()
	o := &slowOutcome{Opened: len(p.conns), Failed: p.failed, FirstError: p.firstErr, Answered: map[string]int{}}
	now := time.Now()
	var first, last time.Duration
	for _, c := range p.conns {
		c.check(now)
		o.BodyBytes += int64(c.sent)
		switch c.state {
		case slowOpen:
			o.Open++
			continue
		case slowAnswered:
			o.Answered[strconv.Itoa(c.status)]++
		case slowClosed:
			o.Closed++
		case slowReset:
			o.Reset++
		}
		if first == 0 || c.after < first {
			first = c.after
		}
		last = max(last, c.after)
	}
	o.FirstEndSec, o.LastEndSec = first.Seconds(), last.Seconds()
	p.close()
	return o
}

// halt stops the workers and waits for them.
func (p *slowProbe) halt() {
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.wg.Wait()
}

// close stops the workers and closes every connection.
func (p *slowProbe) close() {
	p.halt()
	for _, c := range p.conns {
		c.conn.Close()
	}
}

// slowState is what became of a slow connection.
type slowState int

const (
	slowOpen     slowState = iota // still sending its body
	slowAnswered                  // answered before its body was complete (status holds the code)
	slowClosed                    // closed by the server without an answer
	slowReset                     // reset by the server, or a write to it failed
)

// slowConn is one slow client.
type slowConn struct {
	conn   *net.TCPConn
	raw    syscall.RawConn
	body   []byte // the whole body; all but its last byte are sent
	sent   int
	head   []byte // the start of an answer, up to its status code
	state  slowState
	status int           // the answer's status code; 0 for an answer that is not HTTP
	opened time.Time     // when its headers were sent
	after  time.Duration // from opened until it was found answered, closed or reset
}

// dialSlow opens a slow connection to addr and sends the headers of a POST /api/messages whose body is
// the message with id.
func dialSlow(ctx context.Context, addr, id string) (*slowConn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := nc.(*net.TCPConn)
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &slowConn{conn: conn, raw: raw, body: messageBody(id, slowBodyBytes)}
	headers := fmt.Sprintf("POST /api/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		addr, len(c.body))
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(headers)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("send headers: %w", err)
	}
	c.opened = time.Now()
	return c, nil
}

// check reads whatever the server sent without waiting, and notes an answer, a close or a reset.
func (c *slowConn) check(now time.Time) {
	var buf [512]byte
	for c.state == slowOpen {
		var n int
		var rerr error
		err := c.raw.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), buf[:])
			return true // never wait for data
		})
		switch {
		case err == nil && (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR)):
			return
		case err != nil || rerr != nil:
			c.end(slowReset, now)
			return
		case n == 0 && len(c.head) > 0:
			c.end(slowAnswered, now) // a short answer that is not HTTP
			return
		case n == 0:
			c.end(slowClosed, now)
			return
		}
		c.head = append(c.head, buf[:min(n, len("HTTP/1.1 200")-len(c.head))]...)
		if len(c.head) == len("HTTP/1.1 200") {
			if bytes.HasPrefix(c.head, []byte("HTTP/1.")) {
				c.status, _ = strconv.Atoi(string(c.head[9:12]))
			}
			c.end(slowAnswered, now)
		}
	}
}

// send writes the next byte of the body, all but the last.
func (c *slowConn) send(now time.Time) {
	if c.state != slowOpen || c.sent >= len(c.body)-1 {
		return
	}
	c.conn.SetWriteDeadline(now.Add(time.Second))
	if _, err := c.conn.Write(c.body[c.sent : c.sent+1]); err != nil {
		c.end(slowReset, now)
		return
	}
	c.sent++
}

// end records the state the connection ended in and closes it.
func (c *slowConn) end(s slowState, now time.Time) {
	c.state, c.after = s, now.Sub(c.opened)
	c.conn.Close()
}

// httpConns counts the TCP connections on the local port that the server holds open: established, or
// closed by the client but not yet by the server (CLOSE_WAIT), from /proc/net/tcp and tcp6.
func httpConns(port int) (int, error) {
	local := fmt.Sprintf(":%04X", port)
	n := 0
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		table, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for line := range strings.Lines(string(table)) {
			// sl local_address rem_address st …; the state is hex: 01 ESTABLISHED, 08 CLOSE_WAIT.
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], local) && (f[3] == "01" || f[3] == "08") {
				n++
			}
		}
	}
	return n, nil
}

// String describes the outcome in one line.
func (o *slowOutcome) String() string {
	s := fmt.Sprintf("%d opened, %d still open, answered %s, %d closed without an answer, %d reset",
		o.Opened, o.Open, o.answered(), o.Closed, o.Reset)
	if o.Failed > 0 {
		s += fmt.Sprintf(", %d failed to open (%s)", o.Failed, o.FirstError)
	}
	return s
}

// answered lists the answers by status, or "none".
func (o *slowOutcome) answered() string {
	if len(o.Answered) == 0 {
		return "none"
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(o.Answered)) {
		parts = append(parts, fmt.Sprintf("%d× %s", o.Answered[code], code))
	}
	return strings.Join(parts, ", ")
}

// rateLabel renders a slow connection's bytes per second as given: 1, 0.5, 2.
func rateLabel(rate float64) string { return strconv.FormatFloat(rate, 'g', -1, 64) }
