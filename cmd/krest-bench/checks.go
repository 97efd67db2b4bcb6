package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// check is one target of the issue, evaluated on this run: got is the same-run ratio of two figures.
type check struct {
	Name   string   `json:"name"`
	Want   string   `json:"want"`
	Got    *float64 `json:"got,omitempty"`
	Detail string   `json:"detail,omitempty"`
	Status string   `json:"status"` // pass, miss, or n/a when a row it needs did not run or failed
	// The same ratio between the rows wrk drove, for checks between HTTP rows of single records.
	WrkGot    *float64 `json:"wrk_got,omitempty"`
	WrkDetail string   `json:"wrk_detail,omitempty"`
	WrkStatus string   `json:"wrk_status,omitempty"`
}

// figure looks up one figure of a report, among the points of load generator gen; nil means the row did
// not run or failed.
type figure func(r *report, gen string) *float64

// goal is a target: a / b at least (or at most) want.
type goal struct {
	name    string
	a, b    figure
	want    float64
	atLeast bool
	wrk     bool // also compare the rows wrk drove
}

// goalLevels are the concurrency levels the goals compare at.
type goalLevels struct {
	low, check, high int  // the lowest swept level, --check-concurrency, the highest swept level
	batch            int  // the largest --batch-sizes
	before           bool // an older krest ran beside krest
}

// goals lists every target of the issue, in the order the report prints them. To add one, add a row
// here; the figures come from the lookups below.
func goals(l goalLevels) []goal {
	c, big := l.check, l.batch
	gs := []goal{
		{name: fmt.Sprintf("c=%d: krest rec/s vs the minimal net/http gateway", c),
			a: recs("krest", c, 1), b: recs("minimal", c, 1), want: 1.4, atLeast: true, wrk: true},
		{name: fmt.Sprintf("c=%d: krest rec/s vs the classic design", c),
			a: recs("krest", c, 1), b: recs("classic", c, 1), want: 1.8, atLeast: true, wrk: true},
		{name: fmt.Sprintf("c=%d: krest rec/s vs the minimal fasthttp gateway", c),
			a: recs("krest", c, 1), b: recs("fasthttp", c, 1), want: 0.95, atLeast: true, wrk: true},
		{name: fmt.Sprintf("c=%d: krest p99 vs the minimal net/http gateway", c),
			a: p99("krest", c), b: p99("minimal", c), want: 1, wrk: true},
		{name: fmt.Sprintf("c=%d: krest p99 vs the classic design", c),
			a: p99("krest", c), b: p99("classic", c), want: 1, wrk: true},
		{name: fmt.Sprintf("c=%d: krest p99 vs the minimal fasthttp gateway", c),
			a: p99("krest", c), b: p99("fasthttp", c), want: 1, wrk: true},
		{name: fmt.Sprintf("c=%d: krest rec/s vs the minimal net/http gateway", l.high),
			a: recs("krest", l.high, 1), b: recs("minimal", l.high, 1), want: 1.4, atLeast: true, wrk: true},
		{name: fmt.Sprintf("c=%d: krest rec/s vs the minimal net/http gateway", l.low),
			a: recs("krest", l.low, 1), b: recs("minimal", l.low, 1), want: 0.95, atLeast: true, wrk: true},
		{name: fmt.Sprintf("c=%d: krest p50 vs the minimal net/http gateway (within 10 %%)", l.low),
			a: p50("krest", l.low), b: p50("minimal", l.low), want: 1.1, wrk: true},
		{name: fmt.Sprintf("batch (%d records/request, c=%d) vs the client ceiling at c=%d", big, c, c*big),
			a: recs("batch", c, big), b: recs("client", c*big, 1), want: 0.8, atLeast: true},
		{name: fmt.Sprintf("batch (%d records/request, c=%d) vs ProduceSync of the same batches from %d goroutines", big, c, c),
			a: recs("batch", c, big), b: recs("client", c, big), want: 0.5, atLeast: true},
		{name: "consume, steady state: krest at warn vs the bare franz-go loop",
			a: steady("krest-warn"), b: steady("bare"), want: 0.9, atLeast: true},
		{name: "consume, steady state: krest at info vs the bare franz-go loop",
			a: steady("krest-info"), b: steady("bare"), want: 0.5, atLeast: true},
		{name: "consume, steady state: a krest v2 consumer instance vs the bare franz-go loop",
			a: steady("krest-v2"), b: steady("bare"), want: 0.5, atLeast: true},
		{name: fmt.Sprintf("offset reads (max_records=%d): krest vs the bare franz-go partition consumer", readMaxRecords),
			a: readRate(offsetReads, "krest"), b: readRate(offsetReads, "bare"), want: 0.5, atLeast: true},
		{name: "SSE stream, records/s: krest vs the bare franz-go consumer",
			a: readRate(streams, "krest"), b: readRate(streams, "bare"), want: 0.5, atLeast: true},
		{name: "SSE delivery p99 at a steady rate: krest vs the bare franz-go consumer",
			a: deliveryP99("krest"), b: deliveryP99("bare"), want: 2},
		{name: fmt.Sprintf("work queue, %d records a lease: krest leased+accepted rec/s vs the bare franz-go share consumer", big),
			a: readRate(queues, "krest-"+strconv.Itoa(big)), b: readRate(queues, "bare"), want: 0.5, atLeast: true},
	}
	levels := []int{l.low, c, l.high}
	slices.Sort(levels)
	for _, n := range slices.Compact(levels) {
		gs = append(gs,
			goal{name: fmt.Sprintf("c=%d: krest rec/s with Basic logins (cached bcrypt) vs auth off", n),
				a: recs("krest-basic", n, 1), b: recs("krest", n, 1), want: 0.9, atLeast: true},
			goal{name: fmt.Sprintf("c=%d: krest rec/s with JWT bearer tokens (RS256) vs auth off", n),
				a: recs("krest-jwt", n, 1), b: recs("krest", n, 1), want: 0.9, atLeast: true})
	}
	if l.before {
		// Before and after in one run: the current krest must not fall behind the older one.
		gs = append(gs,
			goal{name: fmt.Sprintf("c=%d: krest rec/s vs krest before", c),
				a: recs("krest", c, 1), b: recs("krest-before", c, 1), want: 0.95, atLeast: true, wrk: true},
			goal{name: fmt.Sprintf("c=%d: krest p99 vs krest before", c),
				a: p99("krest", c), b: p99("krest-before", c), want: 1.05, wrk: true})
	}
	return gs
}

// checks evaluates the goals, then the overload targets, on the report. A goal whose level coincides
// with another's (a sweep without c=256, say) is evaluated once.
func (r *report) checks(l goalLevels, rssLimitMiB int) []check {
	var cs []check
	seen := map[string]bool{}
	for _, g := range goals(l) {
		if seen[g.name] {
			continue
		}
		seen[g.name] = true
		c := ratio(g.name, g.a(r, genGo), g.b(r, genGo), g.want, g.atLeast)
		if g.wrk {
			w := ratio(g.name, g.a(r, genWrk), g.b(r, genWrk), g.want, g.atLeast)
			c.WrkGot, c.WrkDetail, c.WrkStatus = w.Got, w.Detail, w.Status
		}
		cs = append(cs, c)
	}
	cs = append(cs, r.Overload.checks(rssLimitMiB)...)
	return append(cs, r.slowChecks()...)
}

// slowChecks evaluates the slow-client targets for krest, and for the older krest where it ran: beside the
// slow connections, the normal clients keep at least 0.8 × the records/s they get alone, and none of them
// is refused with 429.
func (r *report) slowChecks() []check {
	probes := r.SlowClients
	if !slices.ContainsFunc(probes, func(x slowResult) bool { return x.Target == "krest" }) {
		probes = append([]slowResult{{Target: "krest", Error: "the slow-client probe did not run"}}, probes...)
	}
	var cs []check
	for _, x := range probes {
		suffix := ""
		if x.Target != "krest" {
			suffix = " (" + x.Title + ")"
		}
		name := "slow clients: normal rec/s during the probe vs without it" + suffix
		refused := check{Name: "slow clients: normal requests answered 429 during the probe" + suffix, Want: "0"}
		if x.Error != "" || x.During == nil || x.Without == nil {
			rate := ratio(name, nil, nil, 0.8, true)
			rate.Detail = cmp.Or(x.Error, rate.Detail)
			refused.Status, refused.Detail = "n/a", rate.Detail
			cs = append(cs, rate, refused)
			continue
		}
		rate := ratio(name, &x.During.RecordsPerSec, &x.Without.RecordsPerSec, 0.8, true)
		refused.Status = passOrMiss(x.During.TooMany == 0)
		refused.Detail = fmt.Sprintf("%d 429 of %d requests; %d other not 201", x.During.TooMany, x.During.Requests,
			x.During.Not201-x.During.TooMany)
		cs = append(cs, rate, refused)
	}
	return cs
}

// recs is the records/s of target at concurrency with batch records per request, at --body-bytes.
func recs(target string, concurrency, batch int) figure {
	return func(r *report, gen string) *float64 {
		if p := r.point(target, gen, concurrency, r.Settings.BodyBytes, batch); p != nil {
			return &p.RecordsPerSec
		}
		return nil
	}
}

// p99 is the p99 latency of target's single records at concurrency.
func p99(target string, concurrency int) figure {
	return func(r *report, gen string) *float64 {
		if p := r.point(target, gen, concurrency, r.Settings.BodyBytes, 1); p != nil {
			return &p.Latency.P99
		}
		return nil
	}
}

// p50 is the median latency of target's single records at concurrency.
func p50(target string, concurrency int) figure {
	return func(r *report, gen string) *float64 {
		if p := r.point(target, gen, concurrency, r.Settings.BodyBytes, 1); p != nil {
			return &p.Latency.P50
		}
		return nil
	}
}

// steady is the steady-state records/s of a consume row; the Go generator has nothing to do with it,
// so gen is ignored.
func steady(target string) figure {
	return func(r *report, _ string) *float64 {
		for i, c := range r.Consume {
			if c.Target == target && c.Error == "" && c.SteadyRecordsPerSec > 0 {
				return &r.Consume[i].SteadyRecordsPerSec
			}
		}
		return nil
	}
}

// The read tables of a report, for readRate.
var (
	offsetReads = func(r *report) []readResult { return r.Reads }
	streams     = func(r *report) []readResult { return r.Streams }
	queues      = func(r *report) []readResult { return r.Queue }
)

// readRate is the records/s of a row of the read table rows picks; gen is ignored.
func readRate(rows func(*report) []readResult, target string) figure {
	return func(r *report, _ string) *float64 {
		xs := rows(r)
		for i, x := range xs {
			if x.Target == target && x.Error == "" && x.RecordsPerSec > 0 {
				return &xs[i].RecordsPerSec
			}
		}
		return nil
	}
}

// deliveryP99 is the p99 produce-to-delivery latency of an SSE latency row; gen is ignored.
func deliveryP99(target string) figure {
	return func(r *report, _ string) *float64 {
		for i, x := range r.StreamLatency {
			if x.Target == target && x.Error == "" && x.Records > 0 {
				return &r.StreamLatency[i].Latency.P99
			}
		}
		return nil
	}
}

// point returns the successful point of target driven by gen at concurrency, record size and batch, or
// nil.
func (r *report) point(target, gen string, concurrency, size, batch int) *point {
	i := slices.IndexFunc(r.Points, func(p point) bool {
		return p.Target == target && p.LoadGen == gen && p.Concurrency == concurrency && p.RecordBytes == size &&
			p.RecordsPerRequest == batch && p.Error == ""
	})
	if i < 0 {
		return nil
	}
	return &r.Points[i]
}

// ratio checks that a/b is at least want (atLeast) or at most want. A nil figure is a row that did not run
// or failed.
func ratio(name string, a, b *float64, want float64, atLeast bool) check {
	c := check{Name: name, Want: fmt.Sprintf("≤ %.2f×", want)}
	if atLeast {
		c.Want = fmt.Sprintf("≥ %.2f×", want)
	}
	if a == nil || b == nil || *b == 0 {
		c.Status, c.Detail = "n/a", "a row it compares did not run or failed"
		return c
	}
	v := *a / *b
	c.Got = &v
	c.Detail = number(*a) + " vs " + number(*b)
	c.Status = passOrMiss(atLeast && v >= want || !atLeast && v <= want)
	return c
}

// checks evaluates the overload targets: bounded RSS and an answer to every request (which a crash
// would break).
func (o *overloadResult) checks(rssLimitMiB int) []check {
	rss := check{Name: "overload: peak RSS", Want: fmt.Sprintf("≤ %d MiB", rssLimitMiB)}
	answered := check{Name: "overload: every request answered", Want: "0 unanswered"}
	if o == nil || o.Requests == 0 {
		rss.Status, rss.Detail = "n/a", "the overload run did not run"
		answered.Status, answered.Detail = "n/a", "the overload run did not run"
		return []check{rss, answered}
	}
	rss.Status = passOrMiss(o.PeakRSSMiB > 0 && o.PeakRSSMiB <= float64(rssLimitMiB))
	rss.Detail = fmt.Sprintf("%.0f MiB", o.PeakRSSMiB)
	answered.Status = passOrMiss(o.NoResponse == 0 && o.Alive)
	answered.Detail = fmt.Sprintf("%d of %d unanswered; krest alive afterwards: %v", o.NoResponse, o.Requests, o.Alive)
	return []check{rss, answered}
}

// number renders a rate or latency with the precision it deserves.
func number(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// passOrMiss names a check outcome.
func passOrMiss(ok bool) string {
	if ok {
		return "pass"
	}
	return "miss"
}
