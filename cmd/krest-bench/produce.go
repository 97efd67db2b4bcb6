package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
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
	wrkSkipped := false
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
		newJob := func(s spec, gen string) *job {
			j := &job{t: t, in: in, s: s, gen: gen, res: newLoadResult(),
				gateway: newMeter(in.pid()), broker: newMeter(brokerPID), loadGen: newMeter(os.Getpid())}
			if gen == genWrk {
				j.loadGen = newTally()
			}
			return j
		}
		for _, s := range b.specs(t) {
			jobs = append(jobs, newJob(s, genGo))
		}
		if in.url == "" {
			continue
		}
		if b.wrkErr != nil {
			if !wrkSkipped {
				b.skip("wrk", "wrk rows", b.wrkErr)
				wrkSkipped = true
			}
			continue
		}
		for _, c := range b.opt.wrkConcurrency {
			jobs = append(jobs, newJob(spec{concurrency: c, size: b.opt.bodyBytes, batch: 1}, genWrk))
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

// The load generators of a point.
const (
	genGo  = "go"  // the bench's own closed loop over net/http keep-alive connections
	genWrk = "wrk" // wrk with wrkScript, for the single-record HTTP targets
)

// job is one point under measurement: a target at one load shape and load generator, summed over its
// turns.
type job struct {
	t       target
	in      *instance
	s       spec
	gen     string // genGo or genWrk
	hc      *fasthttp.Client
	send    sendFunc
	res     loadResult   // the measured load of every turn
	v       verification // summed over turns
	gateway *meter
	broker  *meter
	loadGen *meter // the bench itself, or the CPU wrk reported
	err     error  // the first failure; the job takes no more turns
}

// turn gives job j its turn of round: --duration/--rounds of load (or its share of --requests) with the
// meters running, and the verification that the topic grew by exactly the records acknowledged during
// the turn. Verified records are then deleted, so that the broker does not carry them into the next turn.
func (b *bench) turn(ctx context.Context, j *job, round int) {
	// wrk runs whole seconds and cannot count requests: a point of --requests gets one turn of a second.
	if j.err != nil || j.gen == genWrk && b.opt.requests > 0 && round > 0 {
		return
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
	d := b.opt.duration / time.Duration(b.opt.rounds)
	var warm, res loadResult
	if j.gen == genWrk {
		if b.opt.requests > 0 {
			d = time.Second
		}
		var err error
		if res, err = b.wrkTurn(ctx, j, d); err != nil {
			j.err = err
			return
		}
	} else {
		warm, res = b.goTurn(ctx, j, round, d)
	}
	j.res.merge(res)
	b.progress("round %d/%d %-8s %-3s c=%-5d %-7s x%-3d %9.0f rec/s", round+1, b.opt.rounds, j.t.name, j.gen, j.s.concurrency,
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

// goTurn drives one turn of j with the Go generator for d (or its share of --requests), after a warm-up
// in the first round, and returns both loads. Connections are closed after the turn, as servers may drop
// them while idle.
func (b *bench) goTurn(ctx context.Context, j *job, round int, d time.Duration) (warm, res loadResult) {
	if j.send == nil {
		j.hc = newHTTPClient(j.s.concurrency)
		j.send = j.in.sender(j.hc, j.s)
	}
	if round == 0 && b.opt.warmup > 0 {
		warm = load{concurrency: j.s.concurrency, duration: b.opt.warmup, send: j.send}.run(ctx)
	}
	rounds := int64(b.opt.rounds)
	l := load{concurrency: j.s.concurrency, duration: d, requests: (b.opt.requests + rounds - 1) / rounds, send: j.send}
	wait := func() {}
	if round == 0 && j.s.concurrency == b.checkConcurrency() && j.s.size == b.opt.bodyBytes {
		wait = b.profile(j.in.proc, l.duration, fmt.Sprintf("%s-c%d-x%d", j.t.name, j.s.concurrency, j.s.batch))
	}
	j.gateway.begin()
	j.broker.begin()
	j.loadGen.begin()
	res = l.run(ctx)
	j.loadGen.end()
	j.gateway.end()
	j.broker.end()
	wait()
	j.hc.CloseIdleConnections()
	return warm, res
}

// wrkTurn drives one turn of j with wrk for d. The servers are warm from the Go generator's turns at the
// same shape, so there is no warm-up.
func (b *bench) wrkTurn(ctx context.Context, j *job, d time.Duration) (loadResult, error) {
	j.gateway.begin()
	j.broker.begin()
	start := time.Now()
	res, cpu, err := b.runWrk(ctx, j.in.url, j.s, d)
	j.gateway.end()
	j.broker.end()
	j.loadGen.add(cpu, time.Since(start))
	return res, err
}

// point returns the result of j: its figures, or its failure and none.
func (j *job) point() point {
	p := point{Target: j.t.name, Title: j.t.title, LoadGen: j.gen, Concurrency: j.s.concurrency, RecordBytes: j.s.size,
		RecordsPerRequest: j.s.batch, Chart: j.s.chart && j.gen == genGo, InBench: j.in.proc == nil}
	if j.in.route != "" {
		p.Title += " (" + j.in.route + ")"
	}
	if j.gen == genWrk {
		p.Title += ", driven by wrk"
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
		p.LoadCPU = j.loadGen.loadCPU(j.res.requests)
	}
	return p
}

// specs returns the Go generator's points of target t: the concurrency sweep at --body-bytes (for every
// batch size of the batch target), the large-record run, and for the client ceiling the two points the
// batch checks compare with.
func (b *bench) specs(t target) []spec {
	o := b.opt
	batches := []int{1}
	if t.name == "batch" {
		batches = o.batchSizes
	}
	var specs []spec
	for _, n := range batches {
		for _, c := range o.concurrency {
			specs = append(specs, spec{concurrency: c, size: o.bodyBytes, batch: n, chart: !t.uncharted})
		}
	}
	if t.name != "batch" && o.largeBytes > 0 {
		specs = append(specs, spec{concurrency: o.largeConcurrency, size: o.largeBytes, batch: 1})
	}
	// The batch checks compare with the client at the same records in flight, one record per call, and at
	// the same batches from as many goroutines.
	if big := slices.Max(o.batchSizes); t.name == "client" && o.runs("batch") {
		c := b.checkConcurrency()
		if !slices.Contains(o.concurrency, c*big) {
			specs = append(specs, spec{concurrency: c * big, size: o.bodyBytes, batch: 1})
		}
		if big > 1 {
			specs = append(specs, spec{concurrency: c, size: o.bodyBytes, batch: big})
		}
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
	p.Latency = latencyOf(res.latency)
	p.Statuses = statusCounts(res)
	if res.firstErr != "" {
		p.FirstError = res.firstErr
	}
}

// latencyOf returns the percentiles of a histogram of microseconds in milliseconds.
func latencyOf(h *hdrhistogram.Histogram) latency {
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	return latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), Max: float64(h.Max()) / 1000}
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
	head := fmt.Sprintf("%-8s %-3s c=%-5d %-7s x%-3d", p.Target, p.LoadGen, p.Concurrency, sizeLabel(p.RecordBytes), p.RecordsPerRequest)
	if p.Error != "" {
		return head + " FAILED: " + p.Error
	}
	return fmt.Sprintf("%s %9.0f rec/s  p99 %8.2f ms  errors %d  %s", head, p.RecordsPerSec, p.Latency.P99,
		p.Errors, p.Verification)
}
