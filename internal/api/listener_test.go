package api

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"krest/internal/certs/certstest"
)

// TestRefusedBodyAnswered sends, 50 times over, headers promising a 2 MB
// body to a server taking 1 MB and goes on writing the body while it
// reads, as HTTP clients do, until the answer has come: the JSON 413 must
// come every time, and no write of the body may fail before it. A client
// whose write is reset before it has read the answer reports the reset
// (Go's Transport does), so a server that closes with the body still
// arriving, and lets the kernel reset the connection for the unread
// bytes, loses its answer. Over HTTPS, the close sends TLS's close_notify
// first.
func TestRefusedBodyAnswered(t *testing.T) {
	ca := certstest.NewCA(t)
	server := ca.Issue(t, "krest").TLS(t)
	for _, tt := range []struct {
		name string
		tls  bool
	}{
		{"http", false},
		{"https", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Limits: Limits{MaxBodyBytes: 1 << 20}, Topic: "messages"}
			dial := func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 5*time.Second) }
			if tt.tls {
				opts.TLS = &tls.Config{Certificates: []tls.Certificate{server}}
				client := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
				dial = func(addr string) (net.Conn, error) {
					return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, client)
				}
			}
			addr := strings.TrimPrefix(serve(t, opts), "http://")
			for i := range 50 {
				conn, err := dial(addr)
				if err != nil {
					t.Fatal(err)
				}
				status, answer, err := sendRefusedBody(conn, 2<<20)
				conn.Close()
				if err != nil {
					t.Fatalf("attempt %d: %v", i, err)
				}
				var e errorBody
				if err := json.Unmarshal(answer, &e); err != nil || status != http.StatusRequestEntityTooLarge || e.ErrorCode != codeBodyTooLarge {
					t.Fatalf("attempt %d: got %d %q, want 413 with error_code %d", i, status, answer, codeBodyTooLarge)
				}
			}
		})
	}
}

// sendRefusedBody writes a produce request of a size-byte body on conn in
// chunks while it reads the answer, until the answer has come or the body
// is written, and returns the answer's status and body. A write that fails
// before the answer came is an error.
func sendRefusedBody(conn net.Conn, size int) (int, []byte, error) {
	const chunk = 32 << 10
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	answered := make(chan struct{})
	var status int
	var answer []byte
	var readErr error
	go func() {
		defer close(answered)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			status = resp.StatusCode
			answer, err = io.ReadAll(resp.Body)
		}
		readErr = err
	}()
	_, err := fmt.Fprintf(conn, "POST /api/messages HTTP/1.1\r\nHost: krest\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\n\r\n", size)
	body := []byte(strings.Repeat("x", chunk))
	for sent := 0; err == nil && sent < size; sent += chunk {
		select {
		case <-answered:
			sent = size
		default:
			_, err = conn.Write(body)
		}
	}
	if err != nil {
		conn.Close()
		<-answered
		return 0, nil, fmt.Errorf("writing the body before the answer came: %w", err)
	}
	<-answered
	if readErr != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", readErr)
	}
	return status, answer, nil
}

// TestLingeringHoldsItsPlace refuses a body over the limit to a client
// that sends its start and then neither sends nor closes: while the connection lingers it
// keeps its place under the connection cap, so a new connection is
// refused, and it gives the place up on its own, the client still silent.
func TestLingeringHoldsItsPlace(t *testing.T) {
	url := serve(t, Options{Limits: Limits{MaxBodyBytes: 1 << 10, MaxConns: 1}, Topic: "messages"})
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "POST /api/messages HTTP/1.1\r\nHost: krest\r\nContent-Type: application/json\r\n"+
		"Content-Length: 1048576\r\n\r\n"+strings.Repeat("x", 2<<10)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if a := sendRaw(t, url, "GET /healthz HTTP/1.1\r\nHost: krest\r\n\r\n"); a.status != http.StatusServiceUnavailable {
		t.Errorf("a connection beside the lingering one: %d %+v, want 503", a.status, a.body)
	}
	waitHealthy(t, url, "while the refused client stays silent")
}
