package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"krest/internal/peer"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testNode is one krest API server of a test cluster, serving a test
// instance route, GET and POST /test/instances/{instance}, whose instance
// "x-<node>" is owned by <node>.
type testNode struct {
	url    string
	served atomic.Int64 // requests its instance handler ran
	logs   *syncBuffer
}

// seenByOwner is what the test instance route answers: what the node
// that served it saw.
type seenByOwner struct {
	Node, Base, Auth, Body, RequestID string
	Forwarded                         bool
}

// startNodes starts a node for each name, each with a peer.Cluster of
// secret listing every node, and extra (node names to URLs) besides.
func startNodes(t *testing.T, secret []byte, extra map[string]string, names ...string) map[string]*testNode {
	t.Helper()
	urls := map[string]string{}
	lns := map[string]net.Listener{}
	for _, n := range names {
		lns[n] = listen(t)
		urls[n] = "http://" + lns[n].Addr().String()
	}
	for n, u := range extra {
		urls[n] = u
	}
	nodes := map[string]*testNode{}
	for _, n := range names {
		node := &testNode{url: urls[n], logs: &syncBuffer{}}
		cl, err := peer.New(peer.Options{Node: n, Static: urls, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		s := newTestServer(t, Options{
			Logger: slog.New(slog.NewTextHandler(node.logs, nil)),
			Peers: Peers{Cluster: cl, OwnerOf: func(_, id string) (string, bool) {
				owner, ok := strings.CutPrefix(id, "x-")
				return owner, ok
			}},
		})
		serveInstance := func(c *call) (int, any, error) {
			node.served.Add(1)
			return http.StatusOK, seenByOwner{Node: n, Base: c.baseURL(), Auth: c.header("Authorization"), Body: string(c.body),
				RequestID: c.header("X-Request-Id"), Forwarded: c.forwarded}, nil
		}
		for m, body := range map[string]bodyMode{"GET": bodyNone, "POST": bodyWhole} {
			r := &route{method: m, pattern: "/test/instances/{instance}", resource: resourceServer, op: opDescribe,
				handle: serveInstance, body: body, instance: true}
			r.init()
			s.router.add(r)
		}
		serveOn(t, s, lns[n])
		nodes[n] = node
	}
	return nodes
}

// TestForward sends requests for instances to every node: each is served
// by its instance's owner, once, as the caller sent it.
func TestForward(t *testing.T) {
	nodes := startNodes(t, testSecret, nil, "a", "b")
	for _, tt := range []struct {
		name, method, via, instance, body, owner string
		forwarded                                bool
	}{
		{name: "local", method: "GET", via: "a", instance: "x-a", owner: "a"},
		{name: "forwarded", method: "GET", via: "a", instance: "x-b", owner: "b", forwarded: true},
		{name: "forwarded_body", method: "POST", via: "b", instance: "x-a", body: `{"topics":["t"]}`, owner: "a", forwarded: true},
		{name: "no_owner_named", method: "GET", via: "b", instance: "chosen", owner: "b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := nodes[tt.owner].served.Load()
			req, _ := http.NewRequest(tt.method, nodes[tt.via].url+"/test/instances/"+tt.instance, strings.NewReader(tt.body))
			req.Host = "lb.example.com:8082"
			req.Header.Set("Authorization", "Bearer caller-token")
			req.Header.Set("X-Request-Id", "req-"+tt.name)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var seen seenByOwner
			if err := json.NewDecoder(resp.Body).Decode(&seen); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, %v", resp.StatusCode, err)
			}
			want := seenByOwner{Node: tt.owner, Base: "http://lb.example.com:8082", Auth: "Bearer caller-token", Body: tt.body,
				RequestID: "req-" + tt.name, Forwarded: tt.forwarded}
			if seen != want {
				t.Errorf("owner saw %+v\nwant %+v", seen, want)
			}
			if got := resp.Header.Get("X-Request-Id"); got != "req-"+tt.name {
				t.Errorf("X-Request-Id %q, want the caller's", got)
			}
			if n := nodes[tt.owner].served.Load() - before; n != 1 {
				t.Errorf("owner served it %d times, want once", n)
			}
		})
	}
}

// TestForwardRefused checks the forwarded requests a node does not act
// on: signed with another secret (401), for an instance it does not own
// (40403, not forwarded again), and for an owner that is gone (40403,
// logged).
func TestForwardRefused(t *testing.T) {
	dead := listen(t)
	deadURL := "http://" + dead.Addr().String()
	_ = dead.Close()
	nodes := startNodes(t, testSecret, map[string]string{"dead": deadURL}, "a", "b", "c")
	forward := func(t *testing.T, secret []byte, to, instance string) (int, []byte) {
		t.Helper()
		cl, err := peer.New(peer.Options{Node: "a", Static: map[string]string{to: nodes[to].url}, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("/test/instances/" + instance)
		req.Header.SetHost("lb.example.com")
		if err := cl.Forward(to, req, resp); err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.BodyStream())
		_ = resp.CloseBodyStream()
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), body
	}
	served := func() int64 { return nodes["a"].served.Load() + nodes["b"].served.Load() + nodes["c"].served.Load() }

	t.Run("forged", func(t *testing.T) {
		before := served()
		status, body := forward(t, []byte("another secret, also 32 bytes long"), "b", "x-b")
		if status != http.StatusUnauthorized || !strings.Contains(string(body), "40101") {
			t.Errorf("forged: %d %s, want 401", status, body)
		}
		if served() != before {
			t.Error("a forged request was acted on")
		}
	})
	t.Run("unsigned_claim", func(t *testing.T) {
		req, _ := http.NewRequest("GET", nodes["b"].url+"/test/instances/x-b", nil)
		req.Header.Set(peer.HeaderForwardedBy, "a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a forwarded claim without signature: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("not_the_owner", func(t *testing.T) {
		before := nodes["c"].served.Load()
		status, body := forward(t, testSecret, "b", "x-c")
		if status != http.StatusNotFound || !strings.Contains(string(body), `"error_code":40403`) {
			t.Errorf("forwarded to a non-owner: %d %s, want 40403", status, body)
		}
		if nodes["c"].served.Load() != before {
			t.Error("a forwarded request was forwarded again")
		}
	})
	t.Run("owner_gone", func(t *testing.T) {
		resp, err := http.Get(nodes["a"].url + "/test/instances/x-dead")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"error_code":40403`) ||
			!strings.Contains(string(body), "Consumer instance not found") {
			t.Errorf("owner gone: %d %s, want 40403", resp.StatusCode, body)
		}
		if logs := nodes["a"].logs.String(); !strings.Contains(logs, "owner unreachable") || !strings.Contains(logs, "node=dead") {
			t.Errorf("the cause is not logged:\n%s", logs)
		}
	})
}
