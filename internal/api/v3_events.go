package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/admin"
	"krest/internal/cursor"
	"krest/internal/kafka"
)

// Server-Sent Events, a krest extension to API v3: GET
// …/topics/{topic_name}/records:stream with Accept: text/event-stream
// answers a topic's records, as they come, as events: "event: record"
// (or "event: delete" for a tombstone), "data:" the record as JSON, and
// "id:" a cursor (internal/cursor) of every partition's next offset past
// it. Any node resumes from a cursor (?cursor= or the Last-Event-ID
// header an EventSource sends on reconnecting): nothing of a stream is
// kept by the server.
//
// A stream reads each partition in turn through the shared client, one
// bounded fetch at a time (admin.ReadRecords): its memory is one fetch
// answer, eventReadBytes, whatever the client's speed, and it holds no
// connection or consumer of its own. Idle, it asks again at intervals
// growing from eventFirstPoll to eventLastPoll. Every heartbeat it writes
// a comment line, which also finds a client gone (an idle stream of a
// client that went away ends at its next heartbeat), and looks for
// partitions added since it started, which it reads from their start. A
// client whose writes block past the connection's write idle timeout is
// cut off; it resumes from its last id.

// The bounds of one read of a stream.
const (
	eventReadBytes   = 64 << 10
	eventReadRecords = 500
)

// The intervals at which an idle stream reads again, doubling from the
// first to the last.
const (
	eventFirstPoll = 10 * time.Millisecond
	eventLastPoll  = 250 * time.Millisecond
)

// DefaultEventHeartbeat is the interval of a stream's heartbeat comment
// when Options.EventHeartbeat is zero.
const DefaultEventHeartbeat = 15 * time.Second

// eventRetry is the reconnection delay, in milliseconds, a stream asks
// EventSource clients for.
const eventRetry = 2000

// topicReader reads a topic's records from offsets; admin.Admin
// implements it.
type topicReader interface {
	recordReader
	OffsetsAt(ctx context.Context, topic string, at int64) (map[int32]int64, error)
}

var _ topicReader = (*admin.Admin)(nil)

// eventQuery is a stream's validated request.
type eventQuery struct {
	format  string
	key     []byte // only records of this key, when set
	hasKey  bool
	headers []kgo.RecordHeader // only records with every one of these headers
	from    int64              // admin.AtEarliest, admin.AtLatest or a time in Unix milliseconds
	cursor  map[int32]int64    // the position to resume from, when set (wins over from)
}

// parseEventQuery validates a stream's Accept, query and Last-Event-ID:
// Accept must admit text/event-stream (406 otherwise); format is a read's;
// key= and header.<name>= filter; the start is Last-Event-ID, else
// cursor=, else from= (earliest, latest or an RFC 3339 time; default
// latest). A bad cursor or time is 400.
func parseEventQuery(c *call) (eventQuery, error) {
	q := eventQuery{from: admin.AtLatest}
	if err := acceptEvents(c); err != nil {
		return q, err
	}
	args := c.fctx.QueryArgs()
	var err error
	if q.format, err = queryFormat(args); err != nil {
		return q, err
	}
	if args.Has("key") {
		q.key, q.hasKey = bytes.Clone(args.Peek("key")), true
	}
	for k, v := range args.All() {
		if name, ok := bytes.CutPrefix(k, []byte("header.")); ok {
			q.headers = append(q.headers, kgo.RecordHeader{Key: string(name), Value: bytes.Clone(v)})
		}
	}
	id, hasID := c.header("Last-Event-ID"), len(c.fctx.Request.Header.Peek("Last-Event-ID")) > 0
	if !hasID && args.Has("cursor") {
		id, hasID = c.query("cursor"), true
	}
	if hasID {
		if q.cursor, err = cursor.Decode(id); err != nil {
			return q, badQuery(fmt.Sprintf("cursor %q is not an event id of records:stream: %v", id, err))
		}
		return q, nil
	}
	switch from := c.query("from"); from {
	case "", "latest":
	case "earliest":
		q.from = admin.AtEarliest
	default:
		t, err := time.Parse(time.RFC3339Nano, from)
		if err != nil || t.UnixMilli() < 0 {
			return q, badQuery(fmt.Sprintf("from must be earliest, latest or an RFC 3339 time since 1970, not %q", from))
		}
		q.from = t.UnixMilli()
	}
	return q, nil
}

// acceptEvents fails with 406 unless c's Accept names text/event-stream
// with a non-zero q.
func acceptEvents(c *call) error {
	for mt := range acceptedTypes(c.fctx.Request.Header.PeekAll("Accept")) {
		if mt == "text/event-stream" {
			return nil
		}
	}
	return &apiError{http.StatusNotAcceptable, http.StatusNotAcceptable,
		"HTTP 406 Not Acceptable: records:stream answers text/event-stream, which Accept must name"}
}

// answerEvents answers c with the event stream write writes (c.stream),
// typed and marked so that no cache or proxy holds events back.
func answerEvents(c *call, write func(w *bufio.Writer) int) {
	c.fctx.SetContentType("text/event-stream")
	c.setHeader("Cache-Control", "no-cache")
	// Proxies that buffer answers (nginx) would hold events back.
	c.setHeader("X-Accel-Buffering", "no")
	c.stream(http.StatusOK, write)
}

// eventPing is a stream's heartbeat comment.
const eventPing = ": ping\n\n"

// writeEvents writes b to w and flushes it.
func writeEvents(w *bufio.Writer, b []byte) error {
	if _, err := w.Write(b); err != nil {
		return err
	}
	return w.Flush()
}

// v3Events serves a topic's records as Server-Sent Events until the
// client goes away, a read fails, or shutdown. The stream's start is
// resolved before it starts: a topic that does not exist is 404, a bad
// query 400 (parseEventQuery).
func (h *handlers) v3Events(c *call) (int, any, error) {
	q, err := parseEventQuery(c)
	if err != nil {
		return 0, nil, err
	}
	tr, ok := c.adm.(topicReader)
	if !ok {
		return 0, nil, &apiError{http.StatusNotImplemented, http.StatusNotImplemented, "this node cannot read records"}
	}
	s := &eventStream{tr: tr, q: q, topic: c.topic, timeout: c.srv.opts.CallTimeout}
	if err := s.start(c.context()); err != nil {
		return 0, nil, err
	}
	answerEvents(c, func(w *bufio.Writer) int {
		return s.run(w, h.closing, h.eventHeartbeat)
	})
	return answered, nil, nil
}

// eventStream is one stream's position and filters.
type eventStream struct {
	tr      topicReader
	q       eventQuery
	topic   string
	timeout time.Duration // bounds each Kafka call
	next    map[int32]int64
	parts   []int32 // the partitions of next, sorted
	stamps  v3Stamps
	buf     []byte
	unsent  bool // the position moved past the last id written
}

// start sets the stream's position: the cursor's offsets, or those at
// from. Partitions the cursor does not name start from their earliest
// offset; those it names that the topic no longer has are dropped.
func (s *eventStream) start(ctx context.Context) error {
	at := s.q.from
	if s.q.cursor != nil {
		at = admin.AtEarliest
	}
	offsets, err := s.tr.OffsetsAt(ctx, s.topic, at)
	if err != nil {
		return err
	}
	for p := range offsets {
		if o, ok := s.q.cursor[p]; ok {
			offsets[p] = o
		}
	}
	s.next = offsets
	s.sortParts()
	return nil
}

func (s *eventStream) sortParts() {
	s.parts = s.parts[:0]
	for p := range s.next {
		s.parts = append(s.parts, p)
	}
	slices.Sort(s.parts)
}

// eventsShutdown ends a stream at shutdown, as a comment.
const eventsShutdown = ": krest is shutting down: reconnect to resume from the last event id\n\n"

// run writes the stream's events to w until the client goes away, a read
// fails, or closing closes; it returns the stream's status for the
// metrics.
func (s *eventStream) run(w *bufio.Writer, closing <-chan struct{}, heartbeat time.Duration) int {
	// The start's id: a client that reconnects before any event resumes
	// here, not at a later "latest".
	s.buf = fmt.Appendf(s.buf[:0], "retry: %d\nid: %s\n\n", eventRetry, cursor.Encode(s.next))
	if s.write(w) != nil {
		return statusClientGone
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	idle := time.NewTimer(eventFirstPoll)
	defer idle.Stop()
	poll := eventFirstPoll
	for {
		moved, err := s.readRound()
		if err != nil {
			s.buf = fmt.Appendf(s.buf[:0], ": %s\n\n", strings.ReplaceAll(err.Error(), "\n", " "))
			_ = s.write(w)
			return endStatus(err)
		}
		if len(s.buf) > 0 && s.write(w) != nil {
			return statusClientGone
		}
		switch {
		case moved:
			// Read on at once, after a look at shutdown and the heartbeat.
			poll = eventFirstPoll
			idle.Reset(0)
		case s.unsent:
			// Idle past records the filters left out: an id alone moves
			// the client's resume point past them.
			s.buf = fmt.Appendf(s.buf[:0], "id: %s\n\n", cursor.Encode(s.next))
			if s.write(w) != nil {
				return statusClientGone
			}
			s.unsent = false
			fallthrough
		default:
			idle.Reset(poll)
		}
		select {
		case <-closing:
			return s.end(w)
		case <-tick.C:
			if s.ping(w) != nil {
				return statusClientGone
			}
		case <-idle.C:
			if !moved {
				poll = min(2*poll, eventLastPoll)
			}
		}
	}
}

// endStatus is the status a stream ended by err is recorded with.
func endStatus(err error) int {
	if errors.Is(err, kafka.ErrTopicNotFound) || errors.Is(err, kafka.ErrPartitionNotFound) {
		return http.StatusNotFound
	}
	return http.StatusServiceUnavailable
}

// end writes the shutdown comment.
func (s *eventStream) end(w *bufio.Writer) int {
	s.buf = append(s.buf[:0], eventsShutdown...)
	_ = s.write(w)
	return http.StatusOK
}

// ping writes the heartbeat comment and adds the partitions created
// since the stream started, from their start.
func (s *eventStream) ping(w *bufio.Writer) error {
	s.buf = append(s.buf[:0], eventPing...)
	if err := s.write(w); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	// A failed look is tried again at the next heartbeat.
	if offsets, err := s.tr.OffsetsAt(ctx, s.topic, admin.AtEarliest); err == nil && len(offsets) > len(s.next) {
		for p, o := range offsets {
			if _, ok := s.next[p]; !ok {
				s.next[p] = o
			}
		}
		s.sortParts()
	}
	return nil
}

// write writes s.buf to w and flushes it.
func (s *eventStream) write(w *bufio.Writer) error { return writeEvents(w, s.buf) }

// readRound reads each partition once from its next offset and puts the
// events of the records that pass the filters in s.buf; it reports
// whether the position moved.
func (s *eventStream) readRound() (moved bool, err error) {
	s.buf = s.buf[:0]
	for _, p := range s.parts {
		from := s.next[p]
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		recs, err := s.tr.ReadRecords(ctx, admin.ReadRequest{Topic: s.topic, Partition: p, Offset: from,
			MaxRecords: eventReadRecords, MaxBytes: eventReadBytes})
		cancel()
		var oor *admin.OffsetOutOfRangeError
		switch {
		case errors.As(err, &oor):
			// Records gone (retention) or a log cut short: read on from
			// what the partition holds.
			s.next[p] = oor.Earliest
			if oor.Offset > oor.Latest {
				s.next[p] = oor.Latest
			}
			s.unsent = true
		case err != nil:
			return moved, err
		default:
			for _, r := range recs.Records {
				s.next[p] = r.Offset + 1
				if s.match(r) {
					s.appendEvent(r)
				} else {
					s.unsent = true
				}
			}
			if recs.NextOffset > s.next[p] {
				// Past what the log skips: control records, compaction.
				s.next[p] = recs.NextOffset
				s.unsent = true
			}
		}
		moved = moved || s.next[p] != from
	}
	return moved, nil
}

// match reports whether r passes the stream's filters.
func (s *eventStream) match(r *kgo.Record) bool {
	if s.q.hasKey && (r.Key == nil || !bytes.Equal(r.Key, s.q.key)) {
		return false
	}
	for _, want := range s.q.headers {
		if !slices.ContainsFunc(r.Headers, func(h kgo.RecordHeader) bool {
			return h.Key == want.Key && bytes.Equal(h.Value, want.Value)
		}) {
			return false
		}
	}
	return true
}

// appendEvent appends r's event to s.buf: its id (the position past r),
// its type, and its JSON, {"topic_name", then a read's record members},
// on data lines (endEventData).
func (s *eventStream) appendEvent(r *kgo.Record) {
	b := append(s.buf, "id: "...)
	b = append(b, cursor.Encode(s.next)...)
	if r.Value == nil {
		b = append(b, "\nevent: delete\ndata: "...)
	} else {
		b = append(b, "\nevent: record\ndata: "...)
	}
	start := len(b)
	b = appendTopicRecordFields(append(b, '{'), &s.stamps, s.topic, r, s.q.format)
	b = append(b, '}')
	s.unsent = false
	s.buf = endEventData(b, start)
}

// appendTopicRecordFields appends topic_name and the members of a read's
// record, without their braces: an event's record.
func appendTopicRecordFields(b []byte, stamps *v3Stamps, topic string, r *kgo.Record, format string) []byte {
	b = append(b, `"topic_name":`...)
	b = appendJSONString(b, topic)
	b = append(b, ',')
	return appendRecordFields(b, stamps, r, format)
}

// endEventData ends an event whose data, a JSON value, is b[start:]: its
// line breaks start new data lines, which a client joins with "\n",
// whitespace to JSON, and a blank line ends the event.
func endEventData(b []byte, start int) []byte {
	if i := bytes.IndexAny(b[start:], "\r\n"); i >= 0 {
		b = splitDataLines(b, start+i)
	}
	return append(b, "\n\n"...)
}

// splitDataLines turns every "\r", "\n" or "\r\n" of b from i on into
// "\ndata: ".
func splitDataLines(b []byte, i int) []byte {
	tail := bytes.Clone(b[i:])
	b = b[:i]
	for len(tail) > 0 {
		j := bytes.IndexAny(tail, "\r\n")
		if j < 0 {
			return append(b, tail...)
		}
		b = append(b, tail[:j]...)
		b = append(b, "\ndata: "...)
		if tail[j] == '\r' && j+1 < len(tail) && tail[j+1] == '\n' {
			j++
		}
		tail = tail[j+1:]
	}
	return b
}
