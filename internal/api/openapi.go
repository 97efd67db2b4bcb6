package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"go.yaml.in/yaml/v4"
)

// openapiYAML is krest's own OpenAPI 3.1 document: every route routes.go
// registers, and nothing else (openapi_test.go checks both ways). Add a
// route's entry there when adding the route.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openapiJSON is openapiYAML as JSON, converted once at start.
var openapiJSON = func() []byte {
	b, err := yamlToJSON(openapiYAML)
	if err != nil {
		panic("internal/api/openapi.yaml: " + err.Error()) // the embedded document is checked by tests
	}
	return b
}()

// yamlToJSON converts a YAML document whose mapping keys are strings to
// JSON.
func yamlToJSON(y []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("document is a %T, not a mapping", v)
	}
	return json.Marshal(v)
}

// handleOpenAPI serves doc, krest's OpenAPI document, as contentType.
func handleOpenAPI(doc []byte, contentType string) handler {
	return func(c *call) (int, any, error) {
		c.fctx.SetContentType(contentType)
		c.fctx.SetStatusCode(http.StatusOK)
		c.fctx.Response.SetBodyRaw(doc) // doc lives as long as the process
		return answered, nil, nil
	}
}
