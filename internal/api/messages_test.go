package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeMessage feeds arbitrary bodies to the seed route's decoder.
// Invariants: it never panics; it either fails with a 4xx apiError, or
// yields a message whose record value decodes back to the same id and
// content.
func FuzzDecodeMessage(f *testing.F) {
	for _, seed := range []string{
		`{"id":"123","content":"Hello, Kafka!"}`, `{"content":""}`, `{"id":1}`, `[]`, `null`, ``, `{"id":"a","content":"b"} x`,
		`{"id":"\u003c","content":"<>&\u2028"}`, `{"id":"1","content":"x","more":true}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/messages", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		msg, err := decode[message](httptest.NewRecorder(), r, 1<<16)
		if err == nil {
			err = msg.validate()
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("body %q: error %v is not a 4xx answer", body, err)
			}
			return
		}
		value, err := json.Marshal(messageValue{ID: msg.ID, Content: *msg.Content})
		if err != nil {
			t.Fatal(err)
		}
		var back messageValue
		if err := json.Unmarshal(value, &back); err != nil || back.ID != msg.ID || back.Content != *msg.Content {
			t.Fatalf("body %q: value %s does not decode back (%v)", body, value, err)
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
