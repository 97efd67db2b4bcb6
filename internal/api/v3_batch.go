package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/produce"
)

// API v3 records:batch: many records in one request, a report for each.

// v3BatchRequest is the body of POST …/records:batch.
type v3BatchRequest struct {
	Entries []v3BatchEntry `json:"entries"`
}

// v3BatchEntry is one record of a batch and the id that names its result.
type v3BatchEntry struct {
	ID json.RawMessage `json:"id"` // a string of 1 to 80 characters
	v3Record
}

// Upstream's batch errors: 422 with code 42208 and these messages.
const (
	codeBadBatch     = 42208
	batchEmpty       = "Empty batch."
	batchTooLarge    = "Too many entries in batch."
	batchIDsRepeated = "Batch entry IDs are not distinct."
	batchIDInvalid   = "Batch entry identifier is not a valid string."
)

// batchEntry is a decoded entry of a batch: its id, and its record or why
// it has none.
type batchEntry struct {
	id    string
	rec   *kgo.Record // nil if err is set
	types v3Types
	err   error
}

// decodeV3Batch decodes the body of a records:batch request for topic,
// with at most maxEntries entries.
//
// Invariants (FuzzDecodeV3Batch): it never panics, and it fails only with a
// 4xx apiError. A body of at most maxEntries entries fails exactly when
// decoding it strictly with encoding/json (unmarshalStrict) into a
// v3BatchRequest fails, with that error (but for the field paths, which
// leave out the embedded struct), or when it has no entries or an id is
// not a distinct string of 1 to 80 characters; otherwise it returns one
// entry per element of "entries", in order, each with a record exactly
// when it has no error, and that record is the one decodeV3Record makes of
// the entry without its id. An entries array of more than maxEntries
// entries fails at the entry past them, unread.
func decodeV3Batch(body []byte, topic string, maxEntries int) ([]batchEntry, error) {
	req := batchRequests.Get().(*v3BatchRequest)
	defer putBatchRequest(req)
	switch err := decodeV3Request(body, req, maxEntries); {
	case err == errRecordCap:
		return nil, &apiError{http.StatusUnprocessableEntity, codeBadBatch,
			fmt.Sprintf("%s krest takes at most %d.", batchTooLarge, maxEntries)}
	case err != nil:
		return nil, err
	case len(req.Entries) == 0:
		return nil, &apiError{http.StatusUnprocessableEntity, codeBadBatch, batchEmpty}
	}
	entries := make([]batchEntry, len(req.Entries))
	recs := make([]kgo.Record, len(req.Entries))
	mem := newRecordBytes(len(body))
	seen := make(map[string]struct{}, len(req.Entries))
	for i := range req.Entries {
		in := &req.Entries[i]
		id, ok := jsonText(in.ID)
		if !ok || len(id) == 0 || utf8.RuneCount(id) > 80 {
			return nil, &apiError{http.StatusUnprocessableEntity, codeBadBatch, batchIDInvalid}
		}
		e := &entries[i]
		e.id = string(id)
		if _, dup := seen[e.id]; dup {
			return nil, &apiError{http.StatusUnprocessableEntity, codeBadBatch, batchIDsRepeated}
		}
		seen[e.id] = struct{}{}
		if e.types, e.err = in.record(&recs[i], topic, &mem); e.err == nil {
			e.rec = &recs[i]
		}
	}
	return entries, nil
}

// batchRequests holds decoded batch requests for the next decodeV3Batch:
// a request is read only while its entries become records, which own
// copies of what they hold.
var batchRequests = sync.Pool{New: func() any { return new(v3BatchRequest) }}

// maxPooledEntries bounds the entries a pooled request keeps room for.
const maxPooledEntries = 1000

// putBatchRequest empties req, entries within its capacity included, as
// decoding into a fresh request needs, and pools it.
func putBatchRequest(req *v3BatchRequest) {
	if cap(req.Entries) > maxPooledEntries {
		return
	}
	clear(req.Entries[:cap(req.Entries)])
	req.Entries = req.Entries[:0]
	batchRequests.Put(req)
}

// v3Batch produces the records of a batch, all in one call so that
// they share batches, and answers 207 with each entry's delivery report,
// successes and failures each in request order. When the topic does not
// exist the answer is 404; when every entry was sent and none written, each
// for a passing reason, it is unwritten's error's (503 with Retry-After, or
// 504).
func (h *handlers) v3Batch(c *call) (int, any, error) {
	body, err := jsonBody(c)
	if err != nil {
		return 0, nil, err
	}
	entries, err := decodeV3Batch(body, c.topic, h.maxRecords)
	if err != nil {
		return 0, nil, err
	}
	recs := make([]*kgo.Record, 0, len(entries))
	for _, e := range entries {
		if e.err == nil {
			recs = append(recs, e.rec)
		}
	}
	results := c.p.Produce(c.ctx, recs...)
	if err := unwritten(results); err != nil && len(results) == len(entries) {
		return 0, nil, err
	}
	for _, res := range results {
		if refusesRequest(res.Err) {
			return 0, nil, res.Err
		}
	}
	return http.StatusMultiStatus, rawJSON(appendV3Batch(entries, results, c.cluster)), nil
}

// appendV3Batch returns the answer to a batch: {"successes":[…],
// "failures":[…]}, results being those of the entries without an error, in
// order. The reports share their timestamps' formatting, and failures
// their error's words (errorTexts).
func appendV3Batch(entries []batchEntry, results []produce.Result, cluster string) []byte {
	b := make([]byte, 0, 32+200*len(entries))
	var failures []int
	var stamps v3Stamps
	b = append(b, `{"successes":[`...)
	first := true
	k := 0
	for i := range entries {
		e := &entries[i]
		if e.err == nil {
			e.err = results[k].Err
			e.rec = results[k].Record
			k++
		}
		if e.err != nil {
			failures = append(failures, i)
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b = appendJSONString(b, e.id)
		b = append(b, ',')
		b = appendV3Produced(b, &stamps, cluster, e.rec, e.types)
	}
	b = append(b, `],"failures":[`...)
	var texts errorTexts
	for j, i := range failures {
		if j > 0 {
			b = append(b, ',')
		}
		code, msg := texts.of(entries[i].err, v3ReportCode)
		b = append(b, `{"id":`...)
		b = appendJSONString(b, entries[i].id)
		b = append(b, `,"error_code":`...)
		b = strconv.AppendInt(b, int64(code), 10)
		b = append(b, `,"message":`...)
		b = append(b, msg...)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
