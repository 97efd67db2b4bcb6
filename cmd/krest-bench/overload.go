package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runOverload points --overload-clients closed-loop clients at a fresh krest for --overload-duration and
// records how it copes: answers by status, Retry-After on refusals, peak RSS, verification, and whether
// /healthz answers 200 afterwards.
func (b *bench) runOverload(ctx context.Context) {
	r := &overloadResult{Clients: b.opt.overloadClients, RSSLimitMiB: b.opt.overloadRSSMiB}
	b.rep.Overload = r
	defer func() { b.progress("overload: %s", r.summary()) }()
	topic, drop, err := b.freshTopic(ctx, "overload", b.opt.partitions)
	if err != nil {
		r.Skipped, r.Error = skipReason(err), err.Error()
		return
	}
	defer drop()
	p, base, err := b.startKrest(ctx, b.krest, topic, "bench-"+topic)
	if err != nil {
		r.Skipped, r.Error = skipReason(err), err.Error()
		return
	}
	defer p.stop()
	before, err := b.kafka.records(ctx, topic)
	if err != nil {
		r.Error = err.Error()
		return
	}

	b.progress("overload: %d clients for %v", r.Clients, b.opt.overloadDuration)
	hc := newHTTPClient(r.Clients)
	defer hc.CloseIdleConnections()
	send := singleInstance(p, base+"/api/messages", topic).sender(hc, spec{size: b.opt.bodyBytes, batch: 1})
	m := newMeter(p.pid())
	m.begin()
	res := load{concurrency: r.Clients, duration: b.opt.overloadDuration, send: send}.run(ctx)
	m.end()
	if rss := m.resources(0); rss != nil {
		r.PeakRSSMiB = rss.PeakRSSMiB
	}
	r.Alive = p.running()
	r.Healthz = b.healthAfter(ctx, base+"/healthz")

	r.Seconds = res.elapsed.Seconds()
	r.Requests = res.requests
	r.Statuses = statusCounts(res)
	r.NoResponse = res.failed
	r.MissingRetryAfter = res.noRetryAfter
	r.OKPerSec = float64(res.okRequests) / r.Seconds
	r.P99OKMs = latencyOf(res.latency).P99
	r.FirstError = res.firstErr
	r.setShares(res.statuses, res.failed)
	if r.Alive {
		after, err := b.kafka.records(ctx, topic)
		v := verification{acked: res.acked, unacked: res.sent - res.acked, inTopic: after - before}
		if err == nil {
			err = v.err()
		}
		if err != nil {
			r.Error = "verification failed: " + err.Error()
		}
		r.Verification = v.String()
	} else {
		r.Error = p.exitError().Error()
	}
}

// healthAfter polls url for up to 10 seconds until it answers 200, and returns the last status (0 for no
// answer).
func (b *bench) healthAfter(ctx context.Context, url string) int {
	cl := &http.Client{Timeout: 2 * time.Second}
	status := 0
	poll(ctx, 10*time.Second, 100*time.Millisecond, func() error {
		resp, err := cl.Get(url)
		if err != nil {
			status = 0
			return err
		}
		resp.Body.Close()
		status = resp.StatusCode
		if status != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
	return status
}

// setShares sets the shares of r.Requests answered by statuses (counts
// by HTTP status) and of the failed requests, which had no answer.
func (r *overloadResult) setShares(statuses map[int]int64, failed int64) {
	if r.Requests == 0 {
		return
	}
	var ok, tooMany, unavailable int64
	for status, n := range statuses {
		switch {
		case status/100 == 2:
			ok += n
		case status == http.StatusTooManyRequests:
			tooMany += n
		case status == http.StatusServiceUnavailable:
			unavailable += n
		}
	}
	other := r.Requests - ok - tooMany - unavailable - failed
	pct := func(n int64) float64 { return 100 * float64(n) / float64(r.Requests) }
	r.Share2xx, r.Share429, r.Share503, r.ShareOther, r.ShareNoResponse = pct(ok), pct(tooMany), pct(unavailable), pct(other), pct(failed)
}

// summary is the progress line of the overload run.
func (r *overloadResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("%d requests: %.1f%% 2xx, %.1f%% 429, %.1f%% 503, %.1f%% other, %.1f%% unanswered; "+
		"peak RSS %.0f MiB; alive %v; /healthz %d", r.Requests, r.Share2xx, r.Share429, r.Share503, r.ShareOther,
		r.ShareNoResponse, r.PeakRSSMiB, r.Alive, r.Healthz)
}
