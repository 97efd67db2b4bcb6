package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

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

// TestAppendProduced holds the hand-written 201 answer to what
// encoding/json writes for the same fields.
func TestAppendProduced(t *testing.T) {
	type produced struct {
		Status    string `json:"status"`
		ID        string `json:"id"`
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	for _, id := range []string{"123", "", "<é>\u2028\"\\", "\xff"} {
		r := &kgo.Record{Topic: "messages", Partition: 2, Offset: 1 << 40}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(produced{"message produced", id, r.Topic, r.Partition, r.Offset}); err != nil {
			t.Fatal(err)
		}
		if got := appendProduced(nil, id, r); string(got) != want.String() {
			t.Errorf("id %q: got %q, want %q", id, got, want.String())
		}
	}
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
