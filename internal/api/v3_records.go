package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/produce"
)

// API v3 produce: the records of POST …/topics/{topic_name}/records (one
// or a stream of them, produce_stream.go) and of …/records:batch, as
// upstream's OpenAPI document describes them (ProduceRequest,
// ProduceBatchRequest), and their delivery reports.

// v3Record is one record to produce.
type v3Record struct {
	PartitionID *int32          `json:"partition_id"`
	Headers     []v3Header      `json:"headers"`
	Key         *v3Data         `json:"key"`
	Value       *v3Data         `json:"value"`
	Timestamp   json.RawMessage `json:"timestamp"` // RFC 3339; null or absent is the time of producing
}

// v3Header is a record header; a null or absent value is a header without
// one.
type v3Header struct {
	Name  *string         `json:"name"`
	Value json.RawMessage `json:"value"` // base64
}

// v3Data is a key or value: its data and the type that says how data
// becomes bytes. The schema fields only serve the formats that need a
// Schema Registry, which krest refuses.
type v3Data struct {
	Type                string          `json:"type"` // "" (absent) asks for a registered schema
	Data                json.RawMessage `json:"data"`
	Subject             *string         `json:"subject"`
	SubjectNameStrategy *string         `json:"subject_name_strategy"`
	SchemaID            *int32          `json:"schema_id"`
	SchemaVersion       *int32          `json:"schema_version"`
	Schema              *string         `json:"schema"`
}

// v3Types are the types a record's key and value were given as, for its
// delivery report; "" leaves the key or value out of the report.
type v3Types struct{ key, value string }

// Embedded types of v3 keys and values that need no schema.
const (
	v3Binary = "BINARY" // base64 data
	v3JSON   = "JSON"   // any JSON value, written compactly
	v3String = "STRING" // a string, written as UTF-8
)

// decodeV3Record decodes data, one JSON record of the v3 produce routes,
// into a record for topic, as the streaming route does for each record of
// its body.
//
// Invariants (FuzzDecodeV3Record): it never panics, and it fails only with
// a 4xx apiError. It fails exactly when decoding data strictly with
// encoding/json (unmarshalStrict) into a v3Record fails, with that error,
// or when the record does not convert. Otherwise the record is for topic,
// and its key (value) is present in the request exactly when types.key
// (types.value) is not empty: BINARY the bytes its base64 string decodes
// to, STRING the string's UTF-8 bytes, JSON the JSON value written
// compactly, nil for null data; no byte of it is a byte of data.
func decodeV3Record(data []byte, topic string) (*kgo.Record, v3Types, error) {
	var in v3Record
	if err := decodeV3Body(data, &in); err != nil {
		return nil, v3Types{}, err
	}
	r := new(kgo.Record)
	mem := newRecordBytes(len(data))
	types, err := in.record(r, topic, &mem)
	if err != nil {
		return nil, types, err
	}
	return r, types, nil
}

// record fills r, a zero record, with in for topic, its bytes in mem.
func (in *v3Record) record(r *kgo.Record, topic string, mem *recordBytes) (v3Types, error) {
	r.Topic = topic
	var types v3Types
	var err error
	if r.Key, types.key, err = in.Key.bytes(mem, "key"); err != nil {
		return types, err
	}
	if r.Value, types.value, err = in.Value.bytes(mem, "value"); err != nil {
		return types, err
	}
	if len(in.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(in.Headers))
		for i, h := range in.Headers {
			if h.Name == nil {
				return types, badRequest(fmt.Sprintf("headers[%d] needs a name", i))
			}
			r.Headers[i].Key = *h.Name
			if jsonNull(h.Value) {
				continue
			}
			var ok bool
			if r.Headers[i].Value, ok = mem.base64JSON(h.Value); !ok {
				return types, badRequest(fmt.Sprintf("headers[%d].value=%s is not a valid base64 string.", i, h.Value))
			}
		}
	}
	if !jsonNull(in.Timestamp) {
		s, ok := jsonText(in.Timestamp)
		if ok {
			r.Timestamp, err = time.Parse(time.RFC3339Nano, string(s))
		}
		switch {
		case !ok || err != nil:
			return types, badRequest(fmt.Sprintf("timestamp=%s is not an RFC 3339 date-time.", in.Timestamp))
		case !kafkaTime(r.Timestamp):
			return types, invalidPayload(fmt.Sprintf("timestamp=%s: %s", in.Timestamp, kafkaTimeRange))
		}
	}
	if in.PartitionID != nil {
		if *in.PartitionID < 0 {
			return types, &apiError{http.StatusNotFound, codePartitionNotFound,
				fmt.Sprintf("Partition %d not found: partitions are numbered from 0.", *in.PartitionID)}
		}
		produce.ToPartition(r, *in.PartitionID)
	}
	return types, nil
}

// bytes converts a key or value (what) to its bytes, in mem, and returns
// the type its report names; a nil d is no key or value at all.
func (d *v3Data) bytes(mem *recordBytes, what string) ([]byte, string, error) {
	if d == nil {
		return nil, "", nil
	}
	typ := d.Type
	switch typ {
	case v3Binary, v3JSON, v3String:
		if d.Subject != nil || d.SubjectNameStrategy != nil || d.SchemaID != nil || d.SchemaVersion != nil || d.Schema != nil {
			return nil, "", badRequest(fmt.Sprintf("%s: 'type=%s' cannot be used with 'subject', 'subject_name_strategy', 'schema_id', 'schema_version' or 'schema'.", what, typ))
		}
	case "":
		return nil, "", &apiError{http.StatusUnprocessableEntity, codeSchemaRequired,
			fmt.Sprintf("%s has no type, which asks for the latest schema of its subject in a Schema Registry; krest has no Schema Registry: give type BINARY, JSON or STRING", what)}
	case "AVRO", "JSONSCHEMA", "PROTOBUF":
		return nil, "", &apiError{http.StatusUnprocessableEntity, codeSchemaRequired,
			fmt.Sprintf("%s type %s needs a Schema Registry, which krest does not have: give type BINARY, JSON or STRING", what, typ)}
	default:
		return nil, "", badRequest(fmt.Sprintf("%s type %q is not one of BINARY, JSON or STRING.", what, typ))
	}
	if jsonNull(d.Data) {
		return nil, typ, nil
	}
	switch typ {
	case v3JSON:
		return mem.compact(d.Data), typ, nil
	case v3String:
		s, ok := mem.text(d.Data)
		if !ok {
			return nil, "", badRequest(fmt.Sprintf("data=%s is not a string.", d.Data))
		}
		return s, typ, nil
	}
	s, ok := jsonText(d.Data)
	if !ok {
		return nil, "", badRequest(fmt.Sprintf("data=%s is not a base64 string.", d.Data))
	}
	b, ok := mem.base64(s)
	if !ok {
		return nil, "", badRequest(fmt.Sprintf("data=%s is not a valid base64 string.", d.Data))
	}
	return b, typ, nil
}

// badRequest is upstream's 400 for a record that cannot be produced as
// given.
func badRequest(msg string) error {
	return &apiError{http.StatusBadRequest, http.StatusBadRequest, "Bad Request: " + msg}
}

// v3ReportCode is the error_code of a v3 delivery report for err: a
// record's own 400 (and any other bad-request code) as upstream's plain
// 400, its other 4xx codes as they are, and a failure to produce as
// recordErrorCode says.
func v3ReportCode(err error) int {
	var ae *apiError
	switch {
	case !errors.As(err, &ae):
		return recordErrorCode(err)
	case ae.Status == http.StatusBadRequest:
		return http.StatusBadRequest
	default:
		return ae.Code
	}
}

// appendV3Report appends the delivery report of one record of the
// records route: {"error_code":200,…fields of appendV3Produced} for a
// produced record, else {"error_code":…,"message":…}.
func appendV3Report(b []byte, cluster string, res produce.Result, types v3Types) []byte {
	if res.Err != nil {
		b = append(b, `{"error_code":`...)
		b = strconv.AppendInt(b, int64(v3ReportCode(res.Err)), 10)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, res.Err.Error())
		return append(b, '}')
	}
	b = append(b, `{"error_code":200,`...)
	return appendV3Produced(b, nil, cluster, res.Record, types)
}

// appendV3Produced appends the fields of an acknowledged record's report
// and the closing brace: "cluster_id", "topic_name", "partition_id",
// "offset", "timestamp" (as Java's Instant prints it) and, if the request
// gave them, "key" and "value" with their type and size (-1 for null).
// The cluster id and topic name are validated names, which need no
// escaping. The reports of one answer share stamps, if not nil.
func appendV3Produced(b []byte, stamps *v3Stamps, cluster string, r *kgo.Record, types v3Types) []byte {
	b = append(b, `"cluster_id":"`...)
	b = append(b, cluster...)
	b = append(b, `","topic_name":"`...)
	b = append(b, r.Topic...)
	b = append(b, `","partition_id":`...)
	b = strconv.AppendInt(b, int64(r.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Offset, 10)
	b = append(b, `,"timestamp":"`...)
	if stamps == nil {
		stamps = new(v3Stamps)
	}
	b = stamps.append(b, r.Timestamp)
	b = append(b, '"')
	b = appendV3Size(b, `,"key":{"type":"`, types.key, r.Key)
	b = appendV3Size(b, `,"value":{"type":"`, types.value, r.Value)
	return append(b, '}')
}

// v3Stamps writes the timestamps of delivery reports as Java's Instant
// prints them in UTC: 2006-01-02T15:04:05Z, or 2006-01-02T15:04:05.000Z
// with milliseconds when the time has a fraction of a second. It keeps
// the date and time of the last second it wrote, which the records of one
// request mostly share.
type v3Stamps struct {
	sec  int64
	text [len("2006-01-02T15:04:05")]byte
	set  bool
}

func (s *v3Stamps) append(b []byte, t time.Time) []byte {
	sec, ns := t.Unix(), t.Nanosecond()
	if !s.set || sec != s.sec {
		u := t.UTC()
		year, month, day := u.Date()
		if year < 0 || year > 9999 {
			s.set = false
			if ns == 0 {
				return u.AppendFormat(b, "2006-01-02T15:04:05Z")
			}
			return u.AppendFormat(b, "2006-01-02T15:04:05.000Z")
		}
		hour, minute, second := u.Clock()
		x := s.text[:0]
		x = append(x, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
		x = appendTwo(x, int(month), '-')
		x = appendTwo(x, day, 'T')
		x = appendTwo(x, hour, ':')
		x = appendTwo(x, minute, ':')
		_ = appendTwo(x, second, 0)
		s.sec, s.set = sec, true
	}
	b = append(b, s.text[:]...)
	if ns == 0 {
		return append(b, 'Z')
	}
	ms := ns / 1e6
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// appendTwo appends n, from 0 to 99, in two digits, and sep unless it is
// 0.
func appendTwo(b []byte, n int, sep byte) []byte {
	b = append(b, byte('0'+n/10), byte('0'+n%10))
	if sep != 0 {
		b = append(b, sep)
	}
	return b
}

// appendV3Size appends a key or value's type and size after field, unless
// the request left it out (typ is empty).
func appendV3Size(b []byte, field, typ string, data []byte) []byte {
	if typ == "" {
		return b
	}
	b = append(b, field...)
	b = append(b, typ...)
	b = append(b, `","size":`...)
	size := int64(-1)
	if data != nil {
		size = int64(len(data))
	}
	b = strconv.AppendInt(b, size, 10)
	return append(b, '}')
}
