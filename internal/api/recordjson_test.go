package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestRecordJSON decodes bodies of each shape with recordJSON and with
// encoding/json (unmarshalStrict) and checks that both agree: on the
// values, or on the error.
func TestRecordJSON(t *testing.T) {
	for _, tt := range []struct {
		name, body string
	}{
		{"compact", `{"records":[{"key":"a2V5","value":{"a":[1,2.5e-3,true,null]},"partition":2,"headers":[{"name":"h","value":"aA=="}],"timestamp":17}],"key_schema_id":-3}`},
		{"spaced", " \t\r\n{ \"records\" : [ { \"value\" : [ 1 , { } , [ ] ] } , null ] } \n"},
		{"folded keys", `{"RECORDS":[{"Value":1,"kEY":"x","\u006bey":"y","PARTITION":1}],"Key_Schema":"s"}`},
		{"kelvin sign and long s", `{"records":[{"` + "\u212a" + `ey":1,"headers":[{"name":"a","value":null}]}],"key_` + "\u017f" + `chema":"x"}`},
		{"escaped key", `{"rec\u006frds":[{"val\"ue":1}]}`},
		{"repeated keys merge", `{"records":[{"key":"a","partition":1},{"value":2}],"records":[{"value":3}],"key_schema":"x","key_schema":null}`},
		{"repeated arrays reuse elements", `{"records":[{"key":"a"},{"key":"b"},{"key":"c"}],"records":[{"value":1}],"records":[null,{"value":2},{}]}`},
		{"repeated array emptied", `{"records":[{"key":"a"}],"records":[],"records":[{}]}`},
		{"null everywhere", `{"records":[null,{"key":null,"value":null,"partition":null,"headers":null,"timestamp":null}],"key_schema":null,"value_schema_id":null}`},
		{"strings", `{"records":[{"headers":[{"name":"\ud83d\ude00\ud800x\u00e9\/\b\f\n\r\t\"\\","key":"\xff\xfe"},{"name":"\udc00\ud800\u0041"}]}]}`},
		{"numbers", `{"records":[{"partition":-0,"value":-0.5E+10,"key":1e-7},{"partition":2147483647},{"partition":-2147483648}]}`},
		{"int32 overflow", `{"records":[{"partition":2147483648}]}`},
		{"int32 fraction", `{"records":[{"partition":1.0}]}`},
		{"int32 exponent", `{"key_schema_id":1e2}`},
		{"int64 overflow", `{"records":[{"partition":99999999999999999999}]}`},
		{"wrong types", `{"records":[{"partition":"1","headers":{}}],"key_schema":1}`},
		{"wrong record type", `{"records":["x",1,true,[]]}`},
		{"wrong records type", `{"records":{"value":1}}`},
		{"unknown field first", `{"records":[{"offset":1,"partition":"x"}]}`},
		{"type error then unknown field", `{"records":[{"partition":"x","offset":1}]}`},
		{"type error then syntax error", `{"records":[{"partition":"x"}],"value_schema":}`},
		{"unknown escaped field", `{"records":[{"off\u0073et\ud800":1}]}`},
		{"top level array", `[{"records":[]}]`},
		{"top level string", `"records"`},
		{"top level number", `12x`},
		{"top level bool", `true`},
		{"top level null", `null`},
		{"null then data", `null x`},
		{"trailing data", `{"records":[{}]} {}`},
		{"trailing brace", `{"records":[{}]}}`},
		{"trailing space", "{\"records\":[{}]}\n\t "},
		{"empty", ``},
		{"space", " \n"},
		{"unterminated", `{"records":[{"value":"abc`},
		{"bad escape", `{"records":[{"value":"\x"}]}`},
		{"bad unicode escape", `{"records":[{"value":"\u12g4"}]}`},
		{"control character", "{\"records\":[{\"value\":\"a\tb\"}]}"},
		// Strings past the 16 bytes scanned one at a time (safeRun).
		{"long strings", `{"records":[{"key":"` + strings.Repeat("k", 40) + `","value":"` + strings.Repeat("é", 30) + `\"` + strings.Repeat("v", 17) + `\\"}]}`},
		{"long string escape", `{"records":[{"value":"` + strings.Repeat("x", 23) + `\q` + strings.Repeat("x", 9) + `"}]}`},
		{"long string control character", "{\"records\":[{\"value\":\"" + strings.Repeat("x", 29) + "\x1f" + strings.Repeat("x", 9) + "\"}]}"},
		{"long string control character near its end", "{\"records\":[{\"value\":\"" + strings.Repeat("x", 17) + "\n\"}]}"},
		{"long string cut", `{"records":[{"value":"` + strings.Repeat("x", 40)},
		{"bad literal", `{"records":[{"value":nul}]}`},
		{"bad literal end", `{"records":[{"value":nulll}]}`},
		{"literal cut", `{"records":[{"value":tr`},
		{"bad number", `{"records":[{"value":-}]}`},
		{"leading zero", `{"records":[{"value":01}]}`},
		{"bad fraction", `{"records":[{"value":1.}]}`},
		{"bad exponent", `{"records":[{"value":1e+}]}`},
		{"number cut", `{"records":[{"value":1.5e`},
		{"missing colon", `{"records" [{}]}`},
		{"missing comma", `{"records":[{} {}]}`},
		{"trailing comma", `{"records":[{},]}`},
		{"object trailing comma", `{"records":[{"value":1,}]}`},
		{"key not a string", `{records:[]}`},
		{"deep value", `{"records":[{"value":` + strings.Repeat("[", 9996) + strings.Repeat("]", 9996) + `}]}`},
		{"too deep value", `{"records":[{"value":` + strings.Repeat("[", 9997) + strings.Repeat("]", 9997) + `}]}`},
		{"too deep unknown", `{"x":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat("}", 10000) + `}`},
		{"invalid UTF-8 outside strings", "{\"records\":[\xff]}"},
		{"quote character", `{"records":[{"value":1"}]}`},
		{"apostrophe", `{"records":[{"value":'x'}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want, got v2ProduceRequest
			wantErr := unmarshalStrict([]byte(tt.body), &want)
			gotErr := decodeV2Request([]byte(tt.body), &got, 1000)
			agree(t, []byte(tt.body), got, gotErr, want, wantErr)
		})
	}
}

// agree fails t unless the decoding by recordJSON (got, gotErr) is the one
// by encoding/json (want, wantErr): the same error, or no error and the
// same values. Field paths through a batch entry leave out its embedded
// struct.
func agree(t *testing.T, body []byte, got any, gotErr error, want any, wantErr error) {
	t.Helper()
	switch {
	case wantErr == nil && gotErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decodes to\n%#v\nwant\n%#v", body, got, want)
		}
	case wantErr == nil || gotErr == nil:
		t.Fatalf("%q: error %v, want %v", body, gotErr, wantErr)
	default:
		var g, w *apiError
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("%q: errors %#v and %#v are not answers", body, gotErr, wantErr)
		}
		w.Message = strings.ReplaceAll(w.Message, "v3Record.", "")
		if *g != *w {
			t.Fatalf("%q: error %+v, want %+v", body, *g, *w)
		}
	}
}

// repeatedKey reports whether the top-level object of body has more than
// one key that names field, as encoding/json matches keys, before anything
// in it fails to decode.
func repeatedKey(body []byte, field string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if key, ok := tok.(string); ok && strings.EqualFold(key, field) {
			if n++; n > 1 {
				return true
			}
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// keysRepeat reports whether the object obj has two keys that name the
// same field, as encoding/json matches keys.
func keysRepeat(obj []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		for _, k := range keys {
			if strings.EqualFold(k, key) {
				return true
			}
		}
		keys = append(keys, key)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return false
		}
	}
	return false
}

// scribble overwrites b, so that a decoding that kept a slice of it shows.
func scribble(b []byte) {
	for i := range b {
		b[i] = '#'
	}
}
