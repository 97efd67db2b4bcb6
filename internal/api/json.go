package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
)

// readBody reads r's body, refusing more than limit bytes and any content
// type that is not JSON. The returned buffer goes back with putBuffer.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (*bytes.Buffer, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	return readNegotiated(w, r, limit)
}

// readNegotiated is readBody for a route that checked the content type
// itself.
func readNegotiated(w http.ResponseWriter, r *http.Request, limit int64) (*bytes.Buffer, error) {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		putBuffer(buf)
		return nil, err
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		putBuffer(buf)
		return nil, &apiError{http.StatusBadRequest, codeEmptyBody, "request body is empty"}
	}
	return buf, nil
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBuffer returns a buffer from readBody; large ones are dropped so the
// pool does not pin memory.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufferPool.Put(b)
	}
}

// requireJSON accepts application/json and any application/*+json type.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" {
		return nil // the common case, without parsing parameters into a map
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return &apiError{http.StatusUnsupportedMediaType, codeUnsupportedMedia,
		fmt.Sprintf("content type %s is not supported; send application/json", ct)}
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

// encode writes v as the JSON response body with the given status, typed
// application/json unless the route already set a JSON type of its own. A
// json.RawMessage, JSON a handler built itself, is written as it is.
func encode(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	// The status is sent; an encoding error can only be a broken client
	// connection, which there is no one left to tell about.
	if raw, ok := v.(json.RawMessage); ok {
		_, _ = w.Write(append(raw, '\n'))
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads r's JSON body into a T: the one path every JSON request body
// takes (size limit, content type, strict fields, clear 4xx errors).
func decode[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	var v T
	buf, err := readBody(w, r, limit)
	if err != nil {
		return v, err
	}
	defer putBuffer(buf)
	return v, unmarshalStrict(buf.Bytes(), &v)
}
