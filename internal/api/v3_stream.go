package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/produce"
)

// POST /v3/clusters/{cluster_id}/topics/{topic_name}/records takes one
// record or a stream of concatenated JSON records, a chunked body as long
// as the client keeps sending, and answers each with a delivery report, in
// order, as soon as it and every record before it are acknowledged: one
// JSON object and "\r\n" per record, on the one connection, as upstream
// streams them.
//
// The pipeline: the handler decodes and sends the first record and waits
// for it, so that its failure can still be the answer's status. Then the
// answer's stream writer (which fasthttp runs while the body may still be
// arriving) starts a reader goroutine, which decodes records from the body
// one by one and sends each without waiting, and itself takes the records
// in order, waits for each one's result and writes its report, flushing
// whenever the next result is not ready yet. At most streamPending records
// are between the two: past that the reader stops reading, so a fast
// client is slowed by TCP, not buffered in memory. A client that stops
// reading its reports, or goes away, ends the stream; so does shutdown,
// with a last report saying so.

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

// errShutdownStream is the last report of a stream ended by shutdown.
var errShutdownStream = &apiError{http.StatusServiceUnavailable, http.StatusServiceUnavailable,
	"krest is shutting down: the stream ends here; send the records after the last report again"}

// v3Records serves the records route. The HTTP status is the first
// record's: 404 when the topic does not exist, 503 with Retry-After or 504
// when it failed for a passing reason (unwritten; nothing else has been
// sent yet, so the request can be retried whole), and 200 otherwise,
// after which every record, good or bad, gets its report in place. A body
// that stops being JSON ends the stream with one last report saying why.
// Each record may be at most the body limit.
func (h *handlers) v3Records(c *call) (int, any, error) {
	if err := requireJSON(c); err != nil {
		return 0, nil, err
	}
	// Acknowledgements are awaited as long as the stream lives; each is
	// bounded by the producer's timeout.
	ctx, cancel := context.WithCancel(context.Background())
	s := &recordStream{p: c.p, ctx: ctx, topic: c.topic,
		body: &recordLimit{r: c.fctx.RequestBodyStream(), max: int64(h.maxBody)}}
	s.dec = newStreamJSON(s.body, h.maxBody)

	first := s.next()
	if first == nil {
		cancel()
		return 0, nil, errEmptyStream
	}
	<-first.done
	if err := first.res.Err; refusesRequest(err) || unwritten([]produce.Result{first.res}) != nil {
		cancel()
		// The rest of the body goes unread: the connection cannot serve
		// another request.
		c.fctx.SetConnectionClose()
		return 0, nil, err
	}
	c.fctx.SetContentType("application/json")
	c.stream(http.StatusOK, func(w *bufio.Writer) int {
		defer cancel()
		return s.run(c, w, first, h.closing, cancel)
	})
	return answered, nil, nil
}

// run streams the records after first and their reports to w until the
// body ends, the client goes away, or closing closes; it returns the
// stream's status for the metrics.
func (s *recordStream) run(c *call, w *bufio.Writer, first *streamed, closing <-chan struct{}, cancel func()) int {
	queue := make(chan *streamed, streamPending)
	queue <- first
	quit := make(chan struct{})
	go func() {
		defer close(queue)
		for last := first.last; !last; {
			select {
			case <-quit:
				return
			default:
			}
			next := s.next()
			if next == nil {
				return
			}
			queue <- next
			last = next.last
		}
	}()
	// Shutdown, or a client gone, ends the stream: the reader stops at its
	// next record, woken from a read in progress.
	var once sync.Once
	stop := func() {
		once.Do(func() {
			close(quit)
			cancel()
			_ = c.fctx.SetReadDeadline(time.Now())
		})
	}
	var shutdown atomic.Bool
	go func() {
		select {
		case <-closing:
			shutdown.Store(true)
			stop()
		case <-s.ctx.Done():
		}
	}()
	status := writeReports(w, c.cluster, queue, stop)
	switch {
	case shutdown.Load() && status == http.StatusOK:
		_, _ = w.Write(append(appendErrorBody(nil, errShutdownStream.Code, errShutdownStream.Message), "\r\n"...))
		_ = w.Flush()
	case s.body.failed != nil:
		// The queue is closed: the reader is done with the body.
		status = statusClientGone
	}
	return status
}

// recordStream decodes the records of one request body and sends them.
type recordStream struct {
	p     producer
	ctx   context.Context // bounds the waiting for acknowledgements: ends with the stream
	topic string
	body  *recordLimit
	dec   *recordJSON
	ended bool // the body cannot be read on
}

// next decodes the next record of the body and sends it, or returns nil at
// the end of the body. A record that cannot be produced comes back done,
// its error in place of a result; one after which the body cannot be read
// on is marked last.
func (s *recordStream) next() *streamed {
	rec, st := s.decode()
	if st == nil || st.res.Err != nil {
		return st
	}
	s.p.Send(s.ctx, rec, func(res produce.Result) {
		st.res = res
		close(st.done)
	})
	return st
}

// decode decodes the next record of the body: the record and its
// streamed report to be, or, for a record that cannot be produced, no
// record and the report done with its error. It returns nil at the end
// of the body, or of its connection.
//
// Invariants (FuzzRecordStream): it never panics, and every JSON value of
// the body is one record or one error, in order, as a json.Decoder that
// disallows unknown fields decodes the values of the body into v3Records,
// until a value is not JSON; that error is the last one, and after it
// decode returns nil.
func (s *recordStream) decode() (*kgo.Record, *streamed) {
	if s.ended {
		return nil, nil
	}
	var in v3Record
	last, err := s.dec.record(&in)
	s.body.next()
	if err == io.EOF || s.body.failed != nil {
		// The end of the body, or of its connection: the client went
		// away, or the stream was stopped.
		s.ended = true
		return nil, nil
	}
	st := &streamed{done: make(chan struct{}), last: last}
	s.ended = last
	rec := new(kgo.Record)
	if err == nil {
		mem := newRecordBytes(s.dec.size())
		st.types, err = in.record(rec, s.topic, &mem)
	} else if last {
		err = streamError(err)
	}
	if err != nil {
		st.res.Err = err
		close(st.done)
		return nil, st
	}
	return rec, st
}

// streamError is the last report of a stream whose body cannot be read on.
func streamError(err error) error {
	var ae *apiError
	var syntaxErr *jsonSyntaxError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &syntaxErr):
		return badRequest("Error processing JSON: " + syntaxErr.msg)
	}
	return badRequest("Error reading the request body: " + err.Error())
}

// writeReports writes the report of each record from queue to w, in
// order, as its result comes, and flushes whenever the next result is not
// ready yet; it returns when queue is closed and drained. A failed write
// (the client went away or stopped reading) calls stop, which ends the
// queue, and makes the status statusClientGone; otherwise it is 200.
func writeReports(w *bufio.Writer, cluster string, queue <-chan *streamed, stop func()) int {
	var b []byte
	var err error
	send := func(flush bool) {
		if err == nil && len(b) > 0 {
			_, err = w.Write(b)
		}
		b = b[:0]
		if err == nil && flush {
			err = w.Flush()
		}
		if err != nil {
			stop()
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
	if err != nil {
		return statusClientGone
	}
	return http.StatusOK
}

// streamWriteSize is how many bytes of reports that are ready at once the
// writer gathers before writing them.
const streamWriteSize = 32 << 10

// recordLimit reads a stream's body, failing once one record has taken
// more than max bytes. The decoder reads ahead, so a record is bounded by
// max plus what was read ahead of it: under twice max.
type recordLimit struct {
	r      io.Reader
	max    int64
	read   int64
	failed error // the body could not be read: its connection failed, or was stopped
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.read > l.max {
		return 0, &apiError{http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("The request included a message larger than the maximum message size the server can accept: a record is larger than %d bytes.", l.max)}
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	if err != nil && err != io.EOF {
		l.failed = err
	}
	return n, err
}

// next starts counting for the next record.
func (l *recordLimit) next() { l.read = 0 }
