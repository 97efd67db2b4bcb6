package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"krest/internal/kafkatest"
	"krest/internal/metrics"
)

// rawAnswer is an answer read off a raw connection.
type rawAnswer struct {
	status int
	header http.Header
	body   errorBody
}

// sendRaw writes req as it is on a new connection to url's host and reads
// one answer, which must be a JSON error body.
func sendRaw(t *testing.T, url, req string) rawAnswer {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	defer resp.Body.Close()
	var a rawAnswer
	a.status, a.header = resp.StatusCode, resp.Header
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("answer %d %q is not a JSON error: %v", a.status, b, err)
	}
	return a
}

// TestHostileRequests sends malformed and ambiguous requests on raw
// connections: each gets a JSON 4xx, and a body over the limit is refused
// before the client sends it.
func TestHostileRequests(t *testing.T) {
	url := serve(t, Options{Limits: Limits{MaxBodyBytes: 1 << 10, MaxHeaderBytes: 4 << 10}, Topic: "messages"})
	const post = "POST /api/messages HTTP/1.1\r\nHost: krest\r\nContent-Type: application/json\r\n"
	for _, tt := range []struct {
		name, req string
		status    int
	}{
		{"content length and chunked", post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"two content lengths", post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
		{"gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400},
		{"transfer encoding twice", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"bad content length", post + "Content-Length: 1x\r\n\r\n{}", 400},
		{"not HTTP", "HELLO\r\n\r\n", 400},
		{"headers too large", post + "X-Big: " + strings.Repeat("a", 5<<10) + "\r\nContent-Length: 2\r\n\r\n{}", 431},
		{"body over the limit", post + fmt.Sprintf("Content-Length: %d\r\n\r\n", 2<<10) + strings.Repeat(" ", 2<<10), 413},
		// The body is never sent: the answer must come without it.
		{"100-continue over the limit", post + "Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n", 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := sendRaw(t, url, tt.req)
			if a.status != tt.status || a.body.ErrorCode == 0 || a.body.Message == "" {
				t.Errorf("got %d %+v, want %d with a JSON error", a.status, a.body, tt.status)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

// TestSlowBodiesHoldNoSlot opens more connections than the in-flight
// limit, each sending its body a few bytes at a time: requests whose body
// has arrived are still served, since a request takes its slot only once
// its body is read.
func TestSlowBodiesHoldNoSlot(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.Limits.MaxInFlight = 4; o.Topic = "messages" })
	e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"messages","partitions_count":1}`)
	host := strings.TrimPrefix(e.url, "http://")
	for range 20 {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		// 10 KB promised, 10 bytes sent: the body is still arriving.
		if _, err := io.WriteString(conn, "POST /api/messages HTTP/1.1\r\nHost: krest\r\nContent-Type: application/json\r\n"+
			"Content-Length: 10000\r\n\r\n{\"id\":\"sl"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		r := e.do(t, "POST", "/api/messages", fmt.Sprintf(`{"id":"%d","content":"x"}`, i))
		if r.status != http.StatusCreated {
			t.Fatalf("request %d beside the slow bodies: %d %s", i, r.status, r.body)
		}
	}
}

// TestConnectionCaps checks that connections past the server's cap, and
// past the per-address cap, get a JSON 503 and are closed, and that a
// freed place can be taken again.
func TestConnectionCaps(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limits Limits
	}{
		{"server", Limits{MaxConns: 3}},
		{"per address", Limits{MaxConns: 100, MaxConnsPerAddr: 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, Options{Limits: tt.limits})
			host := strings.TrimPrefix(url, "http://")
			var open []net.Conn
			for range 3 {
				conn, err := net.Dial("tcp", host)
				if err != nil {
					t.Fatal(err)
				}
				open = append(open, conn)
				// A request answered proves the connection was accepted.
				fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: krest\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("connection within the cap: %v %v", resp, err)
				}
				resp.Body.Close()
			}
			a := sendRaw(t, url, "GET /healthz HTTP/1.1\r\nHost: krest\r\n\r\n")
			if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
				t.Errorf("connection over the cap: %d %v %+v", a.status, a.header, a.body)
			}
			open[0].Close()
			waitHealthy(t, url, "after a place was freed")
			for _, c := range open[1:] {
				c.Close()
			}
		})
	}
}

// TestRequestID checks that a caller's X-Request-Id is echoed when it is
// reasonable, and replaced when it is too long or not visible ASCII.
func TestRequestID(t *testing.T) {
	url := serve(t, Options{})
	for _, tt := range []struct {
		name, id string
		echoed   bool
	}{
		{"echoed", "abc-123", true},
		{"too long", strings.Repeat("a", 129), false},
		{"spaces", "a b", false},
		{"none", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", url+"/healthz", nil)
			if tt.id != "" {
				req.Header.Set("X-Request-Id", tt.id)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("X-Request-Id")
			if (got == tt.id) != tt.echoed || got == "" || len(got) > maxRequestIDBytes {
				t.Errorf("X-Request-Id %q for %q", got, tt.id)
			}
		})
	}
}

// TestLinks checks that the links of answers start with the advertised
// URL when one is set, else with the Host header; a malformed Host header
// is refused.
func TestLinks(t *testing.T) {
	e := newProxyEnv(t)
	adv := newProxyEnv(t, func(o *Options) { o.AdvertisedURL = "https://rest.example.com/kafka/" })
	for _, tt := range []struct {
		name string
		env  *proxyEnv
		host string
		want string
	}{
		{"host header", e, "gateway.example.com:8082", "http://gateway.example.com:8082/v3/clusters"},
		{"bad host header", e, "evil.example.com/x?y=", ""}, // refused: 400
		{"advertised", adv, "gateway.example.com", "https://rest.example.com/kafka/v3/clusters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(tt.env.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /v3/clusters HTTP/1.1\r\nHost: %s\r\n\r\n", tt.host)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.want == "" {
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("status %d, want 400", resp.StatusCode)
				}
				return
			}
			var l struct {
				Metadata struct{ Self string } `json:"metadata"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(l.Metadata.Self, tt.want) || strings.Contains(l.Metadata.Self, "evil") {
				t.Errorf("self %q, want %q", l.Metadata.Self, tt.want)
			}
		})
	}
}

// TestStreams checks the stream cap, and that a shutdown ends an open
// stream with a last report saying so, after the reports of every record
// sent before it.
func TestStreams(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.Limits.MaxStreams = 1 })
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	good := `{"value":{"type":"JSON","data":1}}`
	pw, _, sc := openStream(t, ctx, e, v3Records, good)
	if r := nextReport(t, sc); r.ErrorCode != 200 {
		t.Fatalf("first report %+v", r)
	}
	if r := e.do(t, "POST", v3Records, good); r.status != http.StatusTooManyRequests {
		t.Errorf("a second stream past the cap: %d %s", r.status, r.body)
	}
	if _, err := io.WriteString(pw, good); err != nil {
		t.Fatal(err)
	}
	if r := nextReport(t, sc); r.ErrorCode != 200 {
		t.Fatalf("second report %+v", r)
	}
	shut := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- e.srv.Shutdown(sctx)
	}()
	if r := nextReport(t, sc); r.ErrorCode != http.StatusServiceUnavailable || !strings.Contains(r.Message, "shutting down") {
		t.Errorf("last report %+v, want the shutdown's", r)
	}
	if sc.Scan() {
		t.Errorf("a report after the last: %s", sc.Bytes())
	}
	if err := <-shut; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// syncBuffer is a log output tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerErrorsLogged checks that a 5xx is logged with its request id
// and its cause, and that a client gone mid-stream is counted as gone
// (499), not as a server error.
func TestServerErrorsLogged(t *testing.T) {
	logs := &syncBuffer{}
	m := metrics.New()
	e := newProxyEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		o.Metrics = m
	})
	e.mustDo(t, http.StatusCreated, "POST", v3Topics, `{"topic_name":"one","partitions_count":1}`)

	// A client that sends a record and goes away.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: krest\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", v3Records)
	rec := `{"value":{"type":"JSON","data":1}}`
	fmt.Fprintf(conn, "%x\r\n%s\r\n", len(rec), rec)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	conn.Close()

	e.fake.Stop(t)
	r := e.do(t, "GET", "/v3/clusters/kfake/topics", "", "X-Request-Id", "req-42")
	if r.status < 500 {
		t.Fatalf("with the broker down: %d %s", r.status, r.body)
	}
	kafkatest.WaitFor(t, 10*time.Second, func() error {
		l := logs.String()
		if !strings.Contains(l, "request_id=req-42") || !strings.Contains(l, "level=WARN") || !strings.Contains(l, "cause=") {
			return fmt.Errorf("no 5xx line with the request id and a cause in:\n%s", l)
		}
		var text bytes.Buffer
		if err := m.WriteText(&text); err != nil {
			return err
		}
		if !strings.Contains(text.String(), `code="499",method="POST",route="POST /v3/clusters/{cluster_id}/topics/{topic_name}/records"`) {
			return fmt.Errorf("the gone stream is not counted as 499")
		}
		return nil
	})
	if strings.Contains(logs.String(), `status=500`) {
		t.Errorf("a 500 was logged:\n%s", logs)
	}
}

// waitHealthy polls until url's /healthz answers 200, within 5 s, failing
// with when in the message.
func waitHealthy(t *testing.T, url, when string) {
	t.Helper()
	kafkatest.WaitFor(t, 5*time.Second, func() error {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d %s", resp.StatusCode, when)
		}
		return nil
	})
}
