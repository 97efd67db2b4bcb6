package api

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"krest/internal/auth"
	"krest/internal/auth/authtest"
	"krest/internal/certs/certstest"
	"krest/internal/metrics"
)

// securedEnv is a proxyEnv whose callers log in with Basic (alice, bob and
// admin, each with password "pw") and are authorized by policy.
func securedEnv(t *testing.T, policy string, opts ...func(*Options)) *proxyEnv {
	t.Helper()
	return newProxyEnv(t, append([]func(*Options){secured(t, policy)}, opts...)...)
}

// secured sets the security of securedEnv on a server's options.
func secured(t *testing.T, policy string) func(*Options) {
	t.Helper()
	basic, err := auth.NewBasic(auth.BasicOptions{File: authtest.UsersFile(t, "alice", "pw", "bob", "pw", "admin", "pw"), ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { basic.Close() })
	path := filepath.Join(t.TempDir(), "authz.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	az, err := auth.NewAuthorizer(auth.AuthorizerOptions{File: path, ReloadInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { az.Close() })
	return func(o *Options) { o.Security.Basic, o.Security.Authorizer = basic, az }
}

func basicHeader(user string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pw"))}
}

// samplePath fills a route's pattern with values its wildcards accept.
func samplePath(pattern string) string {
	for name, v := range map[string]string{"cluster_id": "kfake", "topic_name": "t", "partition_id": "0", "broker_id": "0",
		"name": "retention.ms", "consumer_group_id": "g", "consumer_id": "c"} {
		pattern = strings.ReplaceAll(pattern, "{"+name+"}", v)
	}
	return pattern
}

// TestEveryRouteDenied sends every route of the table, as a principal with
// no rules, a request it would otherwise serve: each is 403 (40301), but
// krest's own health and document routes, which name no Kafka resource.
func TestEveryRouteDenied(t *testing.T) {
	e := securedEnv(t, "superusers: [User:admin]\nrules: []\n")
	e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"t","partitions_count":1}`, basicHeader("admin")...)
	bodies := map[string]string{
		"POST /api/messages":                                         `{"id":"1","content":"x"}`,
		"POST /topics/{topic_name}":                                  `{"records":[{"value":1}]}`,
		"POST /topics/{topic_name}/partitions/{partition_id}":        `{"records":[{"value":1}]}`,
		"POST /v3/clusters/{cluster_id}/topics":                      `{"topic_name":"new"}`,
		"PATCH /v3/clusters/{cluster_id}/topics/{topic_name}":        `{"partitions_count":2}`,
		"POST /v3/clusters/{cluster_id}/topics/{topic_name}/records": `{"value":{"type":"JSON","data":1}}`,
	}
	for _, r := range routes(Options{APIV2: true, APIV3: true, Topic: "t"}, &handlers{}) {
		t.Run(r.label, func(t *testing.T) {
			body := bodies[r.label]
			if body == "" && r.body != bodyNone {
				body = `{}`
			}
			header := basicHeader("alice")
			if r.version == apiV2 && r.method == "POST" {
				header = append(header, "Content-Type", mediaV2JSON)
			}
			got := e.do(t, r.method, samplePath(r.pattern), body, header...)
			if r.resource == resourceServer {
				if got.status == http.StatusForbidden || got.status == http.StatusUnauthorized {
					t.Errorf("%d for krest's own route", got.status)
				}
				return
			}
			if got.status != http.StatusForbidden || errorCode(t, got) != codeNotAuthorized {
				t.Errorf("status %d: %s", got.status, got.body)
			}
		})
	}
}

// TestAuthentication checks each way in with valid, invalid and missing
// credentials: 401 (40101) with WWW-Authenticate when not valid.
func TestAuthentication(t *testing.T) {
	issuer := authtest.NewIssuer(t)
	bearer, err := auth.NewBearer(t.Context(), auth.BearerOptions{Issuer: issuer.URL(), Audience: "krest"})
	if err != nil {
		t.Fatal(err)
	}
	e := securedEnv(t, "superusers: [User:alice, User:carol]\nrules: []\n", func(o *Options) { o.Security.Bearer = bearer })
	good := issuer.Token(t, "carol", "krest", nil)
	for _, tt := range []struct {
		name   string
		header []string
		status int
	}{
		{"basic", basicHeader("alice"), 200},
		{"basic, wrong password", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:nope"))}, 401},
		{"basic, malformed", []string{"Authorization", "Basic %%%"}, 401},
		{"bearer", []string{"Authorization", "Bearer " + good}, 200},
		{"bearer, wrong audience", []string{"Authorization", "Bearer " + issuer.Token(t, "carol", "other", nil)}, 401},
		{"bearer, expired", []string{"Authorization", "Bearer " + issuer.Token(t, "carol", "krest", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})}, 401},
		{"bearer, garbage", []string{"Authorization", "Bearer not.a.token"}, 401},
		{"another scheme", []string{"Authorization", "Digest x"}, 401},
		{"missing", nil, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", "/v3/clusters/kfake/topics", "", tt.header...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 401 {
				if errorCode(t, r) != codeUnauthenticated || len(r.header.Values("WWW-Authenticate")) != 2 {
					t.Errorf("401 %s with WWW-Authenticate %q", r.body, r.header.Values("WWW-Authenticate"))
				}
			}
		})
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.do(t, "GET", path, ""); r.status == 401 {
			t.Errorf("%s needs credentials", path)
		}
	}
	if r := e.do(t, "GET", "/metrics", ""); r.status != 401 {
		t.Errorf("/metrics without credentials: %d", r.status)
	}
}

// TestClientCertificateLogin serves HTTPS with client certificates
// verified and named by their CN: a client with one logs in as its CN, one
// without gets 401.
func TestClientCertificateLogin(t *testing.T) {
	ca := certstest.NewCA(t)
	mtls, err := auth.NewMTLS(auth.MTLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	server := ca.Issue(t, "krest").TLS(t)
	e := securedEnv(t, "superusers: [User:svc]\nrules: []\n", func(o *Options) {
		o.Security.MTLS = mtls
		o.TLS = &tls.Config{Certificates: []tls.Certificate{server}, ClientCAs: ca.Pool(), ClientAuth: tls.VerifyClientCertIfGiven}
	})
	url := strings.Replace(e.url, "http://", "https://", 1)
	for _, tt := range []struct {
		name   string
		certs  []tls.Certificate
		status int
	}{
		{"svc", []tls.Certificate{ca.Issue(t, "svc").TLS(t)}, 200},
		{"eve, no rules", []tls.Certificate{ca.Issue(t, "eve").TLS(t)}, 403},
		{"no certificate", nil, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: tt.certs}}}
			resp, err := cl.Get(url + "/v3/clusters/kfake/topics")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// TestAuthorization checks rules: alice may write and describe topics
// starting with "a" and nothing else; listings show her only those; a
// denied create, delete or describe is 403, not 404; and each
// state-changing call leaves an audit line.
func TestAuthorization(t *testing.T) {
	logs := &syncBuffer{}
	e := securedEnv(t, `superusers: [User:admin]
rules:
  - {principal: User:alice, permission: allow, resource: topic, pattern: prefixed, name: a, operations: [write, describe]}
  - {principal: User:alice, permission: deny, resource: topic, pattern: literal, name: a-secret, operations: [all]}
`, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	for _, name := range []string{"a1", "a-secret", "b1"} {
		e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"`+name+`","partitions_count":1}`, basicHeader("admin")...)
	}
	alice := basicHeader("alice")
	for _, tt := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v3/clusters/kfake/topics/a1/records", `{"value":{"type":"JSON","data":1}}`, 200},
		{"POST", "/v3/clusters/kfake/topics/b1/records", `{"value":{"type":"JSON","data":1}}`, 403},
		{"POST", "/v3/clusters/kfake/topics/a-secret/records", `{"value":{"type":"JSON","data":1}}`, 403},
		{"GET", "/v3/clusters/kfake/topics/a1", "", 200},
		{"GET", "/v3/clusters/kfake/topics/b1", "", 403},
		{"GET", "/v3/clusters/kfake/topics/nope", "", 403}, // no rule: 403, whether it exists or not
		{"POST", "/v3/clusters/kfake/topics", `{"topic_name":"a2"}`, 403},
		{"DELETE", "/v3/clusters/kfake/topics/a1", "", 403},
		{"POST", "/v3/clusters/kfake/topics/a1/configs:alter", `{"data":[{"name":"retention.ms","value":"1"}]}`, 403},
	} {
		r := e.do(t, tt.method, tt.path, tt.body, alice...)
		if r.status != tt.status {
			t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, r.status, tt.status, r.body)
		}
	}
	var list struct {
		Data []struct {
			TopicName string `json:"topic_name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(e.mustDo(t, http.StatusOK, "GET", "/v3/clusters/kfake/topics", "", alice...).body, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list.Data {
		names = append(names, d.TopicName)
	}
	if !slices.Equal(names, []string{"a1"}) {
		t.Errorf("alice's listing shows %v, want only a1", names)
	}
	var v2 []string
	if err := json.Unmarshal(e.mustDo(t, http.StatusOK, "GET", "/topics", "", alice...).body, &v2); err != nil || !slices.Equal(v2, []string{"a1"}) {
		t.Errorf("alice's v2 listing shows %v (%v)", v2, err)
	}
	e.mustDo(t, http.StatusNoContent, "DELETE", "/v3/clusters/kfake/topics/b1", "", basicHeader("admin")...)
	for _, want := range []string{`msg=audit principal=User:admin route="DELETE /v3/clusters/{cluster_id}/topics/{topic_name}" resource=topic name=b1 status=204`,
		`msg=audit principal=User:alice route="POST /v3/clusters/{cluster_id}/topics" resource=topic name=a2 status=403`,
		`msg=audit principal=User:admin route="POST /v3/clusters/{cluster_id}/topics" resource=topic name=a1 status=201`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no audit line %s", want)
		}
	}
	if strings.Contains(logs.String(), "cHc") || strings.Contains(logs.String(), "Basic ") {
		t.Error("credentials in the log")
	}
}

// TestRateLimit checks a principal's rate limit: past its burst, 429 with
// Retry-After, and other principals unaffected; requests are counted by
// principal under a bounded label.
func TestRateLimit(t *testing.T) {
	lim, err := auth.NewLimiter(auth.LimiterOptions{Rate: 0.1, Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	labels, err := auth.NewLabeler(1)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	e := securedEnv(t, "superusers: [User:alice, User:bob]\n", func(o *Options) {
		o.Security.Limiter, o.Security.Labeler, o.Metrics = lim, labels, m
	})
	for i := range 3 {
		r := e.do(t, "GET", "/v3/clusters/kfake/topics", "", basicHeader("alice")...)
		switch {
		case i < 2 && r.status != 200:
			t.Fatalf("request %d: %d", i, r.status)
		case i == 2 && (r.status != 429 || r.header.Get("Retry-After") == ""):
			t.Fatalf("past the burst: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
	}
	e.mustDo(t, 200, "GET", "/v3/clusters/kfake/topics", "", basicHeader("bob")...)
	var text bytes.Buffer
	if err := m.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ // one principal keeps its label, the next is "other"
		`krest_principal_requests_total{outcome="rate_limited",principal="User:alice"} 1`,
		`krest_principal_requests_total{outcome="served",principal="User:alice"} 2`,
		`krest_principal_requests_total{outcome="served",principal="other"} 1`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestCrossOrigin checks that a browser's state-changing request from
// another origin is refused, and one from an allowed origin or the same
// origin is served.
func TestCrossOrigin(t *testing.T) {
	e := newProxyEnv(t, func(o *Options) { o.Security.AllowedOrigins = []string{"https://console.example.com"} })
	e.mustDo(t, http.StatusCreated, "POST", "/v3/clusters/kfake/topics", `{"topic_name":"one","partitions_count":1}`)
	rec := `{"value":{"type":"JSON","data":1}}`
	for _, tt := range []struct {
		name   string
		header []string
		status int
	}{
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example.com"}, 403},
		{"origin only", []string{"Origin", "https://evil.example.com"}, 403},
		{"allowed origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://console.example.com"}, 200},
		{"same origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://krest"}, 200},
		{"not a browser", nil, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.do(t, "POST", v3Records, rec, tt.header...); r.status != tt.status {
				t.Errorf("status %d, want %d: %s", r.status, tt.status, bytes.TrimSpace(r.body))
			}
		})
	}
}
