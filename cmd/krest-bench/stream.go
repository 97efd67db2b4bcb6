package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// bareAllTitle names the bare consumer the SSE rows are compared with.
const bareAllTitle = "bare franz-go direct consume loop of every partition (ConsumePartitions, PollFetches)"

// streamReaders are the rows of the SSE throughput table, in the order each round runs them.
var streamReaders = []reader{
	{name: "bare", title: bareAllTitle, inBench: true, read: readBare},
	{name: "krest", title: "krest GET …/records:stream?from=earliest, one Server-Sent Events stream (BINARY values)",
		read: readStream},
}

// runSSE measures krest's Server-Sent Events stream: its throughput reading --consume-records
// pre-filled records against a bare franz-go consumer reading the same, and then the latency from
// producing a record to its event at a steady --sse-rate, against the same bare consumer's.
func (b *bench) runSSE(ctx context.Context) {
	b.rep.Streams = b.runReadTable(ctx, readTable{name: "sse", title: "SSE stream", partitions: b.opt.partitions,
		records: b.opt.consumeRecords, readers: streamReaders})
	if ctx.Err() == nil {
		b.runStreamLatency(ctx)
	}
}

// streamURL is the records:stream URL of topic on the krest at base, with query.
func streamURL(base, cluster, topic, query string) string {
	return fmt.Sprintf("%s/v3/clusters/%s/topics/%s/records:stream?%s", base, url.PathEscape(cluster), url.PathEscape(topic), query)
}

// readStream reads the topic from its start through one SSE stream of krest, until it has had r.records
// record events.
func readStream(ctx context.Context, _ *bench, r *readRun) error {
	r.begin()
	s, err := openStream(ctx, streamURL(r.krest, r.cluster, r.topic, "from=earliest"))
	if err != nil {
		return err
	}
	defer s.close()
	var n int64
	for n < r.records {
		event, _, err := s.next()
		if err != nil {
			return fmt.Errorf("SSE stream at %d of %d records: %w", n, r.records, err)
		}
		if event == eventRecord {
			n++
		}
	}
	r.end()
	return nil
}

// eventRecord is the event type of a record in krest's stream.
const eventRecord = "record"

// sseLineBytes bounds one line of a stream the bench reads.
const sseLineBytes = 64 << 10

// sseStream is an open Server-Sent Events stream.
type sseStream struct {
	body io.ReadCloser
	r    *bufio.Reader
	data []byte
}

// openStream GETs u with Accept: text/event-stream and returns the stream once it is answered 200.
func openStream(ctx context.Context, u string) (*sseStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// No client timeout: the stream lasts as long as ctx.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, firstLine(body))
	}
	return &sseStream{body: resp.Body, r: bufio.NewReaderSize(resp.Body, sseLineBytes)}, nil
}

// next reads the stream to the end of its next event block and returns the block's event type (""
// for a block without one, such as an id alone) and its data, which is valid until the next call.
// Comments are skipped.
func (s *sseStream) next() (event string, data []byte, err error) {
	s.data = s.data[:0]
	fields := false
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", nil, fmt.Errorf("a line of the stream is longer than %d bytes", sseLineBytes)
		}
		if err != nil {
			return "", nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if fields {
				return event, s.data, nil
			}
		case line[0] == ':':
		default:
			fields = true
			name, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(name) {
			case "event":
				event = eventRecord
				if string(value) != eventRecord {
					event = string(value)
				}
			case "data":
				if len(s.data) > 0 {
					s.data = append(s.data, '\n')
				}
				s.data = append(s.data, value...)
			}
		}
	}
}

// close ends the stream.
func (s *sseStream) close() { s.body.Close() }

// watcher is one row of the delivery-latency table: watch reads w.topic from its start, calls w.ready
// once it reads, and calls w.seen with the sequence number (the key) of every record it receives, until
// w.seen says every record was seen or ctx ends.
type watcher struct {
	name, title string
	watch       func(ctx context.Context, b *bench, w *watchRun) error
}

// watchers are the latency rows.
var watchers = []watcher{
	{name: "bare", title: bareAllTitle, watch: watchBare},
	{name: "krest", title: "krest GET …/records:stream, one Server-Sent Events stream", watch: watchStream},
}

// watchRun is one watcher's part in the latency run.
type watchRun struct {
	topic      string
	partitions int
	krest      string
	cluster    string
	ready      func()
	seen       func(seq int64) (all bool)
}

// latencyResult is one row of the delivery-latency table.
type latencyResult struct {
	Target     string  `json:"target"`
	Title      string  `json:"title"`
	Records    int64   `json:"records"` // measured deliveries
	RatePerSec int     `json:"rate_per_sec"`
	Latency    latency `json:"latency_ms"`
	Error      string  `json:"error,omitempty"`
}

// runStreamLatency starts a krest on a fresh broker and, on a fresh topic, every watcher; once they all
// read, it produces warm-up records and then --sse-records records at --sse-rate, each keyed by its
// sequence number, and every watcher times each record from just before its Produce call to its
// delivery. The warm-up (a second's worth, at most a tenth of the records) is not measured.
func (b *bench) runStreamLatency(ctx context.Context) {
	title := "SSE delivery latency"
	fail := func(err error) { b.skip("sse-latency", title, err) }
	topic, drop, err := b.freshTopic(ctx, "sse-latency", b.opt.partitions)
	if err != nil {
		fail(err)
		return
	}
	defer drop()
	idle := b.topicName("sse-latency-idle")
	p, base, err := b.startKrest(ctx, b.krest, idle, idle)
	if err != nil {
		fail(err)
		return
	}
	defer p.stop()

	rate, measured := b.opt.sseRate, int64(b.opt.sseRecords)
	warm := min(int64(rate), max(1, measured/10))
	total := warm + measured
	sent := make([]atomic.Int64, total) // UnixNano just before each Produce call
	took := time.Duration(total) * time.Second / time.Duration(rate)
	ctx, cancel := context.WithTimeout(ctx, took+30*time.Second)
	defer cancel()

	results := make([]latencyResult, len(watchers))
	var ready, done sync.WaitGroup
	for i, w := range watchers {
		results[i] = latencyResult{Target: w.name, Title: w.title, RatePerSec: rate}
		h := newHistogram()
		got := make([]bool, total)
		var distinct int64
		run := &watchRun{topic: topic, partitions: b.opt.partitions, krest: base, cluster: b.kafka.id, ready: sync.OnceFunc(ready.Done),
			seen: func(seq int64) bool {
				if seq < 0 || seq >= total || got[seq] {
					return distinct == total
				}
				at := sent[seq].Load()
				if at == 0 {
					return false // not sent: not a key of this run
				}
				got[seq] = true
				distinct++
				if seq >= warm {
					h.RecordValue(max(1, time.Since(time.Unix(0, at)).Microseconds()))
				}
				return distinct == total
			}}
		ready.Add(1)
		done.Go(func() {
			err := w.watch(ctx, b, run)
			run.ready() // a watcher that failed to start holds no one up
			r := &results[i]
			r.Records = h.TotalCount()
			r.Latency = latencyOf(h)
			switch {
			case err != nil && distinct < total:
				r.Error = fmt.Sprintf("%d of %d records: %v", distinct, total, err)
			case distinct < total:
				r.Error = fmt.Sprintf("%d of %d records", distinct, total)
			}
		})
	}
	ready.Wait()
	b.progress("sse-latency: producing %d records at %d/s", total, rate)
	if err := b.produceAtRate(ctx, topic, rate, sent); err != nil {
		cancel()
		done.Wait()
		fail(err)
		return
	}
	done.Wait()
	for _, r := range results {
		b.progress("sse-latency: %-6s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms over %d records %s", r.Target, r.Latency.P50,
			r.Latency.P99, r.Latency.Max, r.Records, r.Error)
	}
	b.rep.StreamLatency = results
}

// produceAtRate produces len(sent) records to topic, record i at rate records/s after the first and
// keyed by i, storing in sent[i] when it was handed to the client; it returns once every record is
// acknowledged.
func (b *bench) produceAtRate(ctx context.Context, topic string, rate int, sent []atomic.Int64) error {
	start := time.Now()
	return b.produceKeyed(ctx, topic, int64(len(sent)), func(i int64) {
		// Pacing: each record waits for its own moment, so a late one does not delay the rest.
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		sent[i].Store(time.Now().UnixNano())
	})
}

// watchBare consumes every partition from offset 0 with a franz-go client of its own.
func watchBare(ctx context.Context, b *bench, w *watchRun) error {
	cl, err := b.bareClient(w.topic, w.partitions)
	if err != nil {
		return err
	}
	defer cl.Close()
	w.ready()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fs.Err0(); err != nil {
			return err
		}
		for it := fs.RecordIter(); !it.Done(); {
			seq, err := strconv.ParseInt(string(it.Next().Key), 10, 64)
			if err == nil && w.seen(seq) {
				return nil
			}
		}
	}
}

// watchStream reads the topic from its start through one SSE stream of krest, taking each record's
// sequence number from its key.
func watchStream(ctx context.Context, _ *bench, w *watchRun) error {
	s, err := openStream(ctx, streamURL(w.krest, w.cluster, w.topic, "from=earliest"))
	if err != nil {
		return err
	}
	defer s.close()
	// The stream's first block is its start's id: from there it reads.
	if _, _, err := s.next(); err != nil {
		return err
	}
	w.ready()
	var rec struct {
		Key struct {
			Data []byte `json:"data"` // BINARY: base64
		} `json:"key"`
	}
	for {
		event, data, err := s.next()
		if err != nil {
			return err
		}
		if event != eventRecord {
			continue
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("record event: %w: %s", err, firstLine(data))
		}
		seq, err := strconv.ParseInt(string(rec.Key.Data), 10, 64)
		if err == nil && w.seen(seq) {
			return nil
		}
	}
}
