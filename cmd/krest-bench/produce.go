package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
)

// runTarget starts target t on a fresh topic, measures every point of its sweep and stops it.
func (b *bench) runTarget(ctx context.Context, t target) {
	fail := func(err error) {
		b.rep.Skipped = append(b.rep.Skipped, skipped{Target: t.name, Title: t.title, Reason: skipReason(err)})
		if skipReason(err) == "" {
			b.rep.Skipped[len(b.rep.Skipped)-1].Error = err.Error()
		}
		b.progress("%s: %v", t.name, err)
	}
	topic, created := "", false
	if t.kafka {
		if err := b.freshBroker(ctx); err != nil {
			fail(err)
			return
		}
		topic = t.topic
		if topic == "" {
			topic = b.topicName(t.name)
		}
		var err error
		created, err = b.kafka.createTopic(ctx, topic, b.opt.partitions)
		if err != nil {
			fail(err)
			return
		}
		if created {
			defer b.kafka.deleteTopic(context.WithoutCancel(ctx), topic)
		} else {
			b.progress("%s: topic %s already existed; records are counted by its growth", t.name, topic)
		}
	}
	b.progress("%s: starting", t.name)
	in, err := t.start(ctx, b, topic)
	if err != nil {
		fail(err)
		return
	}
	defer in.close()
	for _, s := range b.specs(t) {
		if ctx.Err() != nil {
			return
		}
		p := b.measure(ctx, t, in, s)
		b.rep.Points = append(b.rep.Points, p)
		b.progress("%s", p.summary())
		if created {
			// Verified records are dropped so that the broker does not carry them into the next point.
			b.kafka.trim(ctx, topic)
		}
	}
}

// specs returns the points of target t: the concurrency sweep at --body-bytes (for every batch size of
// the batch target), the large-record run, and for the client ceiling the record concurrency that the
// batch target check compares with.
func (b *bench) specs(t target) []spec {
	o := b.opt
	batches := []int{1}
	if t.name == "batch" {
		batches = o.batchSizes
	}
	var specs []spec
	for _, n := range batches {
		for _, c := range o.concurrency {
			specs = append(specs, spec{concurrency: c, size: o.bodyBytes, batch: n, chart: true})
		}
	}
	if t.name != "batch" && o.largeBytes > 0 {
		specs = append(specs, spec{concurrency: o.largeConcurrency, size: o.largeBytes, batch: 1})
	}
	if c := b.checkConcurrency() * slices.Max(o.batchSizes); t.name == "client" && o.runs("batch") &&
		!slices.Contains(o.concurrency, c) {
		specs = append(specs, spec{concurrency: c, size: o.bodyBytes, batch: 1})
	}
	return specs
}

// checkConcurrency returns the concurrency the target checks compare at: --check-concurrency, or the
// highest swept level when that one is not swept.
func (b *bench) checkConcurrency() int {
	if slices.Contains(b.opt.concurrency, b.opt.checkConcurrency) {
		return b.opt.checkConcurrency
	}
	return slices.Max(b.opt.concurrency)
}

// measure runs one point: warm-up, measured load with CPU and memory meters on the gateway and broker,
// then the verification that the topic grew by exactly the acknowledged records. A point that fails
// carries its error and no figures.
func (b *bench) measure(ctx context.Context, t target, in *instance, s spec) point {
	p := point{Target: t.name, Title: t.title, Concurrency: s.concurrency, RecordBytes: s.size,
		RecordsPerRequest: s.batch, Chart: s.chart}
	hc := newHTTPClient(s.concurrency)
	defer hc.CloseIdleConnections()
	send := in.sender(hc, s)

	var before int64
	if in.topic != "" {
		var err error
		if before, err = b.kafka.records(ctx, in.topic); err != nil {
			p.Error = err.Error()
			return p
		}
	}
	var warm loadResult
	if b.opt.warmup > 0 {
		warm = load{concurrency: s.concurrency, duration: b.opt.warmup, send: send}.run(ctx)
	}
	brokerPID := b.brokerPID()
	if !t.kafka {
		brokerPID = 0
	}
	gateway, broker := startMeter(in.pid()), startMeter(brokerPID)
	res := load{concurrency: s.concurrency, duration: b.opt.duration, requests: b.opt.requests, send: send}.run(ctx)
	p.Gateway, p.Broker = resourcesOf(gateway, res.acked), resourcesOf(broker, res.acked)

	switch {
	case in.proc != nil && !in.proc.running():
		p.Error = in.proc.exitError().Error()
	case res.okRequests == 0:
		p.Error = "no request succeeded: " + res.firstErr
	}
	if in.topic != "" && p.Error == "" {
		after, err := b.kafka.records(ctx, in.topic)
		v := verification{acked: warm.acked + res.acked, unacked: warm.sent - warm.acked + res.sent - res.acked, inTopic: after - before}
		if err == nil {
			err = v.err()
		}
		if err != nil {
			p.Error = "verification failed: " + err.Error()
		}
		p.Verification = v.String()
	}
	if p.Error != "" {
		p.Gateway, p.Broker = nil, nil
		return p
	}
	p.fill(res)
	return p
}

// fill copies the figures of a measured load into p.
func (p *point) fill(res loadResult) {
	secs := res.elapsed.Seconds()
	p.Seconds = secs
	p.Requests = res.requests
	p.Errors = res.requests - res.okRequests
	p.Records = res.acked
	p.RequestsPerSec = float64(res.okRequests) / secs
	p.RecordsPerSec = float64(res.acked) / secs
	p.Latency = latencyOf(res)
	p.Statuses = statusCounts(res)
	if res.firstErr != "" {
		p.FirstError = res.firstErr
	}
}

// latencyOf returns the percentiles of res in milliseconds.
func latencyOf(res loadResult) latency {
	ms := func(q float64) float64 { return float64(res.latency.ValueAtQuantile(q)) / 1000 }
	return latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), Max: float64(res.latency.Max()) / 1000}
}

// statusCounts returns the answers of res by HTTP status, or nil for a target without HTTP.
func statusCounts(res loadResult) map[string]int64 {
	if len(res.statuses) == 0 {
		return nil
	}
	m := map[string]int64{}
	for s, n := range res.statuses {
		m[strconv.Itoa(s)] = n
	}
	return m
}

// resourcesOf stops m and returns CPU per 100 k records and peak RSS, or nil when unknown.
func resourcesOf(m *meter, records int64) *resources {
	cpu, peak, ok := m.stop()
	if !ok {
		return nil
	}
	r := &resources{PeakRSSMiB: float64(peak) / (1 << 20), PeakSinceStart: !m.peakReset}
	if records > 0 {
		r.CPUSecondsPer100k = cpu.Seconds() / float64(records) * 1e5
	}
	return r
}

// summary is the progress line of a point.
func (p point) summary() string {
	head := fmt.Sprintf("%-8s c=%-5d %-7s x%-3d", p.Target, p.Concurrency, sizeLabel(p.RecordBytes), p.RecordsPerRequest)
	if p.Error != "" {
		return head + " FAILED: " + p.Error
	}
	return fmt.Sprintf("%s %9.0f rec/s  p99 %8.2f ms  errors %d  %s", head, p.RecordsPerSec, p.Latency.P99,
		p.Errors, p.Verification)
}
