package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/kafka"
	"krest/internal/produce"
)

// POST /v3/clusters/{cluster_id}/topics/{topic_name}/records takes one
// record or a stream of concatenated JSON records, a chunked body as long
// as the client keeps sending, and answers each with a delivery report, in
// order, as soon as it and every record before it are acknowledged: one
// JSON object and "\r\n" per record, on the one connection, as upstream
// streams them.
//
// The pipeline: the handler decodes records from the body one by one as
// they arrive and sends each without waiting; a writer goroutine takes the
// records in order, waits for each one's result and writes its report,
// flushing whenever the next result is not ready yet. At most
// streamPending records are between the two: past that the handler stops
// reading, so a fast client is slowed by TCP, not buffered in memory.

// streamPending bounds the records of one stream that are decoded but not
// yet reported.
const streamPending = 1000

// streamed is one record of a stream on its way to its report.
type streamed struct {
	done  chan struct{} // closed once res is set
	res   produce.Result
	types v3Types
	last  bool // the stream ends after this report (the body is unreadable)
}

// errEmptyStream is upstream's answer to a records request without records.
var errEmptyStream = &apiError{http.StatusUnprocessableEntity, http.StatusUnprocessableEntity,
	"Payload error. Request body is empty. Data is required."}

// handleV3Records serves the records route. The HTTP status is the first
// record's: 404 when the topic does not exist, 503 with Retry-After or 504
// when it failed for a passing reason (unwritten; nothing else has been
// sent yet, so the request can be retried whole), and 200 otherwise,
// after which every record, good or bad, gets its report in place. A body
// that stops being JSON ends the stream with one last report saying why.
// Each record may be at most maxRecord bytes.
func handleV3Records(p producer, adm adminer, maxRecord int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		args, err := parsePath(r)
		c := &restCall{pathArgs: args, w: w, r: r}
		if err == nil {
			err = checkCluster(c, adm)
		}
		if err == nil {
			err = requireJSON(r)
		}
		if err != nil {
			writeError(w, v3ErrorFor(err))
			return
		}
		rc := http.NewResponseController(w)
		// HTTP/1.1 answers while the body is still coming; HTTP/2 always
		// can (ErrNotSupported).
		_ = rc.EnableFullDuplex()
		s := &recordStream{p: p, r: r, topic: args.topic, body: &recordLimit{r: r.Body, max: maxRecord}}
		s.dec = json.NewDecoder(s.body)
		s.dec.DisallowUnknownFields()

		first := s.next()
		if first == nil {
			writeError(w, errEmptyStream)
			return
		}
		<-first.done
		if err := first.res.Err; errors.Is(err, kafka.ErrTopicNotFound) || unwritten([]produce.Result{first.res}) != nil {
			// The rest of the body goes unread: the connection cannot
			// serve another request.
			w.Header().Set("Connection", "close")
			writeError(w, v3ErrorFor(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		queue := make(chan *streamed, streamPending)
		queue <- first
		written := make(chan struct{})
		go func() {
			defer close(written)
			writeReports(w, rc, args.cluster, queue)
		}()
		for last := first.last; !last; {
			next := s.next()
			if next == nil {
				break
			}
			queue <- next
			last = next.last
		}
		close(queue)
		<-written
		if !s.ended {
			// The stream ended before its body did. Discard a little of
			// the rest, as the server would, but not for long: the
			// client may never stop.
			_ = rc.SetReadDeadline(time.Now().Add(drainTimeout))
			_ = r.Body.Close()
		}
	})
}

// drainTimeout bounds how long a stream that ended early reads on to
// leave its connection reusable.
const drainTimeout = time.Second

// recordStream decodes the records of one request body and sends them.
type recordStream struct {
	p     producer
	r     *http.Request
	topic string
	body  *recordLimit
	dec   *json.Decoder
	ended bool // the body was read to its end
}

// next decodes the next record of the body and sends it, or returns nil at
// the end of the body. A record that cannot be produced comes back done,
// its error in place of a result; one after which the body cannot be read
// on is marked last.
func (s *recordStream) next() *streamed {
	var in v3Record
	err := s.dec.Decode(&in)
	s.body.next()
	if err == io.EOF {
		s.ended = true
		return nil
	}
	st := &streamed{done: make(chan struct{})}
	rec := new(kgo.Record)
	if err == nil {
		st.types, err = in.record(rec, s.topic)
	} else if st.last = !recordOnly(err); st.last {
		err = streamError(err)
	} else {
		err = decodeError(err)
	}
	if err != nil {
		st.res.Err = err
		close(st.done)
		return st
	}
	s.p.Send(s.r.Context(), rec, func(res produce.Result) {
		st.res = res
		close(st.done)
	})
	return st
}

// recordOnly reports whether err, from decoding one record, concerns that
// record alone: the decoder read the whole JSON value, and the next one
// can be decoded.
func recordOnly(err error) bool {
	var typeErr *json.UnmarshalTypeError
	return errors.As(err, &typeErr) || strings.HasPrefix(err.Error(), "json: unknown field ")
}

// streamError is the last report of a stream whose body cannot be read on.
func streamError(err error) error {
	var ae *apiError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("Error processing JSON: " + err.Error())
	}
	return badRequest("Error reading the request body: " + err.Error())
}

// writeReports writes the report of each record from queue, in order, as
// its result comes, and flushes whenever the next result is not ready yet;
// it returns when queue is closed and drained. A failed write (the client
// went away) stops the writing, not the draining.
func writeReports(w http.ResponseWriter, rc *http.ResponseController, cluster string, queue <-chan *streamed) {
	var b []byte
	var err error
	send := func(flush bool) {
		if err == nil && len(b) > 0 {
			_, err = w.Write(b)
		}
		b = b[:0]
		if err == nil && flush {
			err = rc.Flush()
		}
	}
	for st := range queue {
		select {
		case <-st.done:
		default:
			send(true)
			<-st.done
		}
		b = appendV3Report(b, cluster, st.res, st.types)
		b = append(b, "\r\n"...)
		switch {
		case len(queue) == 0:
			send(true)
		case len(b) >= streamWriteSize:
			send(false)
		}
	}
	send(true)
}

// streamWriteSize is how many bytes of reports that are ready at once the
// writer gathers before writing them.
const streamWriteSize = 32 << 10

// recordLimit reads a stream's body, failing once one record has taken
// more than max bytes. The decoder reads ahead, so a record is bounded by
// max plus what was read ahead of it: under twice max.
type recordLimit struct {
	r    io.Reader
	max  int64
	read int64
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.read > l.max {
		return 0, &apiError{http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("The request included a message larger than the maximum message size the server can accept: a record is larger than %d bytes.", l.max)}
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// next starts counting for the next record.
func (l *recordLimit) next() { l.read = 0 }
