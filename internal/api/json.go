package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBuffer returns a pooled buffer; large ones are dropped so the
// pool does not pin memory.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufferPool.Put(b)
	}
}

// acceptedTypes yields the media types of Accept header values, in order,
// passing over malformed ranges and those refused with q=0.
func acceptedTypes(accept [][]byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, value := range accept {
			for _, rng := range strings.Split(string(value), ",") {
				mt, params, err := mime.ParseMediaType(rng)
				if err != nil {
					continue
				}
				if q, ok := params["q"]; ok {
					if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
						continue
					}
				}
				if !yield(mt) {
					return
				}
			}
		}
	}
}

// requireJSON accepts application/json and any application/*+json type.
func requireJSON(c *call) error {
	ct := c.fctx.Request.Header.ContentType()
	if string(ct) == "application/json" {
		return nil // the common case, without parsing parameters into a map
	}
	mt, _, err := mime.ParseMediaType(string(ct))
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	name := string(ct)
	if name == "" {
		name = "none"
	}
	return &apiError{http.StatusUnsupportedMediaType, codeUnsupportedMedia,
		fmt.Sprintf("content type %s is not supported; send application/json", name)}
}

// jsonBody returns c's body once its content type is JSON and it is not
// empty: the one check every JSON request body goes through.
func jsonBody(c *call) ([]byte, error) {
	if err := requireJSON(c); err != nil {
		return nil, err
	}
	return nonEmpty(c.body)
}

// nonEmpty fails for a body of nothing but whitespace.
func nonEmpty(body []byte) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &apiError{http.StatusBadRequest, codeEmptyBody, "request body is empty"}
	}
	return body, nil
}

// unmarshalStrict decodes one JSON value from data into v, refusing unknown
// fields and trailing data, and turns decoding errors into 400 answers that
// say what was wrong.
func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{http.StatusBadRequest, codeMalformedJSON, "request body has data after the JSON value"}
	}
	return nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &apiError{http.StatusBadRequest, codeInvalidField,
			fmt.Sprintf("field %s must be a %s, not a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &typeErr):
		return &apiError{http.StatusBadRequest, codeMalformedJSON, "request body must be a JSON object, not a JSON " + typeErr.Value}
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{http.StatusBadRequest, codeMalformedJSON, "request body is not valid JSON: " + err.Error()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &apiError{http.StatusBadRequest, codeInvalidField,
			"unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")}
	}
	return &apiError{http.StatusBadRequest, codeMalformedJSON, "request body is not valid JSON: " + err.Error()}
}

// jsonKind names a Go kind the way JSON users say it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return "number"
}

// rawJSON is an answer body a handler wrote as JSON itself; encode
// sends it as it is, without a copy, after the handler returns: the
// handler gives the buffer up, so it must be its own (not pooled, not
// shared).
type rawJSON []byte

// encode writes v as the JSON answer with the given status, typed
// application/json unless the route already set a JSON type of its own.
func encode(c *call, status int, v any) {
	fctx := c.fctx
	if len(fctx.Response.Header.ContentType()) == 0 {
		fctx.SetContentType("application/json")
	}
	fctx.SetStatusCode(status)
	if raw, ok := v.(rawJSON); ok {
		fctx.Response.SetBodyRaw(append(raw, '\n'))
		return
	}
	// A value of krest's own types always encodes.
	_ = json.NewEncoder(fctx).Encode(v)
}

// decode reads c's JSON body into a T: the one path every JSON request
// body of a REST call takes (content type, size limit, strict fields,
// clear 4xx errors).
func decode[T any](c *call) (T, error) {
	var v T
	body, err := jsonBody(c)
	if err != nil {
		return v, err
	}
	return v, unmarshalStrict(body, &v)
}
