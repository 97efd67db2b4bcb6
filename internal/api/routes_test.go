package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRouteTable fails for a row that does not say what it touches: every
// route names a resource and an operation, a topic or group route names
// the path value (or body field) naming it, and patterns are unique.
func TestRouteTable(t *testing.T) {
	ops := []operation{opRead, opWrite, opCreate, opDelete, opAlter, opDescribe, opAlterConfigs, opDescribeConfigs}
	seen := map[string]bool{}
	for _, r := range routes(Options{APIV2: true, APIV3: true, Topic: "messages"}, &handlers{}) {
		switch {
		case r.resource != resourceTopic && r.resource != resourceGroup && r.resource != resourceCluster && r.resource != resourceServer:
			t.Errorf("%s: resource %q", r.label, r.resource)
		case !slices.Contains(ops, r.op):
			t.Errorf("%s: operation %q", r.label, r.op)
		case r.handle == nil:
			t.Errorf("%s: no handler", r.label)
		case (r.resource == resourceTopic || r.resource == resourceGroup) && r.name == "" && !r.listing && !r.nameInBody &&
			!slices.Contains(r.params, r.param):
			t.Errorf("%s: the %s it touches is named by %q, which is not in its path", r.label, r.resource, r.param)
		case seen[r.label]:
			t.Errorf("%s: twice in the table", r.label)
		}
		seen[r.label] = true
		if r.body == bodyNone && r.method != http.MethodGet && r.method != http.MethodDelete {
			t.Errorf("%s: a %s route that reads no body", r.label, r.method)
		}
	}
}

// TestUnrouted checks the answers to what no route serves: a JSON 404 for
// an unknown path, a JSON 405 with Allow for a known path and another
// method, and HEAD served as GET.
func TestUnrouted(t *testing.T) {
	e := newProxyEnv(t)
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/v3/clusters/kfake/topics/t/nope", 404, ""},
		{"GET", "/topics/", 404, ""},
		{"PUT", "/api/messages", 405, "POST"},
		{"POST", "/v3/clusters/kfake/topics/t", 405, "GET, HEAD, PATCH, DELETE"},
		{"HEAD", "/healthz", 200, ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, "")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			if got := strings.Join(r.header.Values("Allow"), ", "); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if tt.method != "HEAD" && tt.status >= 400 && r.header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
}
