package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// registeredRoutes returns "METHOD /path" for every route of the table with both REST Proxy versions on, paths in OpenAPI form.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	var routes []string
	for _, p := range routeLabels(Options{APIV2: true, APIV3: true}) {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Fatalf("route %q has no method", p)
		}
		routes = append(routes, method+" "+path)
	}
	return routes
}

// loadKrestSpec loads and validates krest's embedded OpenAPI document.
func loadKrestSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// documented returns "METHOD /path" for every operation of doc, with
// prefix before each path.
func documented(doc *openapi3.T, prefix string) []string {
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+prefix+path)
		}
	}
	sort.Strings(ops)
	return ops
}

// TestOpenAPIMatchesRoutes fails for a route without an entry in
// openapi.yaml, and for an entry without a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	routes := registeredRoutes(t)
	ops := documented(loadKrestSpec(t), "")
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			t.Errorf("route %s has no entry in openapi.yaml", r)
		}
	}
	for _, op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("openapi.yaml documents %s, which no route serves", op)
		}
	}
	if len(routes) != len(ops) {
		t.Errorf("%d routes, %d documented operations", len(routes), len(ops))
	}
}

// TestOpenAPIServed checks that the document is served as YAML, as is, and
// as the equivalent JSON.
func TestOpenAPIServed(t *testing.T) {
	url := serve(t, Options{Limits: Limits{MaxInFlight: 1}})
	get := func(path, wantType string) []byte {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wantType {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return b
	}
	if y := get("/openapi.yaml", "application/yaml"); !bytes.Equal(y, openapiYAML) {
		t.Error("GET /openapi.yaml is not openapi.yaml")
	}
	fromJSON, err := openapi3.NewLoader().LoadFromData(get("/openapi.json", "application/json"))
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(loadKrestSpec(t))
	if !bytes.Equal(a, b) {
		t.Error("GET /openapi.json is not the document openapi.yaml is")
	}
}

// ---- validating answers against OpenAPI documents ----

// specChecker validates requests and answers against an OpenAPI document.
type specChecker struct {
	doc    *openapi3.T
	router routers.Router
}

// newSpecChecker routes doc's paths as served under prefix, the part of
// krest's paths the document's paths leave out.
func newSpecChecker(t *testing.T, doc *openapi3.T, prefix string) *specChecker {
	t.Helper()
	doc.Servers = openapi3.Servers{{URL: "http://krest" + prefix}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{doc: doc, router: router}
}

// check validates the request (method, path, body) and its answer r. It
// returns the document's "METHOD /path" of the operation, or an error. An
// error answer with a status the operation does not list is checked against
// the document's Error schema: upstream lists no 404 on its operations, yet
// answers them.
func (s *specChecker) check(method, path, body string, r reply) (string, error) {
	req := httptest.NewRequest(method, "http://krest"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return "", err
	}
	op := method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if r.status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			return op, err
		}
	}
	if r.status >= 400 && route.Operation.Responses.Status(r.status) == nil && route.Operation.Responses.Default() == nil {
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			return op, err
		}
		return op, s.doc.Components.Schemas["Error"].Value.VisitJSON(v)
	}
	return op, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

// upstreamSpecPath finds confluent-rest-v3-openapi.yaml in the shared
// directory next to the repository, walking up from the package.
func upstreamSpecPath() (string, error) {
	dir, err := filepath.Abs(".")
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "specs", "confluent-rest-v3-openapi.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no shared/specs/confluent-rest-v3-openapi.yaml in any parent directory")
		}
		dir = parent
	}
}

// loadUpstreamSpec loads upstream's API v3 document, or returns nil when it
// is absent. It mends, in memory, the one schema defect that keeps a
// validator from using it: PartitionWithOffsetsData's offsets are typed
// "int64", which is a format, not a JSON Schema type.
func loadUpstreamSpec(t *testing.T) *openapi3.T {
	t.Helper()
	path, err := upstreamSpecPath()
	if err != nil {
		return nil
	}
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for name, ref := range doc.Components.Schemas {
		mendInt64(t, name, ref.Value, map[*openapi3.Schema]bool{})
	}
	return doc
}

// mendInt64 rewrites type "int64" as type integer, format int64, in s and
// the schemas it contains.
func mendInt64(t *testing.T, name string, s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.Type.Is("int64") {
		t.Logf("upstream schema %s: type int64 read as integer/int64", name)
		s.Type, s.Format = &openapi3.Types{openapi3.TypeInteger}, "int64"
	}
	for prop, p := range s.Properties {
		mendInt64(t, name+"."+prop, p.Value, seen)
	}
	for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf) {
		mendInt64(t, name, sub.Value, seen)
	}
	if s.Items != nil {
		mendInt64(t, name+"[]", s.Items.Value, seen)
	}
}

// specs validates the v2 and v3 answers of a test against krest's document
// and, for v3, upstream's; it counts the upstream operations it validated.
type specs struct {
	krest    *specChecker
	upstream *specChecker // nil without ../shared

	mu      sync.Mutex
	covered map[string]bool // upstream "METHOD /path" validated
}

func newSpecs(t *testing.T) *specs {
	t.Helper()
	s := &specs{krest: newSpecChecker(t, loadKrestSpec(t), ""), covered: map[string]bool{}}
	if doc := loadUpstreamSpec(t); doc != nil {
		s.upstream = newSpecChecker(t, doc, "/v3")
	}
	return s
}

// check validates one exchange; v3 paths against both documents.
func (s *specs) check(t *testing.T, method, path, body string, r reply) {
	t.Helper()
	if _, err := s.krest.check(method, path, body, r); err != nil {
		t.Errorf("%s %s: not as openapi.yaml says: %v", method, path, err)
	}
	if s.upstream == nil || !strings.HasPrefix(path, "/v3/") {
		return
	}
	op, err := s.upstream.check(method, path, body, r)
	if err != nil {
		t.Errorf("%s %s: not as upstream's API v3 document says: %v", method, path, err)
		return
	}
	s.mu.Lock()
	s.covered[op] = true
	s.mu.Unlock()
}

// report logs how many of upstream's operations the test validated, or why
// it validated none.
func (s *specs) report(t *testing.T) {
	t.Helper()
	if s.upstream == nil {
		t.Log("upstream check skipped: shared/specs/confluent-rest-v3-openapi.yaml is not next to the repository")
		return
	}
	all := documented(s.upstream.doc, "")
	withID, coveredWithID := 0, 0
	var missing []string
	for _, op := range all {
		method, path, _ := strings.Cut(op, " ")
		hasID := s.upstream.doc.Paths.Value(path).GetOperation(method).OperationID != ""
		if hasID {
			withID++
		}
		switch {
		case !s.covered[op]:
			missing = append(missing, op)
		case hasID:
			coveredWithID++
		}
	}
	t.Logf("validated against upstream's API v3 document: %d of its %d operations (%d of the %d with an operationId); not validated: %s",
		len(s.covered), len(all), coveredWithID, withID, strings.Join(missing, ", "))
}
