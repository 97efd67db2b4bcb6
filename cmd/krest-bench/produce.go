package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// runProduce starts every selected produce target on one broker, each on a fresh topic, and measures
// their points interleaved: --rounds times over, every target takes a turn of --duration/--rounds at one
// load shape before the next shape comes. Whatever else the machine runs meanwhile then weighs on all
// targets alike, which keeps the ratios between them honest.
func (b *bench) runProduce(ctx context.Context, targets []target) {
	var brokerErr error
	if slices.ContainsFunc(targets, func(t target) bool { return t.kafka }) {
		brokerErr = b.freshBroker(ctx)
	}
	var jobs []*job
	for _, t := range targets {
		in, err := b.startTarget(ctx, t, brokerErr)
		if err != nil {
			b.skip(t.name, t.title, err)
			continue
		}
		defer in.close()
		brokerPID := 0
		if t.kafka {
			brokerPID = b.brokerPID()
		}
		for _, s := range b.specs(t) {
			jobs = append(jobs, &job{t: t, in: in, s: s, res: newLoadResult(),
				gateway: newMeter(in.pid()), broker: newMeter(brokerPID)})
		}
	}
	// Turns go shape by shape: record size, then records in flight, then records per request.
	order := slices.Clone(jobs)
	slices.SortStableFunc(order, func(x, y *job) int {
		return cmp.Or(cmp.Compare(x.s.size, y.s.size), cmp.Compare(x.s.concurrency*x.s.batch, y.s.concurrency*y.s.batch),
			cmp.Compare(x.s.batch, y.s.batch))
	})
	for round := range b.opt.rounds {
		for _, j := range order {
			if ctx.Err() != nil {
				return
			}
			b.turn(ctx, j, round)
		}
	}
	for _, j := range jobs {
		p := j.point()
		b.rep.Points = append(b.rep.Points, p)
		b.progress("%s", p.summary())
	}
}

// startTarget creates the topic of t (unless it needs no Kafka or brokerErr says there is none) and
// starts t on it. Closing the instance also deletes the topic when the bench created it.
func (b *bench) startTarget(ctx context.Context, t target, brokerErr error) (*instance, error) {
	topic, owned := "", false
	if t.kafka {
		if brokerErr != nil {
			return nil, brokerErr
		}
		topic = cmp.Or(t.topic, b.topicName(t.name))
		var err error
		if owned, err = b.kafka.createTopic(ctx, topic, b.opt.partitions); err != nil {
			return nil, err
		}
		if !owned {
			b.progress("%s: topic %s already existed; records are counted by its growth", t.name, topic)
		}
	}
	b.progress("%s: starting", t.name)
	in, err := t.start(ctx, b, topic)
	if err != nil {
		if owned {
			b.kafka.deleteTopic(context.WithoutCancel(ctx), topic)
		}
		return nil, err
	}
	if owned {
		in.owned = true
		stop := in.close
		in.close = func() {
			stop()
			b.kafka.deleteTopic(context.Background(), topic)
		}
	}
	return in, nil
}

// job is one point under measurement: a target at one load shape, summed over its turns.
type job struct {
	t       target
	in      *instance
	s       spec
	hc      *http.Client
	send    sendFunc
	res     loadResult   // the measured load of every turn
	v       verification // summed over turns
	gateway *meter
	broker  *meter
	err     error // the first failure; the job takes no more turns
}

// turn gives job j its turn of round: in the first round, a warm-up; then --duration/--rounds of load (or its share of
// --requests) with the meters running, and the verification that the topic grew by exactly the records
// acknowledged during the turn. Verified records are then deleted, so that the broker does not carry them
// into the next turn. Connections are closed after each turn, as servers may drop them while idle.
func (b *bench) turn(ctx context.Context, j *job, round int) {
	if j.err != nil {
		return
	}
	if j.send == nil {
		j.hc = newHTTPClient(j.s.concurrency)
		j.send = j.in.sender(j.hc, j.s)
	}
	topic := j.in.topic
	var before int64
	if topic != "" {
		var err error
		if before, err = b.kafka.records(ctx, topic); err != nil {
			j.err = err
			return
		}
	}
	var warm loadResult
	if round == 0 && b.opt.warmup > 0 {
		warm = load{concurrency: j.s.concurrency, duration: b.opt.warmup, send: j.send}.run(ctx)
	}
	rounds := int64(b.opt.rounds)
	l := load{concurrency: j.s.concurrency, duration: b.opt.duration / time.Duration(rounds),
		requests: (b.opt.requests + rounds - 1) / rounds, send: j.send}
	wait := func() {}
	if round == 0 && j.s.concurrency == b.checkConcurrency() && j.s.size == b.opt.bodyBytes {
		wait = b.profile(j.in.proc, l.duration, fmt.Sprintf("%s-c%d-x%d", j.t.name, j.s.concurrency, j.s.batch))
	}
	j.gateway.begin()
	j.broker.begin()
	res := l.run(ctx)
	j.gateway.end()
	j.broker.end()
	wait()
	j.hc.CloseIdleConnections()
	j.res.merge(res)
	b.progress("round %d/%d %-8s c=%-5d %-7s x%-3d %9.0f rec/s", round+1, rounds, j.t.name, j.s.concurrency,
		sizeLabel(j.s.size), j.s.batch, float64(res.acked)/res.elapsed.Seconds())
	if j.in.proc != nil && !j.in.proc.running() {
		j.err = j.in.proc.exitError()
		return
	}
	if topic == "" {
		return
	}
	after, err := b.kafka.records(ctx, topic)
	v := verification{acked: warm.acked + res.acked, unacked: warm.sent - warm.acked + res.sent - res.acked, inTopic: after - before}
	j.v = j.v.plus(v)
	if err == nil {
		err = v.err()
	}
	if err != nil {
		j.err = fmt.Errorf("verification failed: %w", err)
	}
	if j.in.owned {
		b.kafka.trim(ctx, topic)
	}
}

// point returns the result of j: its figures, or its failure and none.
func (j *job) point() point {
	p := point{Target: j.t.name, Title: j.t.title, Concurrency: j.s.concurrency, RecordBytes: j.s.size,
		RecordsPerRequest: j.s.batch, Chart: j.s.chart}
	if j.in.route != "" {
		p.Title += " (" + j.in.route + ")"
	}
	if j.in.topic != "" {
		p.Verification = j.v.String()
	}
	switch {
	case j.err != nil:
		p.Error = j.err.Error()
	case j.res.okRequests == 0:
		p.Error = "no request succeeded: " + j.res.firstErr
	default:
		p.fill(j.res)
		p.Gateway, p.Broker = j.gateway.resources(j.res.acked), j.broker.resources(j.res.acked)
	}
	return p
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

// summary is the progress line of a point.
func (p point) summary() string {
	head := fmt.Sprintf("%-8s c=%-5d %-7s x%-3d", p.Target, p.Concurrency, sizeLabel(p.RecordBytes), p.RecordsPerRequest)
	if p.Error != "" {
		return head + " FAILED: " + p.Error
	}
	return fmt.Sprintf("%s %9.0f rec/s  p99 %8.2f ms  errors %d  %s", head, p.RecordsPerSec, p.Latency.P99,
		p.Errors, p.Verification)
}
