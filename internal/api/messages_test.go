package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"krest/internal/message"
)

// FuzzParseMessage feeds arbitrary bodies to the seed route's parser.
// Invariants: it never panics; it either fails with a 4xx apiError, or
// yields exactly what strict encoding/json decoding yields, and the record
// value it leads to decodes back to the same id and content.
func FuzzParseMessage(f *testing.F) {
	for _, seed := range []string{
		`{"id":"123","content":"Hello, Kafka!"}`, `{"content":""}`, `{"id":1}`, `[]`, `null`, ``, `{"id":"a","content":"b"} x`,
		`{"id":"\u003c","content":"<>&\u2028"}`, `{"id":"1","content":"x","more":true}`, `{"id":"é","content":"<"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		id, content, err := parseMessage([]byte(body))
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("body %q: error %v is not a 4xx answer", body, err)
			}
			return
		}
		var strict messageBody
		if err := unmarshalStrict([]byte(body), &strict); err != nil || strict.Content == nil ||
			strict.ID != id || *strict.Content != content {
			t.Fatalf("body %q: parsed %q, %q; strict decoding gives %+v, %v", body, id, content, strict, err)
		}
		var back struct{ ID, Content string }
		if err := json.Unmarshal(message.Encode(id, content), &back); err != nil || back.ID != id || back.Content != content {
			t.Fatalf("body %q: value does not decode back (%v)", body, err)
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if len(id) != 36 || id[14] != '4' || strings.Count(id, "-") != 4 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}
