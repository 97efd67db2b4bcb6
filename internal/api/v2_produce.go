package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/produce"
)

// API v2 produce: POST /topics/{topic_name} and
// POST /topics/{topic_name}/partitions/{partition_id}, as Confluent REST
// Proxy serves them for the binary and JSON embedded formats, with two
// extensions upstream lacks: per-record headers and timestamps.

// v2ProduceRequest is the body of the v2 produce routes.
type v2ProduceRequest struct {
	Records []v2Record `json:"records"`
	// The schema fields of the Avro, JSON Schema and Protobuf formats are
	// accepted and ignored, as upstream ignores them for binary and JSON.
	KeySchema     *string `json:"key_schema"`
	KeySchemaID   *int32  `json:"key_schema_id"`
	ValueSchema   *string `json:"value_schema"`
	ValueSchemaID *int32  `json:"value_schema_id"`
}

// v2Record is one record of a v2 produce request. Key and Value are base64
// strings (binary format) or any JSON value (JSON format); null or absent
// is a null key or value.
type v2Record struct {
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
	Partition *int32          `json:"partition"`
	// Headers and Timestamp are krest's extensions.
	Headers   []v2Header      `json:"headers"`
	Timestamp json.RawMessage `json:"timestamp"` // epoch milliseconds or RFC 3339
}

// v2Header is a record header: its name as "name" or "key", its value
// base64 (null for none).
type v2Header struct {
	Name  *string         `json:"name"`
	Key   *string         `json:"key"`
	Value json.RawMessage `json:"value"`
}

// decodeV2Produce decodes the body of a v2 produce request whose records
// embed format (v2FormatBinary: base64; any other: JSON) into records for
// topic; partition, if not negative, is the route's and pins every record.
// Records share one allocation, and their bytes another (recordBytes):
// none is a slice of body.
//
// Invariants (FuzzDecodeV2Produce): it never panics, and it fails only
// with a 4xx apiError. A body of at most maxRecords records fails exactly
// when decoding it strictly with encoding/json (unmarshalStrict) into a
// v2ProduceRequest fails, with that error, or when a record does not
// convert; otherwise it returns one record per element of "records", at
// least one, in order, each for topic, with the key and value the request
// embeds: the bytes its base64 string decodes to (binary), or its JSON
// value written compactly (JSON); nil for null or absent. A record is
// pinned to a partition only if the request names one, and never to one
// but the route's. A records array of more than maxRecords records fails
// the whole request at the record past them, unread.
func decodeV2Produce(body []byte, format, topic string, partition int32, maxRecords int) ([]*kgo.Record, error) {
	var req v2ProduceRequest
	switch err := decodeV2Request(body, &req, maxRecords); {
	case err == errRecordCap:
		return nil, invalidPayload(fmt.Sprintf("records holds more than %d records, the most krest takes in one request", maxRecords))
	case err != nil:
		return nil, err
	case len(req.Records) == 0:
		return nil, invalidPayload("records must hold at least one record")
	}
	recs := make([]kgo.Record, len(req.Records))
	out := make([]*kgo.Record, len(req.Records))
	mem := newRecordBytes(len(body))
	for i := range req.Records {
		in := &req.Records[i]
		r := &recs[i]
		r.Topic = topic
		var err error
		if r.Key, err = v2Data(&mem, in.Key, format, i, "key"); err != nil {
			return nil, err
		}
		if r.Value, err = v2Data(&mem, in.Value, format, i, "value"); err != nil {
			return nil, err
		}
		if r.Headers, err = v2Headers(&mem, in.Headers, i); err != nil {
			return nil, err
		}
		if r.Timestamp, err = v2Time(in.Timestamp, i); err != nil {
			return nil, err
		}
		switch {
		case partition >= 0 && in.Partition != nil && *in.Partition != partition:
			return nil, invalidPayload(fmt.Sprintf("records[%d].partition is %d, but the request is for partition %d", i, *in.Partition, partition))
		case partition >= 0:
			produce.ToPartition(r, partition)
		case in.Partition != nil:
			produce.ToPartition(r, *in.Partition)
		}
		out[i] = r
	}
	return out, nil
}

// v2Data converts the key or value (what) of record i to its bytes, in
// mem.
func v2Data(mem *recordBytes, raw json.RawMessage, format string, i int, what string) ([]byte, error) {
	if jsonNull(raw) {
		return nil, nil
	}
	if format != v2FormatBinary {
		return mem.compact(raw), nil
	}
	s, ok := jsonText(raw)
	if !ok {
		return nil, conversionFailed(fmt.Sprintf("records[%d].%s must be a base64 string, not %s", i, what, raw))
	}
	b, ok := mem.base64(s)
	if !ok {
		return nil, conversionFailed(fmt.Sprintf("records[%d].%s is not valid base64: %s", i, what, raw))
	}
	return b, nil
}

// v2Headers converts the headers of record i, their values into mem.
func v2Headers(mem *recordBytes, hs []v2Header, i int) ([]kgo.RecordHeader, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	out := make([]kgo.RecordHeader, len(hs))
	for j, h := range hs {
		switch {
		case h.Name != nil && h.Key != nil && *h.Name != *h.Key:
			return nil, invalidPayload(fmt.Sprintf("records[%d].headers[%d] has both a name and a key, and they differ", i, j))
		case h.Name != nil:
			out[j].Key = *h.Name
		case h.Key != nil:
			out[j].Key = *h.Key
		default:
			return nil, invalidPayload(fmt.Sprintf("records[%d].headers[%d] needs a name", i, j))
		}
		if jsonNull(h.Value) {
			continue
		}
		var ok bool
		if out[j].Value, ok = mem.base64JSON(h.Value); !ok {
			return nil, conversionFailed(fmt.Sprintf("records[%d].headers[%d].value must be a base64 string, not %s", i, j, h.Value))
		}
	}
	return out, nil
}

// v2Time converts the timestamp of record i: milliseconds since the Unix
// epoch, or an RFC 3339 string; absent or null is the time of producing.
// A time Kafka cannot hold (before the epoch) is refused.
func v2Time(raw json.RawMessage, i int) (time.Time, error) {
	if jsonNull(raw) {
		return time.Time{}, nil
	}
	if ms, ok := parseMillis(raw); ok {
		if ms < 0 {
			return time.Time{}, invalidPayload(fmt.Sprintf("records[%d].timestamp is %d: %s", i, ms, kafkaTimeRange))
		}
		return time.UnixMilli(ms), nil
	}
	if s, ok := jsonText(raw); ok {
		if t, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
			if !kafkaTime(t) {
				return time.Time{}, invalidPayload(fmt.Sprintf("records[%d].timestamp is %s: %s", i, raw, kafkaTimeRange))
			}
			return t, nil
		}
	}
	return time.Time{}, invalidPayload(fmt.Sprintf("records[%d].timestamp must be milliseconds since the Unix epoch or an RFC 3339 time, not %s", i, raw))
}

// kafkaTimeRange says which times a record may have.
const kafkaTimeRange = "Kafka takes times from the Unix epoch (1970-01-01T00:00:00Z) on, in milliseconds; leave timestamp out for the time of producing"

// kafkaTime reports whether Kafka can hold t: in whole milliseconds since
// the Unix epoch, from 0 to what an int64 holds.
func kafkaTime(t time.Time) bool {
	return !t.Before(time.Unix(0, 0)) && !t.After(time.UnixMilli(math.MaxInt64))
}

// parseMillis parses raw as strconv.ParseInt does, in base 10 to an
// int64, without an allocation for the numbers of up to 18 digits that
// milliseconds since the epoch are.
func parseMillis(raw []byte) (int64, bool) {
	digits := raw
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		ms, err := strconv.ParseInt(string(raw), 10, 64)
		return ms, err == nil
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if raw[0] == '-' {
		n = -n
	}
	return n, true
}

// invalidPayload is upstream's 422 for a well-formed body that cannot be
// produced.
func invalidPayload(msg string) error {
	return &apiError{http.StatusUnprocessableEntity, codeInvalidPayload, "Payload error. " + msg}
}

// conversionFailed is upstream's 422 for a key, value or header that does
// not convert to bytes in the request's embedded format.
func conversionFailed(msg string) error {
	return &apiError{http.StatusUnprocessableEntity, codeJSONConversion, "Conversion of JSON to Object failed: " + msg}
}

// v2Produce produces a v2 request's records, all in one call so that they
// share batches, and answers their offsets in request order, with an error
// code in place for each record the broker did not take. The answer is 200
// unless no record was written, each for a passing reason: then its status
// is unwritten's error's (503 with Retry-After, or 504). A request without
// a Content-Type is refused (415): a v2 produce names its embedded format.
func (h *handlers) v2Produce(c *call) (int, any, error) {
	format, err := v2EmbeddedFormat(string(c.fctx.Request.Header.ContentType()))
	if err == nil && format == v2FormatNone {
		err = errV2MediaType("")
	}
	if err != nil {
		return 0, nil, err
	}
	partition := int32(-1)
	if _, ok := c.pathValueOK("partition_id"); ok {
		partition = c.partition
	}
	body, err := nonEmpty(c.body)
	if err != nil {
		return 0, nil, err
	}
	recs, err := decodeV2Produce(body, format, c.topic, partition, h.maxRecords)
	if err != nil {
		return 0, nil, err
	}
	results := c.p.Produce(c.ctx, recs...)
	if allFailed(results, kafka.ErrNotAuthorized) {
		return 0, nil, results[0].Err // the brokers let the caller write none of it
	}
	status := http.StatusOK
	if err := unwritten(results); err != nil {
		status = errorFor(err).Status
		c.cause = err
	}
	if status == http.StatusServiceUnavailable {
		c.setHeader("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	c.fctx.SetStatusCode(status)
	c.fctx.Response.SetBodyRaw(appendV2Offsets(make([]byte, 0, 64+80*len(results)), results))
	return answered, nil, nil
}

// allFailed reports whether every record of results failed with kind.
func allFailed(results []produce.Result, kind error) bool {
	for _, res := range results {
		if !errors.Is(res.Err, kind) {
			return false
		}
	}
	return true
}

// unwritten returns, when no record of results was produced and each
// failed for a passing reason, the error that answers for them all: the
// first that may yet have been written (errorFor: 504) if any, else the
// first that was not (503), which makes the whole request safe to retry.
// Otherwise, and for no results, it returns nil.
func unwritten(results []produce.Result) error {
	var notWritten, timedOut error
	for _, res := range results {
		if res.Err == nil {
			return nil
		}
		switch errorFor(res.Err).Status {
		case http.StatusServiceUnavailable:
			notWritten = cmp.Or(notWritten, res.Err)
		case http.StatusGatewayTimeout:
			timedOut = cmp.Or(timedOut, res.Err)
		default:
			return nil
		}
	}
	return cmp.Or(timedOut, notWritten)
}

// appendV2Offsets appends the v2 produce answer for results to b:
// {"offsets":[{"partition","offset","error_code","error"},…],
// "key_schema_id":null,"value_schema_id":null}. Records that failed alike
// share their error's words (errorTexts).
func appendV2Offsets(b []byte, results []produce.Result) []byte {
	var texts errorTexts
	b = append(b, `{"offsets":[`...)
	for i, res := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if res.Err != nil {
			code, msg := texts.of(res.Err, recordErrorCode)
			b = append(b, `{"partition":null,"offset":null,"error_code":`...)
			b = strconv.AppendInt(b, int64(code), 10)
			b = append(b, `,"error":`...)
			b = append(b, msg...)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"partition":`...)
		b = strconv.AppendInt(b, int64(res.Record.Partition), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, res.Record.Offset, 10)
		b = append(b, `,"error_code":null,"error":null}`...)
	}
	return append(b, `],"key_schema_id":null,"value_schema_id":null}`...)
}

// errorTexts remembers the last error an answer wrote for a record: its
// error code and its message as a JSON string. The records of a failed
// request mostly fail alike, each with an error of its own that reads the
// same; an error that reads as the last one did is taken to be the same
// error, as the errors of produce and of the decoders word their kind.
type errorTexts struct {
	msg    string
	code   int
	quoted []byte
	set    bool
}

// of returns err's code, as code says it, and its message as a JSON
// string, valid until the next call.
func (t *errorTexts) of(err error, code func(error) int) (int, []byte) {
	if msg := err.Error(); !t.set || msg != t.msg {
		t.msg, t.code, t.set = msg, code(err), true
		t.quoted = appendJSONString(t.quoted[:0], msg)
	}
	return t.code, t.quoted
}

// appendJSONString appends s as a JSON string, as encoding/json writes
// it.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
