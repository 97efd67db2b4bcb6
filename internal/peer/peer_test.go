package peer

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func mustCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = secret
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		want string
	}{
		{"no_node", Options{URLTemplate: "http://{node}:8080", Secret: secret}, "this node"},
		{"bad_node", Options{Node: "a/b", URLTemplate: "http://{node}:8080", Secret: secret}, "this node"},
		{"neither", Options{Node: "a", Secret: secret}, "exactly one"},
		{"both", Options{Node: "a", URLTemplate: "http://{node}", Static: map[string]string{"a": "http://a"}, Secret: secret}, "exactly one"},
		{"template_without_node", Options{Node: "a", URLTemplate: "http://krest:8080", Secret: secret}, "must contain {node}"},
		{"template_scheme", Options{Node: "a", URLTemplate: "ftp://{node}:8080", Secret: secret}, "scheme"},
		{"template_path", Options{Node: "a", URLTemplate: "http://{node}:8080/x", Secret: secret}, "only a scheme"},
		{"static_url", Options{Node: "a", Static: map[string]string{"b": "b:8080"}, Secret: secret}, "node b"},
		{"static_node", Options{Node: "a", Static: map[string]string{"b:1": "http://b:8080"}, Secret: secret}, "static list"},
		{"short_secret", Options{Node: "a", URLTemplate: "http://{node}:8080", Secret: []byte("short")}, "at least 32 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	tmpl := mustCluster(t, Options{Node: "a", URLTemplate: "http://{node}.krest-headless:8080"})
	static := mustCluster(t, Options{Node: "a", Static: map[string]string{"a": "http://10.0.0.1:8080", "b.1": "https://10.0.0.2/"}})
	for _, tt := range []struct {
		name string
		c    *Cluster
		node string
		want string
	}{
		{"template", tmpl, "b_2.x", "http://b_2.x.krest-headless:8080"},
		{"static", static, "b.1", "https://10.0.0.2"},
		{"static_self", static, "a", "http://10.0.0.1:8080"},
		{"static_unknown", static, "c", ""},
		{"template_host_injection", tmpl, "evil.com:80@x", ""},
		{"template_slash", tmpl, "a/b", ""},
		{"template_empty", tmpl, "", ""},
		{"template_too_long", tmpl, strings.Repeat("a", maxNodeBytes+1), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.c.URL(tt.node)
			if tt.want == "" {
				if !errors.Is(err, ErrUnknownNode) {
					t.Fatalf("URL(%q) = %v, %v; want ErrUnknownNode", tt.node, u, err)
				}
				return
			}
			if err != nil || u.String() != tt.want {
				t.Fatalf("URL(%q) = %v, %v; want %s", tt.node, u, err, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	a := mustCluster(t, Options{Node: "a", URLTemplate: "http://{node}:8080"})
	b := mustCluster(t, Options{Node: "b", URLTemplate: "http://{node}:8080"})
	other := mustCluster(t, Options{Node: "a", URLTemplate: "http://{node}:8080", Secret: bytes.Repeat([]byte("x"), 32)})
	now := time.Unix(1_800_000_000, 0)
	const uri = "/consumers/g/instances/rest-consumer-a-1/records?max_bytes=10"
	signed := func(c *Cluster) *fasthttp.RequestHeader {
		var h fasthttp.RequestHeader
		h.SetMethod("GET")
		h.SetRequestURI(uri)
		c.sign(&h, []byte(uri), now)
		return &h
	}
	for _, tt := range []struct {
		name   string
		header func() *fasthttp.RequestHeader
		at     time.Time
		want   error
	}{
		{"valid", func() *fasthttp.RequestHeader { return signed(a) }, now, nil},
		{"valid_within_skew", func() *fasthttp.RequestHeader { return signed(a) }, now.Add(MaxSkew), nil},
		{"stale", func() *fasthttp.RequestHeader { return signed(a) }, now.Add(MaxSkew + time.Second), ErrStale},
		{"future", func() *fasthttp.RequestHeader { return signed(a) }, now.Add(-MaxSkew - time.Second), ErrStale},
		{"other_secret", func() *fasthttp.RequestHeader { return signed(other) }, now, ErrBadSignature},
		{"method_changed", func() *fasthttp.RequestHeader { h := signed(a); h.SetMethod("DELETE"); return h }, now, ErrBadSignature},
		{"path_changed", func() *fasthttp.RequestHeader {
			h := signed(a)
			h.SetRequestURI("/consumers/g/instances/rest-consumer-a-2/records?max_bytes=10")
			return h
		}, now, ErrBadSignature},
		{"query_changed", func() *fasthttp.RequestHeader {
			h := signed(a)
			h.SetRequestURI("/consumers/g/instances/rest-consumer-a-1/records?max_bytes=99")
			return h
		}, now, ErrBadSignature},
		{"node_changed", func() *fasthttp.RequestHeader { h := signed(a); h.Set(HeaderForwardedBy, "c"); return h }, now, ErrBadSignature},
		{"stamp_changed", func() *fasthttp.RequestHeader {
			h := signed(a)
			h.Set(HeaderStamp, "1800000001")
			return h
		}, now, ErrBadSignature},
		{"no_signature", func() *fasthttp.RequestHeader { h := signed(a); h.Del(HeaderSignature); return h }, now, ErrUnsigned},
		{"only_forwarded_by", func() *fasthttp.RequestHeader {
			var h fasthttp.RequestHeader
			h.SetRequestURI(uri)
			h.Set(HeaderForwardedBy, "a")
			return &h
		}, now, ErrUnsigned},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forwarded, err := b.Verify(tt.header(), tt.at)
			if !forwarded || !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, %v; want forwarded, %v", forwarded, err, tt.want)
			}
		})
	}
	t.Run("not_forwarded", func(t *testing.T) {
		var h fasthttp.RequestHeader
		h.SetRequestURI(uri)
		if forwarded, err := b.Verify(&h, now); forwarded || err != nil {
			t.Fatalf("Verify = %v, %v; want not forwarded, nil", forwarded, err)
		}
	})
}

// TestForward forwards over real TCP to a server that verifies the
// request as a receiving node does, and streams its answer back.
func TestForward(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := mustCluster(t, Options{Node: "b", URLTemplate: "http://{node}:8080"})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		forwarded, err := b.Verify(&ctx.Request.Header, time.Now())
		if !forwarded || err != nil {
			ctx.Error("refused: "+err.Error(), 401)
			return
		}
		ctx.Response.Header.Set("X-Seen-Host", string(ctx.Host()))
		ctx.Response.Header.Set("X-Seen-Auth", string(ctx.Request.Header.Peek("Authorization")))
		ctx.SetBodyString(string(ctx.Method()) + " " + string(ctx.RequestURI()) + " " + string(ctx.PostBody()))
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })

	a := mustCluster(t, Options{Node: "a", Static: map[string]string{"b": "http://" + ln.Addr().String()}})
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	const uri = "/consumers/g%2Fx/instances/rest-consumer-b-1/offsets?a=1"
	req.Header.SetMethod("POST")
	req.SetRequestURI(uri)
	req.Header.SetHost("lb.example.com")
	req.Header.Set("Authorization", "Basic dTpw")
	req.SetBodyString(`{"offsets":[]}`)
	if err := a.Forward("b", req, resp); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.BodyStream())
	_ = resp.CloseBodyStream()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode(), body)
	}
	if want := "POST " + uri + ` {"offsets":[]}`; string(body) != want {
		t.Errorf("owner saw %q, want %q", body, want)
	}
	if h := string(resp.Header.Peek("X-Seen-Host")); h != "lb.example.com" {
		t.Errorf("owner saw Host %q, want the caller's", h)
	}
	if h := string(resp.Header.Peek("X-Seen-Auth")); h != "Basic dTpw" {
		t.Errorf("owner saw Authorization %q, want the caller's", h)
	}

	t.Run("unreachable", func(t *testing.T) {
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := dead.Addr().String()
		_ = dead.Close()
		a := mustCluster(t, Options{Node: "a", Static: map[string]string{"gone": "http://" + addr}})
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("/consumers/g/instances/rest-consumer-gone-1")
		if err := a.Forward("gone", req, resp); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("Forward to a closed port: %v, want ErrUnreachable", err)
		}
		if err := a.Forward("nowhere", req, resp); !errors.Is(err, ErrUnknownNode) {
			t.Fatalf("Forward to a node not listed: %v, want ErrUnknownNode", err)
		}
	})
}
