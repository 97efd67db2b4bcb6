// Package message is the seed route's record format: the value
// {"id":"…","content":"…"} keyed by the id. It encodes and, for the compact
// form krest itself writes, parses that format without reflection; callers
// fall back to encoding/json for anything else.
package message

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

const (
	prefix = `{"id":"`
	middle = `","content":"`
	suffix = `"}`
)

// Encode returns the record value for id and content, byte for byte what
// json.Marshal writes for struct{ID, Content string} with tags id and
// content.
func Encode(id, content string) []byte {
	b := make([]byte, 0, len(prefix)+len(id)+len(middle)+len(content)+len(suffix))
	b = AppendString(append(b, `{"id":`...), id)
	b = AppendString(append(b, `,"content":`...), content)
	return append(b, '}')
}

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it.
func AppendString(b []byte, s string) []byte {
	if !plain(s) {
		q, _ := json.Marshal(s) // a string always marshals
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Parse reads b when it is exactly {"id":"…","content":"…"} with no white
// space and strings that need no escaping. ok is false for any other form,
// valid or not: decode those with encoding/json.
func Parse(b []byte) (id, content string, ok bool) {
	idBytes, contentBytes, ok := ParseBytes(b)
	return string(idBytes), string(contentBytes), ok
}

// ParseBytes is Parse without copying: id and content are slices of b.
func ParseBytes(b []byte) (id, content []byte, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(prefix))
	if !ok {
		return nil, nil, false
	}
	i, ok := plainString(rest)
	if !ok {
		return nil, nil, false
	}
	id = rest[:i]
	rest, ok = bytes.CutPrefix(rest[i:], []byte(middle))
	if !ok {
		return nil, nil, false
	}
	i, ok = plainString(rest)
	if !ok || !bytes.Equal(rest[i:], []byte(suffix)) {
		return nil, nil, false
	}
	return id, rest[:i], true
}

// plain reports whether s is valid UTF-8 that encoding/json writes as is:
// no quote, backslash, control character, <, >, &, U+2028 or U+2029.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			return asciiPlainRest(s[i:])
		}
	}
	return true
}

// asciiPlainRest checks the rest of s from its first byte that is not plain
// ASCII, allowing multi-byte runes other than U+2028 and U+2029.
func asciiPlainRest(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r == '\u2028', r == '\u2029':
			return false
		case r < utf8.RuneSelf && (r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&'):
			return false
		}
	}
	return true
}

// plainString finds the quote that ends the JSON string b begins inside
// of, and reports whether the string before it is exactly its own value:
// valid UTF-8 with no escape or control character. The quote and any
// backslash are found with bytes.IndexByte; control characters eight
// bytes at a time; UTF-8 is checked only past ASCII.
func plainString(b []byte) (end int, ok bool) {
	end = bytes.IndexByte(b, '"')
	if end < 0 || bytes.IndexByte(b[:end], '\\') >= 0 {
		return end, false
	}
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	s := b[:end]
	// high gathers the bytes' high bits (set: not ASCII); ctl sets the
	// high bit of some byte exactly when some byte was below 0x20.
	var high, ctl uint64
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		high |= x
		ctl |= (x - lsb*0x20) &^ x
	}
	for _, c := range s[i:] {
		high |= uint64(c)
		if c < 0x20 {
			ctl = msb
		}
	}
	if ctl&msb != 0 {
		return end, false
	}
	return end, high&msb == 0 || utf8.Valid(s)
}
