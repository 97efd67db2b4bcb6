package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"krest/internal/admin"
)

// Stateless offset reads, a krest extension to API v3: GET
// …/topics/{topic_name}/partitions/{partition_id}/records reads a
// partition's records from an offset, on any node, without a consumer
// instance. Keys and values come in the embedded formats the v3 produce
// routes take ({"type": BINARY | JSON | STRING, "data": …}), headers as
// they take them ([{name, value: base64}]).

// recordReader reads a partition's records from an offset; admin.Admin
// implements it.
type recordReader interface {
	ReadRecords(ctx context.Context, r admin.ReadRequest) (admin.Records, error)
}

var _ recordReader = (*admin.Admin)(nil)

// The defaults and bounds of a read's query parameters.
const (
	defaultOffsetReadRecords = 1000
	maxOffsetReadRecords     = 10_000
	defaultOffsetReadBytes   = 1 << 20
	maxOffsetReadBytes       = 4 << 20
	defaultOffsetReadTimeout = time.Second
	maxOffsetReadTimeout     = 30 * time.Second
)

// codeOffsetOutOfRange is the error_code of a read whose offset the
// partition does not hold.
const codeOffsetOutOfRange = 41601

// readQuery is a read's validated query.
type readQuery struct {
	offset     int64
	maxRecords int
	maxBytes   int
	timeout    time.Duration
	format     string // v3Binary, v3JSON or v3String
}

// parseReadQuery validates a read's query: offset (required, not
// negative), max_records (1 to maxOffsetReadRecords, default
// defaultOffsetReadRecords), max_bytes (1 to maxOffsetReadBytes, default
// defaultOffsetReadBytes), timeout in milliseconds (0 to
// maxOffsetReadTimeout, default defaultOffsetReadTimeout) and format
// (BINARY, JSON or STRING in any case, default BINARY). Other parameters are ignored.
//
// Invariants (FuzzParseReadQuery): it never panics; it fails only with a
// 400 apiError; on success every field is within its bounds and format is
// one of the three.
func parseReadQuery(args *fasthttp.Args) (readQuery, error) {
	q := readQuery{maxRecords: defaultOffsetReadRecords, maxBytes: defaultOffsetReadBytes, timeout: defaultOffsetReadTimeout, format: v3Binary}
	if !args.Has("offset") {
		return q, badQuery("offset is required: the first offset to read")
	}
	var err error
	if q.offset, err = queryInt(args, "offset", 0, 0, 1<<63-1); err != nil {
		return q, err
	}
	n, err := queryInt(args, "max_records", defaultOffsetReadRecords, 1, maxOffsetReadRecords)
	if err != nil {
		return q, err
	}
	q.maxRecords = int(n)
	if n, err = queryInt(args, "max_bytes", defaultOffsetReadBytes, 1, maxOffsetReadBytes); err != nil {
		return q, err
	}
	q.maxBytes = int(n)
	if n, err = queryInt(args, "timeout", defaultOffsetReadTimeout.Milliseconds(), 0, maxOffsetReadTimeout.Milliseconds()); err != nil {
		return q, err
	}
	q.timeout = time.Duration(n) * time.Millisecond
	q.format, err = queryFormat(args)
	return q, err
}

// queryFormat is the embedded format of keys and values a read's format
// parameter names: BINARY, JSON or STRING in any case, default BINARY.
func queryFormat(args *fasthttp.Args) (string, error) {
	if !args.Has("format") {
		return v3Binary, nil
	}
	switch f := strings.ToUpper(string(args.Peek("format"))); f {
	case v3Binary, v3JSON, v3String:
		return f, nil
	}
	return "", badQuery(fmt.Sprintf("format %q is not one of BINARY, JSON or STRING", args.Peek("format")))
}

// queryInt is the decimal integer parameter name, from lo to hi, or def
// when absent.
func queryInt(args *fasthttp.Args, name string, def, lo, hi int64) (int64, error) {
	if !args.Has(name) {
		return def, nil
	}
	s := string(args.Peek(name))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badQuery(fmt.Sprintf("%s must be an integer from %d to %d, not %q", name, lo, hi, s))
	}
	return n, nil
}

func badQuery(msg string) error { return &apiError{http.StatusBadRequest, codeInvalidField, msg} }

// v3OffsetOutOfRange is the answer to a read of an offset the partition
// does not hold: the offsets it does, to read on from.
type v3OffsetOutOfRange struct {
	ErrorCode      int    `json:"error_code"`
	Message        string `json:"message"`
	EarliestOffset int64  `json:"earliest_offset"`
	LatestOffset   int64  `json:"latest_offset"`
}

// v3PartitionRecords reads a partition's records from ?offset. A read at
// the end of the partition waits up to ?timeout for a record; an offset
// before the log start or past the end is 416, with the offsets the
// partition holds.
func (h *handlers) v3PartitionRecords(c *call) (int, any, error) {
	q, err := parseReadQuery(c.fctx.QueryArgs())
	if err != nil {
		return 0, nil, err
	}
	rr, ok := c.adm.(recordReader)
	if !ok {
		return 0, nil, &apiError{http.StatusNotImplemented, http.StatusNotImplemented, "this node cannot read records"}
	}
	// The call's context bounds Kafka calls by CallTimeout; a read may
	// wait for records longer.
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout+c.srv.opts.CallTimeout)
	defer cancel()
	recs, err := rr.ReadRecords(ctx, admin.ReadRequest{Topic: c.topic, Partition: c.partition, Offset: q.offset,
		MaxRecords: q.maxRecords, MaxBytes: q.maxBytes, MaxWait: q.timeout})
	var oor *admin.OffsetOutOfRangeError
	if errors.As(err, &oor) {
		return http.StatusRequestedRangeNotSatisfiable, v3OffsetOutOfRange{codeOffsetOutOfRange,
			fmt.Sprintf("offset %d is not in topic %s partition %d: it holds offsets from %d (earliest_offset) to %d (latest_offset, the next to be written)",
				q.offset, c.topic, c.partition, oor.Earliest, oor.Latest), oor.Earliest, oor.Latest}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rawJSON(c.appendRecordList(make([]byte, 0, recordListSize(recs)), recs, q.format)), nil
}

// recordListSize is about the length of the answer of recs, so that it
// is written without growing: every key, value and header in base64, and
// each record's fields.
func recordListSize(recs admin.Records) int {
	n := 512
	for _, r := range recs.Records {
		n += 160 + base64.StdEncoding.EncodedLen(len(r.Key)) + base64.StdEncoding.EncodedLen(len(r.Value))
		for _, h := range r.Headers {
			n += 24 + len(h.Key) + base64.StdEncoding.EncodedLen(len(h.Value))
		}
	}
	return n
}

// appendRecordList appends the answer to a read: {"kind":
// "KafkaRecordList", "metadata": {"self": …}, "cluster_id", "topic_name",
// "partition_id", "next_offset", "data": [records]}, each record
// {"partition_id", "offset", "timestamp", "headers", "key", "value"}.
func (c *call) appendRecordList(b []byte, recs admin.Records, format string) []byte {
	id := itoa(c.partition)
	b = append(b, `{"kind":"KafkaRecordList","metadata":{"self":`...)
	b = appendJSONString(b, c.link("topics", c.topic, "partitions", id, "records"))
	b = append(b, `},"cluster_id":"`...)
	b = append(b, c.cluster...)
	b = append(b, `","topic_name":"`...)
	b = append(b, c.topic...)
	b = append(b, `","partition_id":`...)
	b = append(b, id...)
	b = append(b, `,"next_offset":`...)
	b = strconv.AppendInt(b, recs.NextOffset, 10)
	b = append(b, `,"data":[`...)
	var stamps v3Stamps
	for i, r := range recs.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReadRecord(b, &stamps, r, format)
	}
	return append(b, "]}"...)
}

// appendReadRecord appends one record of a read.
func appendReadRecord(b []byte, stamps *v3Stamps, r *kgo.Record, format string) []byte {
	return append(appendRecordFields(append(b, '{'), stamps, r, format), '}')
}

// appendRecordFields appends the members of a read's record, without
// its braces.
func appendRecordFields(b []byte, stamps *v3Stamps, r *kgo.Record, format string) []byte {
	b = append(b, `"partition_id":`...)
	b = strconv.AppendInt(b, int64(r.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Offset, 10)
	b = append(b, `,"timestamp":"`...)
	b = stamps.append(b, r.Timestamp)
	b = append(b, `","headers":[`...)
	for i, h := range r.Headers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, h.Key)
		b = append(b, `,"value":`...)
		b = appendBase64(b, h.Value)
		b = append(b, '}')
	}
	b = append(b, `],"key":`...)
	b = appendEmbedded(b, r.Key, format)
	b = append(b, `,"value":`...)
	return appendEmbedded(b, r.Value, format)
}

// appendEmbedded appends a key or value as {"type": …, "data": …} in
// format, or null when there is none. Bytes that are not valid in format
// (JSON that does not parse, a STRING that is not UTF-8) come as BINARY,
// which the type says.
func appendEmbedded(b, data []byte, format string) []byte {
	if data == nil {
		return append(b, "null"...)
	}
	switch {
	case format == v3JSON && json.Valid(data):
		b = append(b, `{"type":"JSON","data":`...)
		b = append(b, data...)
	case format == v3String && utf8.Valid(data):
		b = append(b, `{"type":"STRING","data":`...)
		b = appendJSONString(b, string(data))
	default:
		b = append(b, `{"type":"BINARY","data":`...)
		b = appendBase64(b, data)
	}
	return append(b, '}')
}

// appendBase64 appends data as a JSON string of standard base64, or null
// for nil.
func appendBase64(b, data []byte) []byte {
	if data == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}
