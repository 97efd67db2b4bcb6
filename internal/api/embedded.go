package api

import (
	"bytes"
	"encoding/base64"
	"unicode/utf16"
	"unicode/utf8"
)

// This file turns the JSON values of produce requests into record bytes, as
// every REST Proxy produce route embeds them: base64 strings (binary),
// strings taken as UTF-8 text, and JSON values written compactly. Each
// helper takes one valid JSON value, as the decoder hands it over: a
// slice of the request body, which lives only as long as the request. The
// bytes a record keeps are copied into its recordBytes; the rest is read
// in place.

// recordBytes holds the keys, values and header values of a request's
// records: one allocation for all of them, sized by the body, since no
// value takes more bytes in a record than in the body (but for strings of
// invalid UTF-8, whose bytes each become three, and which take an
// allocation of their own). Each record's slice is capped at its length,
// so that no append to one reaches the next.
type recordBytes []byte

// newRecordBytes returns room for the record bytes of a body of n bytes.
func newRecordBytes(n int) recordBytes { return make(recordBytes, 0, n) }

// add returns a copy of b in m.
func (m *recordBytes) add(b []byte) []byte {
	return m.seal(append(*m, b...))
}

// seal takes grown, *m with a value appended, as *m and returns the
// value: a non-nil slice even when empty.
func (m *recordBytes) seal(grown []byte) []byte {
	start := len(*m)
	*m = grown
	if cap(grown) == 0 {
		return []byte{}
	}
	return grown[start:len(grown):len(grown)]
}

// compact returns raw, a valid JSON value, in m without its insignificant
// white space: the bytes json.Compact would write. Runs without white
// space, and whole strings, are copied at once.
func (m *recordBytes) compact(raw []byte) []byte {
	b := slicesGrow(*m, len(raw))
	for len(raw) > 0 {
		i := 0
		for i < len(raw) && !jsonBreak[raw[i]] {
			i++
		}
		b = append(b, raw[:i]...)
		if i == len(raw) {
			break
		}
		if raw[i] != '"' { // white space
			raw = raw[i+1:]
			continue
		}
		end := i + 1 + stringEnd(raw[i+1:])
		b = append(b, raw[i:end+1]...)
		raw = raw[end+1:]
	}
	return m.seal(b)
}

// jsonBreak marks the bytes that end a run compact copies as it is: white
// space, and the quote that starts a string.
var jsonBreak = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '"': true}

// stringEnd returns the index of the quote that ends s, the rest of a
// valid JSON string after its opening quote.
func stringEnd(s []byte) int {
	for i := 0; ; i += 2 { // past a backslash and the byte it escapes
		if i += safeRun(s[i:]); s[i] == '"' {
			return i
		}
	}
}

// base64 decodes s, standard base64 with or without its '=' padding, into
// m.
func (m *recordBytes) base64(s []byte) ([]byte, bool) {
	s = bytes.TrimRight(s, "=")
	n := base64.RawStdEncoding.DecodedLen(len(s))
	b := slicesGrow(*m, n)
	k, err := base64.RawStdEncoding.Decode(b[len(b):len(b)+n], s)
	if err != nil {
		return nil, false
	}
	return m.seal(b[:len(b)+k]), true
}

// text returns the text of raw, a valid JSON value, in m if it is a
// string.
func (m *recordBytes) text(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return m.add(s), true
	}
	return m.seal(appendUnquoted(*m, s)), true
}

// base64JSON decodes raw, a valid JSON value, into m if it is a string of
// base64.
func (m *recordBytes) base64JSON(raw []byte) ([]byte, bool) {
	s, ok := jsonText(raw)
	if !ok {
		return nil, false
	}
	return m.base64(s)
}

// slicesGrow returns b with room for n more bytes, in a new array if need
// be: slices of the old one keep their bytes.
func slicesGrow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	grown := make([]byte, len(b), max(2*cap(b), len(b)+n))
	copy(grown, b)
	return grown
}

// jsonNull reports whether raw is absent or the JSON null.
func jsonNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// jsonText returns the text of raw, a valid JSON value, if it is a string:
// a slice of raw itself when the string has no escapes and is valid UTF-8,
// else a fresh copy decoded as encoding/json decodes strings.
func jsonText(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return s, true
	}
	return appendUnquoted(nil, s), true
}

// appendUnquoted appends the text of s, the inside of a valid JSON string,
// to b, as encoding/json decodes strings: escapes decoded, and invalid
// UTF-8 and lone surrogates replaced by U+FFFD.
func appendUnquoted(b, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							r += 6
							continue
						}
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return b
}

// hex4 decodes the four hexadecimal digits that start s.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
