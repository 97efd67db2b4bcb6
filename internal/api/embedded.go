package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// This file turns the JSON values of produce requests into record bytes, as
// every REST Proxy produce route embeds them: base64 strings (binary),
// strings taken as UTF-8 text, and JSON values written compactly. Each
// helper takes one valid JSON value, as encoding/json hands it over, and
// reuses its memory where it can, so that a record costs no more copies
// than its decoding already made.

// jsonNull reports whether raw is absent or the JSON null.
func jsonNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// compactJSON removes the insignificant whitespace of raw, a valid JSON
// value, in place, and returns the shortened slice: the bytes
// json.Compact would write.
func compactJSON(raw []byte) []byte {
	w := 0
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '"':
			inString = true
		}
		raw[w] = c
		w++
	}
	return raw[:w]
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
	var text string
	if json.Unmarshal(raw, &text) != nil {
		return nil, false
	}
	return []byte(text), true
}

// decodeBase64 decodes s, standard base64 with or without its '='
// padding, into a new slice.
func decodeBase64(s []byte) ([]byte, bool) {
	s = bytes.TrimRight(s, "=")
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(s)))
	n, err := base64.RawStdEncoding.Decode(out, s)
	return out[:n], err == nil
}

// base64JSON decodes raw, a valid JSON value, if it is a string of
// base64.
func base64JSON(raw []byte) ([]byte, bool) {
	s, ok := jsonText(raw)
	if !ok {
		return nil, false
	}
	return decodeBase64(s)
}
