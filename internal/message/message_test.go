package message

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

type value struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in          string
		id, content string
		ok          bool
	}{
		{`{"id":"123","content":"Hello, Kafka!"}`, "123", "Hello, Kafka!", true},
		{`{"id":"","content":"<é>"}`, "", "<é>", true},
		{`{"id":"1","content":"a\"b"}`, "", "", false},
		{`{"id":"1", "content":"x"}`, "", "", false},
		{`{"content":"x","id":"1"}`, "", "", false},
		{`{"id":"1","content":"x"} `, "", "", false},
		{`{"id":"1","content":"x","more":1}`, "", "", false},
		{"{\"id\":\"1\",\"content\":\"\x01\"}", "", "", false},
	} {
		id, content, ok := Parse([]byte(tt.in))
		if id != tt.id || content != tt.content || ok != tt.ok {
			t.Errorf("Parse(%s) = %q, %q, %v; want %q, %q, %v", tt.in, id, content, ok, tt.id, tt.content, tt.ok)
		}
	}
}

// FuzzCodec checks both directions against encoding/json. Invariants:
// Encode(id, content) equals json.Marshal of the same struct, and
// AppendString(s) json.Marshal(s), for any strings; whenever Parse accepts bytes, encoding/json decodes them to the
// same id and content, and they hold nothing but those two fields.
func FuzzCodec(f *testing.F) {
	f.Add(`{"id":"123","content":"Hello, Kafka!"}`, "123", "Hello, Kafka!")
	f.Add(`{"id":"<","content":"\u2028"}`, "\u2028", "<&>")
	f.Add("{\"id\":\"\xff\",\"content\":\"\"}", "\xff", "\x00")
	f.Add(`{"id":"12345678","content":"abcdefgh\\ijklmnop\u0001qrstuvwxé"}`, "", "")
	f.Fuzz(func(t *testing.T, raw, id, content string) {
		want, _ := json.Marshal(value{id, content})
		if got := Encode(id, content); !bytes.Equal(got, want) {
			t.Fatalf("Encode(%q, %q) = %s, want %s", id, content, got, want)
		}
		want, _ = json.Marshal(id)
		if got := AppendString([]byte("x"), id); !bytes.Equal(got[1:], want) {
			t.Fatalf("AppendString(%q) = %s, want %s", id, got[1:], want)
		}
		for _, from := range []int{0, len(prefix)} {
			b := []byte(raw)[min(from, len(raw)):]
			if end, ok := plainString(b); ok != plainStringByByte(b) || ok && b[end] != '"' {
				t.Fatalf("plainString(%q) = %d, %v, want %v", b, end, ok, !ok)
			}
		}
		pid, pcontent, ok := Parse([]byte(raw))
		if bid, bcontent, bok := ParseBytes([]byte(raw)); string(bid) != pid || string(bcontent) != pcontent || bok != ok {
			t.Fatalf("ParseBytes(%q) = %q, %q, %v; Parse says %q, %q, %v", raw, bid, bcontent, bok, pid, pcontent, ok)
		}
		if !ok {
			return
		}
		var v value
		dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil || v.ID != pid || v.Content != pcontent || dec.More() {
			t.Fatalf("Parse(%q) = %q, %q but encoding/json says %+v, %v", raw, pid, pcontent, v, err)
		}
	})
}

// plainStringByByte is plainString's verdict, one byte at a time: b holds
// a quote, and what comes before the first one is valid UTF-8 with no
// control character or backslash.
func plainStringByByte(b []byte) bool {
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return false
	}
	for _, c := range b[:end] {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b[:end])
}
