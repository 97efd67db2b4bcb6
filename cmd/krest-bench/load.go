package main

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// outcome is what one request achieved.
type outcome struct {
	sent       int   // records in the request
	acked      int   // records the target acknowledged
	status     int   // HTTP status; 0 when there was no HTTP response
	retryAfter bool  // the response carried a Retry-After header
	err        error // why the request did not complete, if it did not
}

// sendFunc sends request number seq and waits for the answer.
type sendFunc func(ctx context.Context, seq int64) outcome

// load is one closed-loop run: concurrency workers each send a request, wait for the answer and send the
// next, until duration has passed or, when requests is positive, that many requests have been sent.
type load struct {
	concurrency int
	duration    time.Duration
	requests    int64
	send        sendFunc
}

// loadResult sums up a load run. Latencies are those of fully acknowledged requests.
type loadResult struct {
	elapsed      time.Duration
	requests     int64         // requests answered or failed
	okRequests   int64         // requests whose every record was acknowledged
	sent         int64         // records sent
	acked        int64         // records acknowledged
	failed       int64         // requests without an HTTP response or client acknowledgement
	statuses     map[int]int64 // answers by HTTP status
	noRetryAfter int64         // 429 and 503 answers without a Retry-After header
	firstErr     string        // the first failure, as an example
	latency      *hdrhistogram.Histogram
}

// newHistogram returns a histogram of microseconds from 1 µs to 2 minutes at 3 significant digits.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(2*time.Minute/time.Microsecond), 3)
}

// seqs numbers requests across every run, so that record ids are unique in a bench run.
var seqs atomic.Int64

// run drives the load and returns its result once every worker has stopped.
func (l load) run(ctx context.Context) loadResult {
	// Workers share a few locked histograms: one per worker would cost 140 KB each at 2 000 clients.
	shards := make([]struct {
		sync.Mutex
		h *hdrhistogram.Histogram
	}, 16)
	for i := range shards {
		shards[i].h = newHistogram()
	}
	results := make([]loadResult, l.concurrency)
	var budget atomic.Int64
	start := time.Now()
	deadline := start.Add(l.duration)
	var wg sync.WaitGroup
	for w := range l.concurrency {
		wg.Go(func() {
			r := &results[w]
			r.statuses = map[int]int64{}
			shard := &shards[w%len(shards)]
			for ctx.Err() == nil {
				if l.requests > 0 {
					if budget.Add(1) > l.requests {
						return
					}
				} else if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				o := l.send(ctx, seqs.Add(1))
				took := time.Since(t0)
				r.add(o)
				if o.err == nil && o.acked == o.sent {
					shard.Lock()
					shard.h.RecordValue(max(1, took.Microseconds()))
					shard.Unlock()
				}
			}
		})
	}
	wg.Wait()
	total := newLoadResult()
	total.elapsed = time.Since(start)
	for _, r := range results {
		total.merge(r)
	}
	for i := range shards {
		total.latency.Merge(shards[i].h)
	}
	return total
}

// newLoadResult returns an empty result.
func newLoadResult() loadResult {
	return loadResult{statuses: map[int]int64{}, latency: newHistogram()}
}

// add counts one request.
func (r *loadResult) add(o outcome) {
	r.requests++
	r.sent += int64(o.sent)
	r.acked += int64(o.acked)
	if o.status != 0 {
		r.statuses[o.status]++
		if (o.status == http.StatusTooManyRequests || o.status == http.StatusServiceUnavailable) && !o.retryAfter {
			r.noRetryAfter++
		}
	}
	switch {
	case o.err != nil:
		if o.status == 0 {
			r.failed++
		}
		if r.firstErr == "" {
			r.firstErr = o.err.Error()
		}
	case o.acked == o.sent:
		r.okRequests++
	}
}

// merge adds another result to r.
func (r *loadResult) merge(o loadResult) {
	r.elapsed += o.elapsed
	if o.latency != nil {
		r.latency.Merge(o.latency)
	}
	r.requests += o.requests
	r.okRequests += o.okRequests
	r.sent += o.sent
	r.acked += o.acked
	r.failed += o.failed
	r.noRetryAfter += o.noRetryAfter
	for s, n := range o.statuses {
		r.statuses[s] += n
	}
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
}

// newHTTPClient returns the load generator's keep-alive client, which holds up to conns connections to
// each host. It is fasthttp's, whose CPU per request is a fraction of net/http's, so that the generator
// takes less of the machine from the servers it measures. POST is not idempotent, so fasthttp never
// retries a request: every record is sent once.
func newHTTPClient(conns int) *fasthttp.Client {
	return &fasthttp.Client{
		MaxConnsPerHost:          conns,
		MaxConnWaitTimeout:       30 * time.Second,
		MaxIdleConnDuration:      time.Minute,
		ReadTimeout:              30 * time.Second,
		WriteTimeout:             30 * time.Second,
		NoDefaultUserAgentHeader: true,
	}
}

// doRequest sends one request to uri, with the Accept header accept unless it is empty and body typed
// contentType (none if contentType is empty), and returns the answer's status and body (a copy).
func doRequest(hc *fasthttp.Client, method, uri, accept, contentType string, body []byte) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(uri)
	req.Header.SetMethod(method)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if contentType != "" {
		req.Header.SetContentType(contentType)
		req.SetBodyRaw(body)
	}
	if err := hc.Do(req, resp); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), bytes.Clone(resp.Body()), nil
}
