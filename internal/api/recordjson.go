package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// recordJSON decodes the bodies of the produce routes without reflection:
// the v2 produce request, the records of the records route (one body, or
// a stream of them) and the records:batch request. It fills the same
// structs encoding/json fills and fills them as encoding/json does, so
// that a body decodes to the same values and fails for the same reason:
//
//   - syntax as encoding/json's scanner has it, to the byte and the
//     message, nesting included (at most maxJSONDepth deep); the first
//     syntax error of a value wins over every other error in it;
//   - keys matched exactly or, failing that, case-insensitively as
//     encoding/json folds them (bytes.EqualFold), escapes decoded first;
//     an unknown key is an error (DisallowUnknownFields);
//   - a key given twice decodes twice, into the same value: the last
//     scalar wins, objects merge field by field, arrays decode into the
//     elements already there and end at their own length;
//   - null leaves a string, number or struct as it is, and sets a
//     pointer or slice to nil; a json.RawMessage keeps it as "null";
//   - a value of the wrong type is an error naming its field path, as
//     encoding/json's *UnmarshalTypeError does, and decoding goes on, so
//     that the first such error (or unknown key) is the one reported,
//     unless a syntax error follows;
//   - strings decoded as encoding/json decodes them: invalid UTF-8 and
//     lone surrogates become U+FFFD.
//
// Two things differ on purpose. A records or entries array stops at the
// element past its cap: the request fails with errRecordCap there, before
// the rest of the body is read. And a field path through a batch entry
// reads entries.value, where encoding/json names the embedded struct
// (entries.v3Record.value).
//
// A json.RawMessage is a slice of the body, not a copy: the caller copies
// what outlives the body. A body decoded from a stream (src set) is read
// on demand, one value at a time.
//
// Invariants (TestRecordJSON, and FuzzDecodeV2Produce, FuzzDecodeV3Record,
// FuzzDecodeV3Batch and FuzzRecordStream through the decoders that use
// it): it never panics, it looks at nothing past the value it decodes,
// and on any input it yields what encoding/json yields, in values or in
// errors, but for the two differences above.
type recordJSON struct {
	data   []byte
	pos    int
	depth  int
	failed error // the first type error or unknown key: decoding goes on, as encoding/json's does

	// prefix is the field path of the record being decoded ("" for a
	// record of the records route, "entries." in a batch).
	prefix string

	// src, when set, is the stream data comes from; mark is where its
	// current value starts, which may be at most limit bytes long.
	src    io.Reader
	srcErr error
	mark   int
	limit  int

	// Pointers the decoded structs hold come from these, a few at a
	// time.
	int32s []int32
	texts  []string
	datas  []v3Data

	// names are the last header names decoded.
	names    [4]string
	nextName int
}

// maxJSONDepth is encoding/json's limit of nested objects and arrays.
const maxJSONDepth = 10000

// jsonSyntaxError is where a body stops being JSON, in encoding/json's
// words.
type jsonSyntaxError struct{ msg string }

func (e *jsonSyntaxError) Error() string { return e.msg }

var (
	// errJSONEOF is a value cut short: encoding/json's Decoder says
	// io.ErrUnexpectedEOF.
	errJSONEOF = &jsonSyntaxError{"unexpected EOF"}
	// errRecordCap stops a records or entries array at the element past
	// its cap; the caller answers it in its route's words.
	errRecordCap = &apiError{http.StatusUnprocessableEntity, codeInvalidPayload, "too many records"}
	// errBodyNoValue and errBodyTrailing are unmarshalStrict's answers to
	// a body without a JSON value and to one with more after it.
	errBodyNoValue  = &apiError{http.StatusBadRequest, codeMalformedJSON, "request body is not valid JSON: EOF"}
	errBodyTrailing = &apiError{http.StatusBadRequest, codeMalformedJSON, "request body has data after the JSON value"}
)

// decodeBody decodes body, one JSON value and nothing after it but space,
// with object, which decodes an object at d.pos; a null leaves the target
// as it is and any other value is a type error, as for unmarshalStrict.
// Errors are unmarshalStrict's, and errRecordCap.
func decodeBody(body []byte, prefix string, object func(d *recordJSON) error) error {
	d := recordJSON{data: body, prefix: prefix}
	err := d.top(object)
	if se, ok := err.(*jsonSyntaxError); ok {
		return &apiError{http.StatusBadRequest, codeMalformedJSON, "request body is not valid JSON: " + se.msg}
	}
	if err != nil {
		return err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return errBodyTrailing
	}
	return nil
}

// top decodes one value at the top level with object; it returns
// errBodyNoValue when there is none, and a syntax error before the first
// type error.
func (d *recordJSON) top(object func(d *recordJSON) error) error {
	if !d.skipSpace() {
		return errBodyNoValue
	}
	var err error
	switch d.data[d.pos] {
	case '{':
		err = object(d)
	case 'n':
		err = d.literal()
	default:
		err = d.mismatch("", "", "object")
	}
	if err != nil {
		return err
	}
	return d.failed
}

// decodeV2Request decodes the body of a v2 produce request into req; a
// records array of more than maxRecords elements fails with errRecordCap
// at the element past them.
func decodeV2Request(body []byte, req *v2ProduceRequest, maxRecords int) error {
	return decodeBody(body, "", func(d *recordJSON) error { return d.v2Request(req, maxRecords) })
}

// decodeV3Request decodes the body of a records:batch request into req; an
// entries array of more than maxEntries elements fails with errRecordCap
// at the element past them.
func decodeV3Request(body []byte, req *v3BatchRequest, maxEntries int) error {
	return decodeBody(body, "entries.", func(d *recordJSON) error { return d.v3Batch(req, maxEntries) })
}

// decodeV3Body decodes data, one record of the records route, into in.
func decodeV3Body(data []byte, in *v3Record) error {
	return decodeBody(data, "", func(d *recordJSON) error { return d.v3Record(in, nil) })
}

// newStreamJSON returns a decoder of the records of the records route
// that src streams, one after the other, each at most limit bytes.
func newStreamJSON(src io.Reader, limit int) *recordJSON {
	return &recordJSON{src: src, limit: limit, data: make([]byte, 0, streamMinRead)}
}

// record decodes the next record of the stream into in, reading src as
// far as the record goes and a read past it at most (fill); it returns
// io.EOF when the stream ends, after nothing but space. last says whether the stream
// cannot be read on after err: at a syntax error (a *jsonSyntaxError,
// unexpected EOF at the end of the stream included), a record longer
// than the limit (errRecordTooLarge), or src's error. Any other error
// (a type error or unknown field) is the record's alone, and the next
// record can be decoded. Each record decodes as decodeV3Body decodes a
// body of it alone.
//
// The record's slices are valid until the next call, which reuses their
// memory.
func (d *recordJSON) record(in *v3Record) (last bool, err error) {
	// Nothing holds a slice of what earlier records took.
	n := copy(d.data, d.data[d.pos:])
	d.data, d.pos, d.mark, d.depth, d.failed = d.data[:n], 0, 0, 0, nil
	for {
		for d.pos < len(d.data) && isSpace(d.data[d.pos]) {
			d.pos++
		}
		if d.pos < len(d.data) {
			break
		}
		d.data, d.pos = d.data[:0], 0
		if !d.fill() {
			if d.srcErr == io.EOF {
				return true, io.EOF
			}
			return true, d.srcErr
		}
	}
	d.mark = d.pos
	err = d.top(func(d *recordJSON) error { return d.v3Record(in, nil) })
	if d.pos-d.mark > d.limit {
		return true, errRecordTooLarge(d.limit)
	}
	if _, ok := err.(*jsonSyntaxError); ok {
		if d.srcErr != nil && d.srcErr != io.EOF {
			return true, d.srcErr
		}
		return true, err
	}
	return false, err
}

// size is the length of the last record decoded.
func (d *recordJSON) size() int { return d.pos - d.mark }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// The fields of each struct, in the order of the cases that decode them.
var (
	v2RequestFields = []string{"records", "key_schema", "key_schema_id", "value_schema", "value_schema_id"}
	v2RecordFields  = []string{"key", "value", "partition", "headers", "timestamp"}
	v2HeaderFields  = []string{"name", "key", "value"}
	v3BatchFields   = []string{"entries"}
	v3EntryFields   = []string{"partition_id", "headers", "key", "value", "timestamp", "id"}
	v3HeaderFields  = []string{"name", "value"}
	v3DataFields    = []string{"type", "data", "subject", "subject_name_strategy", "schema_id", "schema_version", "schema"}
)

func (d *recordJSON) v2Request(req *v2ProduceRequest, maxRecords int) error {
	return d.members(v2RequestFields, func(f int) error {
		switch f {
		case 0:
			return decodeArray(d, &req.Records, maxRecords, "", "records", (*recordJSON).v2Record)
		case 1:
			return d.stringPtr(&req.KeySchema, "", "key_schema")
		case 2:
			return d.int32Ptr(&req.KeySchemaID, "", "key_schema_id")
		case 3:
			return d.stringPtr(&req.ValueSchema, "", "value_schema")
		case 4:
			return d.int32Ptr(&req.ValueSchemaID, "", "value_schema_id")
		}
		return d.skip()
	})
}

func (d *recordJSON) v2Record(r *v2Record) error {
	if ok, err := d.object("", "records"); !ok {
		return err
	}
	return d.members(v2RecordFields, func(f int) error {
		switch f {
		case 0:
			return d.raw(&r.Key)
		case 1:
			return d.raw(&r.Value)
		case 2:
			return d.int32Ptr(&r.Partition, "records.", "partition")
		case 3:
			return decodeArray(d, &r.Headers, -1, "records.", "headers", (*recordJSON).v2Header)
		case 4:
			return d.raw(&r.Timestamp)
		}
		return d.skip()
	})
}

func (d *recordJSON) v2Header(h *v2Header) error {
	if ok, err := d.object("records.", "headers"); !ok {
		return err
	}
	return d.members(v2HeaderFields, func(f int) error {
		switch f {
		case 0:
			return d.stringPtr(&h.Name, "records.headers.", "name")
		case 1:
			return d.stringPtr(&h.Key, "records.headers.", "key")
		case 2:
			return d.raw(&h.Value)
		}
		return d.skip()
	})
}

func (d *recordJSON) v3Batch(req *v3BatchRequest, maxEntries int) error {
	return d.members(v3BatchFields, func(f int) error {
		switch f {
		case 0:
			return decodeArray(d, &req.Entries, maxEntries, "", "entries", (*recordJSON).v3Entry)
		}
		return d.skip()
	})
}

func (d *recordJSON) v3Entry(e *v3BatchEntry) error {
	if ok, err := d.object("", "entries"); !ok {
		return err
	}
	return d.v3Record(&e.v3Record, &e.ID)
}

// v3Record decodes the object at d.pos into in; id, if not nil, takes the
// "id" field of a batch entry.
func (d *recordJSON) v3Record(in *v3Record, id *json.RawMessage) error {
	fields := v3EntryFields
	if id == nil {
		fields = fields[:len(fields)-1]
	}
	return d.members(fields, func(f int) error {
		switch f {
		case 0:
			return d.int32Ptr(&in.PartitionID, d.prefix, "partition_id")
		case 1:
			return decodeArray(d, &in.Headers, -1, d.prefix, "headers", (*recordJSON).v3Header)
		case 2:
			return d.v3Data(&in.Key, &v3KeyPaths)
		case 3:
			return d.v3Data(&in.Value, &v3ValuePaths)
		case 4:
			return d.raw(&in.Timestamp)
		case 5:
			return d.raw(id)
		}
		return d.skip()
	})
}

func (d *recordJSON) v3Header(h *v3Header) error {
	if ok, err := d.object(d.prefix, "headers"); !ok {
		return err
	}
	return d.members(v3HeaderFields, func(f int) error {
		switch f {
		case 0:
			return d.stringPtr(&h.Name, d.prefix, "headers.name")
		case 1:
			return d.raw(&h.Value)
		}
		return d.skip()
	})
}

// The field paths of a key's and a value's fields, in v3DataFields' order
// after the key or value itself.
var (
	v3KeyPaths   = [...]string{"key", "key.type", "key.data", "key.subject", "key.subject_name_strategy", "key.schema_id", "key.schema_version", "key.schema"}
	v3ValuePaths = [...]string{"value", "value.type", "value.data", "value.subject", "value.subject_name_strategy", "value.schema_id", "value.schema_version", "value.schema"}
)

// v3Data decodes the key or value at d.pos into *p; paths are its field
// paths.
func (d *recordJSON) v3Data(p **v3Data, paths *[8]string) error {
	switch d.data[d.pos] {
	case 'n':
		*p = nil
		return d.literal()
	case '{':
	default:
		return d.mismatch(d.prefix, paths[0], "object")
	}
	if *p == nil {
		*p = take(&d.datas)
	}
	v := *p
	return d.members(v3DataFields, func(f int) error {
		switch f {
		case 0:
			return d.text(&v.Type, d.prefix, paths[1])
		case 1:
			return d.raw(&v.Data)
		case 2:
			return d.stringPtr(&v.Subject, d.prefix, paths[3])
		case 3:
			return d.stringPtr(&v.SubjectNameStrategy, d.prefix, paths[4])
		case 4:
			return d.int32Ptr(&v.SchemaID, d.prefix, paths[5])
		case 5:
			return d.int32Ptr(&v.SchemaVersion, d.prefix, paths[6])
		case 6:
			return d.stringPtr(&v.Schema, d.prefix, paths[7])
		}
		return d.skip()
	})
}

// decodeArray decodes the array at d.pos into *p, each element with elem,
// as encoding/json decodes into a slice: into the elements already there,
// then truncated to the array's length (a fresh empty slice for []); null
// is a nil slice. prefix+field is the slice's path for a type error. With
// max not negative, the element past max fails with errRecordCap.
func decodeArray[T any](d *recordJSON, p *[]T, max int, prefix, field string, elem func(*recordJSON, *T) error) error {
	switch d.data[d.pos] {
	case 'n':
		*p = nil
		return d.literal()
	case '[':
	default:
		return d.mismatch(prefix, field, "array")
	}
	s := *p
	more, err := d.open(']')
	i := 0
	for ; more; i++ {
		if i == max {
			return errRecordCap
		}
		if i >= cap(s) {
			s = slices.Grow(s, 1)
		}
		if i >= len(s) {
			s = s[:i+1]
		}
		if err = elem(d, &s[i]); err != nil {
			return err
		}
		more, err = d.more(']')
	}
	if err != nil {
		return err
	}
	if i == 0 {
		s = []T{}
	}
	*p = s[:i]
	return nil
}

// take returns a pointer to a new zero T from *slab, which it refills a
// few at a time.
func take[T any](slab *[]T) *T {
	s := *slab
	if len(s) == cap(s) {
		s = make([]T, 0, min(max(2*cap(s), 4), 64))
	}
	s = s[:len(s)+1]
	*slab = s
	return &s[len(s)-1]
}

// object reports whether the value at d.pos is an object, or else is done
// with it: nothing for null, as encoding/json leaves a struct as it is,
// and for any other value a type error for the field prefix+field, whose
// value is skipped; err is the syntax error in either.
func (d *recordJSON) object(prefix, field string) (ok bool, err error) {
	switch d.data[d.pos] {
	case '{':
		return true, nil
	case 'n':
		return false, d.literal()
	}
	return false, d.mismatch(prefix, field, "object")
}

// mismatch records the type error of the value at d.pos for a Go value of
// kind (as jsonKind says it) at the field prefix+field, and skips the
// value. Field paths are joined here, on the way to an error only.
func (d *recordJSON) mismatch(prefix, field, kind string) error {
	if d.failed == nil {
		d.failed = typeError(prefix+field, kind, jsonValueName(d.data[d.pos]))
	}
	return d.skip()
}

// typeError is decodeError's answer to encoding/json's
// *UnmarshalTypeError.
func typeError(field, kind, value string) error {
	if field == "" {
		return &apiError{http.StatusBadRequest, codeMalformedJSON, "request body must be a JSON object, not a JSON " + value}
	}
	return &apiError{http.StatusBadRequest, codeInvalidField, "field " + field + " must be a " + kind + ", not a JSON " + value}
}

// jsonValueName names the JSON value that starts with c, as
// *UnmarshalTypeError does.
func jsonValueName(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// raw decodes the value at d.pos as a json.RawMessage: its bytes.
func (d *recordJSON) raw(m *json.RawMessage) error {
	start := d.pos
	if err := d.skip(); err != nil {
		return err
	}
	*m = d.data[start:d.pos:d.pos]
	return nil
}

// text decodes the value at d.pos into the string *s, a key's or value's
// type; null leaves it.
func (d *recordJSON) text(s *string, prefix, field string) error {
	switch d.data[d.pos] {
	case '"':
		start := d.pos
		escaped, err := d.str()
		if err != nil {
			return err
		}
		*s = typeName(d.data[start+1:d.pos-1], escaped)
		return nil
	case 'n':
		return d.literal()
	}
	return d.mismatch(prefix, field, "string")
}

// stringPtr decodes the value at d.pos into the *string *p; null is nil.
func (d *recordJSON) stringPtr(p **string, prefix, field string) error {
	switch d.data[d.pos] {
	case '"':
		start := d.pos
		escaped, err := d.str()
		if err != nil {
			return err
		}
		s := take(&d.texts)
		*s = d.name(d.data[start+1:d.pos-1], escaped)
		*p = s
		return nil
	case 'n':
		*p = nil
		return d.literal()
	}
	return d.mismatch(prefix, field, "string")
}

// int32Ptr decodes the value at d.pos into the *int32 *p; null is nil,
// and a number that is not an int32 is a type error, as for
// encoding/json.
func (d *recordJSON) int32Ptr(p **int32, prefix, field string) error {
	switch c := d.data[d.pos]; {
	case c == 'n':
		*p = nil
		return d.literal()
	case c == '-' || '0' <= c && c <= '9':
		start := d.pos
		if err := d.number(); err != nil {
			return err
		}
		lit := d.data[start:d.pos]
		n, ok := parseInt32(lit)
		if !ok {
			if d.failed == nil {
				d.failed = typeError(prefix+field, "number", "number "+string(lit))
			}
			return nil
		}
		if *p == nil {
			*p = take(&d.int32s)
		}
		**p = n
		return nil
	}
	return d.mismatch(prefix, field, "number")
}

// parseInt32 parses lit, a JSON number, if it is an integer that fits an
// int32: what strconv.ParseInt and an int32's range allow of it.
func parseInt32(lit []byte) (int32, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 10 {
		return 0, false
	}
	var n int64
	for _, c := range lit {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// members decodes the members of the object at d.pos, whose '{' is next:
// for each it reads the key and calls member with its index in names,
// which decodes the value (or skips it; a key that names no field is
// skipped, its error recorded).
func (d *recordJSON) members(names []string, member func(f int) error) error {
	more, err := d.open('}')
	for more {
		var f int
		if f, err = d.field(names); err != nil {
			return err
		}
		if f < 0 {
			err = d.skip()
		} else {
			err = member(f)
		}
		if err != nil {
			return err
		}
		more, err = d.more('}')
	}
	return err
}

// field reads the key at d.pos and the ':' after it, and returns its
// field's index in names, or -1 for a key that names none, whose error
// it records.
func (d *recordJSON) field(names []string) (int, error) {
	raw, escaped, err := d.key()
	if err != nil {
		return -1, err
	}
	for i, name := range names {
		if string(raw) == name {
			return i, nil
		}
	}
	key := raw
	if escaped || !utf8.Valid(raw) {
		key = appendUnquoted(nil, raw)
	}
	for i, name := range names {
		if bytes.EqualFold(key, []byte(name)) {
			return i, nil
		}
	}
	if d.failed == nil {
		d.failed = &apiError{http.StatusBadRequest, codeInvalidField, "unknown field " + strconv.Quote(string(key))}
	}
	return -1, nil
}

// open consumes the '{' or '[' at d.pos and the space after it, and
// reports whether a member follows; if not, it consumes the closing byte
// too.
func (d *recordJSON) open(closing byte) (bool, error) {
	if d.depth++; d.depth > maxJSONDepth {
		return false, d.syntax("exceeded max depth")
	}
	d.pos++
	if !d.skipSpace() {
		return false, errJSONEOF
	}
	if d.data[d.pos] == closing {
		d.pos++
		d.depth--
		return false, nil
	}
	return true, nil
}

// more consumes what follows a member of an object or array: a ',' and
// the space after it (true), or the closing byte (false).
func (d *recordJSON) more(closing byte) (bool, error) {
	if !d.skipSpace() {
		return false, errJSONEOF
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		if !d.skipSpace() {
			return false, errJSONEOF
		}
		return true, nil
	case closing:
		d.pos++
		d.depth--
		return false, nil
	}
	if closing == '}' {
		return false, d.syntax("after object key:value pair")
	}
	return false, d.syntax("after array element")
}

// skip consumes the value at d.pos, checking it as encoding/json's scanner
// does.
func (d *recordJSON) skip() error {
	base := d.depth
	var small [64]bool
	objects := small[:0] // whether each open container is an object
	for {
		switch c := d.data[d.pos]; c {
		case '{', '[':
			closing := byte(']')
			if c == '{' {
				closing = '}'
			}
			more, err := d.open(closing)
			if err != nil {
				return err
			}
			if more {
				objects = append(objects, c == '{')
				if c == '{' {
					if _, _, err := d.key(); err != nil {
						return err
					}
				}
				continue
			}
		case '"':
			if _, err := d.str(); err != nil {
				return err
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if err := d.number(); err != nil {
				return err
			}
		case 't', 'f', 'n':
			if err := d.literal(); err != nil {
				return err
			}
		default:
			return d.syntax("looking for beginning of value")
		}
		// A value ended: so do the containers it closes.
		for {
			if d.depth == base {
				return nil
			}
			object := objects[len(objects)-1]
			closing := byte(']')
			if object {
				closing = '}'
			}
			more, err := d.more(closing)
			if err != nil {
				return err
			}
			if more {
				if object {
					if _, _, err := d.key(); err != nil {
						return err
					}
				}
				break
			}
			objects = objects[:len(objects)-1]
		}
	}
}

// key consumes the key at d.pos, the ':' after it and the space after
// that, and returns the key's bytes inside its quotes, and whether they
// have escapes.
func (d *recordJSON) key() (raw []byte, escaped bool, err error) {
	if d.data[d.pos] != '"' {
		return nil, false, d.syntax("looking for beginning of object key string")
	}
	start := d.pos
	if escaped, err = d.str(); err != nil {
		return nil, false, err
	}
	raw = d.data[start+1 : d.pos-1]
	if !d.skipSpace() {
		return nil, false, errJSONEOF
	}
	if d.data[d.pos] != ':' {
		return nil, false, d.syntax("after object key")
	}
	d.pos++
	if !d.skipSpace() {
		return nil, false, errJSONEOF
	}
	return raw, escaped, nil
}

// stringSafe holds the bytes a string's scan passes over at once.
var stringSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// safeRun returns the length of the run at the start of s that a
// string's scan passes over: bytes stringSafe holds. Past its first 16
// bytes a run is searched with bytes.IndexByte, which looks at many bytes
// at once, and checked for control characters a word at a time.
func safeRun(s []byte) int {
	const short = 16
	for i := range min(len(s), short) {
		if !stringSafe[s[i]] {
			return i
		}
	}
	if len(s) <= short {
		return len(s)
	}
	end := len(s)
	if q := bytes.IndexByte(s[short:], '"'); q >= 0 {
		end = short + q
	}
	if b := bytes.IndexByte(s[short:end], '\\'); b >= 0 {
		end = short + b
	}
	i := short
	for ; i+8 <= end; i += 8 {
		if w := binary.LittleEndian.Uint64(s[i:]); (w-0x2020202020202020)&^w&0x8080808080808080 != 0 {
			break // a byte below 0x20 in w
		}
	}
	for ; i < end; i++ {
		if s[i] < 0x20 {
			return i
		}
	}
	return end
}

// str consumes the string at d.pos and reports whether it has escapes.
func (d *recordJSON) str() (escaped bool, err error) {
	data := d.data
	i := d.pos + 1
	for {
		i += safeRun(data[i:])
		if i == len(data) {
			if d.pos = i; !d.fill() {
				return escaped, errJSONEOF
			}
			data = d.data
			continue
		}
		switch c := data[i]; {
		case c == '"':
			d.pos = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			if i++; i == len(data) {
				if d.pos = i; !d.fill() {
					return escaped, errJSONEOF
				}
				data = d.data
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for range 4 {
					if i == len(data) {
						if d.pos = i; !d.fill() {
							return escaped, errJSONEOF
						}
						data = d.data
					}
					if !isHex(data[i]) {
						d.pos = i
						return escaped, d.syntax(`in \u hexadecimal character escape`)
					}
					i++
				}
			default:
				d.pos = i
				return escaped, d.syntax("in string escape code")
			}
		default: // a control character
			d.pos = i
			return escaped, d.syntax("in string literal")
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number consumes the number at d.pos.
func (d *recordJSON) number() error {
	if d.data[d.pos] == '-' {
		d.pos++
		if !d.more1() {
			return errJSONEOF
		}
	}
	switch c := d.data[d.pos]; {
	case c == '0':
		d.pos++
	case '1' <= c && c <= '9':
		d.pos++
		d.digits()
	default:
		return d.syntax("in numeric literal")
	}
	if d.more1() && d.data[d.pos] == '.' {
		d.pos++
		if !d.more1() {
			return errJSONEOF
		}
		if !isDigit(d.data[d.pos]) {
			return d.syntax("after decimal point in numeric literal")
		}
		d.digits()
	}
	if d.more1() && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if !d.more1() {
			return errJSONEOF
		}
		if c := d.data[d.pos]; c == '+' || c == '-' {
			d.pos++
			if !d.more1() {
				return errJSONEOF
			}
		}
		if !isDigit(d.data[d.pos]) {
			return d.syntax("in exponent of numeric literal")
		}
		d.digits()
	}
	return nil
}

// digits consumes the digits at d.pos.
func (d *recordJSON) digits() {
	for d.more1() && isDigit(d.data[d.pos]) {
		d.pos++
	}
}

// literal consumes the true, false or null at d.pos, as its first byte
// says.
func (d *recordJSON) literal() error {
	word := "null"
	switch d.data[d.pos] {
	case 't':
		word = "true"
	case 'f':
		word = "false"
	}
	if d.pos+len(word) <= len(d.data) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return nil
	}
	for i := 1; i < len(word); i++ {
		d.pos++
		if !d.more1() {
			return errJSONEOF
		}
		if d.data[d.pos] != word[i] {
			return d.syntax("in literal " + word + " (expecting " + quoteChar(word[i]) + ")")
		}
	}
	d.pos++
	return nil
}

// skipSpace consumes JSON white space and reports whether a byte follows.
func (d *recordJSON) skipSpace() bool {
	for {
		for d.pos < len(d.data) {
			if !isSpace(d.data[d.pos]) {
				return true
			}
			d.pos++
		}
		if !d.fill() {
			return false
		}
	}
}

// more1 reports whether a byte is at d.pos, reading on if need be.
func (d *recordJSON) more1() bool {
	return d.pos < len(d.data) || d.fill()
}

// syntax is the syntax error of the byte at d.pos, in context.
func (d *recordJSON) syntax(context string) error {
	return &jsonSyntaxError{"invalid character " + quoteChar(d.data[d.pos]) + " " + context}
}

// quoteChar quotes c as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// fill reads more of src onto data and reports whether it did. Bytes
// already read stay where they are: slices of them stay valid. It reads
// no further than the current value may go (limit bytes from mark, and
// one more to tell it goes further), or streamMinRead bytes if that is
// more.
func (d *recordJSON) fill() bool {
	if d.src == nil || d.srcErr != nil {
		return false
	}
	if len(d.data)-d.mark > d.limit {
		d.srcErr = errRecordTooLarge(d.limit)
		return false
	}
	if cap(d.data)-len(d.data) < streamMinRead {
		grown := make([]byte, len(d.data), 2*cap(d.data)+streamMinRead)
		copy(grown, d.data)
		d.data = grown
	}
	room := min(cap(d.data)-len(d.data), max(d.mark+d.limit+1-len(d.data), streamMinRead))
	for range 100 {
		n, err := d.src.Read(d.data[len(d.data) : len(d.data)+room])
		d.data = d.data[:len(d.data)+n]
		if err != nil {
			d.srcErr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	d.srcErr = io.ErrNoProgress
	return false
}

// streamMinRead is the least room a stream's buffer has for a read.
const streamMinRead = 4 << 10

// errRecordTooLarge is upstream's answer to a record of a stream longer
// than limit bytes.
func errRecordTooLarge(limit int) error {
	return &apiError{http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge,
		"The request included a message larger than the maximum message size the server can accept: a record is larger than " +
			strconv.Itoa(limit) + " bytes."}
}

// name is jsonString for a header's name (or a schema's), which the
// records of a request mostly repeat: a name like one of the last few
// takes no allocation.
func (d *recordJSON) name(s []byte, escaped bool) string {
	if !escaped {
		for _, name := range d.names {
			if string(s) == name && name != "" {
				return name
			}
		}
	}
	name := jsonString(s, escaped)
	d.names[d.nextName%len(d.names)] = name
	d.nextName++
	return name
}

// typeName is jsonString for a key's or value's type, which is mostly one
// of a few names: those take no allocation.
func typeName(s []byte, escaped bool) string {
	if !escaped {
		for _, name := range [...]string{v3Binary, v3JSON, v3String} {
			if string(s) == name {
				return name
			}
		}
	}
	return jsonString(s, escaped)
}

// jsonString is the text of s, the inside of a JSON string as the scanner
// passed it, escaped if it has escapes.
func jsonString(s []byte, escaped bool) string {
	if !escaped && utf8.Valid(s) {
		return string(s)
	}
	return string(appendUnquoted(nil, s))
}
