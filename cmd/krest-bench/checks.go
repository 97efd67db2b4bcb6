package main

import (
	"fmt"
	"slices"
)

// check is one target of the issue, evaluated on this run.
type check struct {
	Name   string   `json:"name"`
	Status string   `json:"status"` // pass, miss, or n/a when a row it needs did not run or failed
	Ratio  *float64 `json:"ratio,omitempty"`
	Want   string   `json:"want"`
	Detail string   `json:"detail,omitempty"`
}

// checks evaluates the targets on the report. Produce targets compare at concurrency c; the batch
// target compares its largest batch at c with the client ceiling at the same number of records in flight.
func (r *report) checks(c, batch, rssLimitMiB int) []check {
	body := r.Settings.BodyBytes
	krest := r.point("krest", c, body, 1)
	classic := r.point("classic", c, body, 1)
	minimal := r.point("minimal", c, body, 1)
	batchRate, clientRate := rate(r.point("batch", c, body, batch)), rate(r.point("client", c*batch, body, 1))
	var bare, krestConsume *float64
	for _, cr := range r.Consume {
		if cr.Error == "" && cr.Target == "bare" {
			bare = &cr.RecordsPerSec
		} else if cr.Error == "" {
			krestConsume = &cr.RecordsPerSec
		}
	}
	cs := []check{
		ratio(fmt.Sprintf("krest throughput at c=%d vs classic design", c), rate(krest), rate(classic), 1.5, true),
		ratio(fmt.Sprintf("krest throughput at c=%d vs minimal gateway", c), rate(krest), rate(minimal), 1.2, true),
		ratio(fmt.Sprintf("krest p99 at c=%d vs classic design", c), p99(krest), p99(classic), 1, false),
		ratio(fmt.Sprintf("krest p99 at c=%d vs minimal gateway", c), p99(krest), p99(minimal), 1, false),
		ratio(fmt.Sprintf("krest batch (%d records/request, c=%d) vs client ceiling at c=%d", batch, c, c*batch),
			batchRate, clientRate, 0.8, true),
		ratio("krest consume vs bare consumer loop", krestConsume, bare, 0.8, true),
	}
	return append(cs, r.Overload.checks(rssLimitMiB)...)
}

// rate returns the records per second of p, or nil when p is nil.
func rate(p *point) *float64 {
	if p == nil {
		return nil
	}
	return &p.RecordsPerSec
}

// p99 returns the p99 latency of p, or nil when p is nil.
func p99(p *point) *float64 {
	if p == nil {
		return nil
	}
	return &p.Latency.P99
}

// point returns the successful point of target at concurrency, record size and batch, or nil.
func (r *report) point(target string, concurrency, size, batch int) *point {
	i := slices.IndexFunc(r.Points, func(p point) bool {
		return p.Target == target && p.Concurrency == concurrency && p.RecordBytes == size &&
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
	c := check{Name: name, Want: fmt.Sprintf("≤ %.2f", want)}
	if atLeast {
		c.Want = fmt.Sprintf("≥ %.2f", want)
	}
	if a == nil || b == nil || *b == 0 {
		c.Status, c.Detail = "n/a", "a row it compares did not run or failed"
		return c
	}
	v := *a / *b
	c.Ratio = &v
	c.Detail = figure(*a) + " vs " + figure(*b)
	c.Status = passOrMiss(atLeast && v >= want || !atLeast && v <= want)
	return c
}

// checks evaluates the overload targets: no crash, bounded RSS, an answer to every request, Retry-After
// on every refusal, and a healthy krest afterwards.
func (o *overloadResult) checks(rssLimitMiB int) []check {
	names := []string{"overload: no crash", fmt.Sprintf("overload: peak RSS ≤ %d MiB", rssLimitMiB),
		"overload: every request answered", "overload: 429/503 carry Retry-After", "overload: /healthz 200 afterwards"}
	if o == nil || o.Requests == 0 {
		cs := make([]check, len(names))
		for i, n := range names {
			cs[i] = check{Name: n, Status: "n/a", Want: "yes", Detail: "the overload run did not run"}
		}
		return cs
	}
	return []check{
		{Name: names[0], Want: "alive", Status: passOrMiss(o.Alive), Detail: fmt.Sprintf("alive: %v", o.Alive)},
		{Name: names[1], Want: fmt.Sprintf("≤ %d MiB", rssLimitMiB), Status: passOrMiss(o.PeakRSSMiB > 0 && o.PeakRSSMiB <= float64(rssLimitMiB)),
			Detail: fmt.Sprintf("%.0f MiB", o.PeakRSSMiB)},
		{Name: names[2], Want: "0 unanswered", Status: passOrMiss(o.NoResponse == 0),
			Detail: fmt.Sprintf("%d of %d unanswered", o.NoResponse, o.Requests)},
		{Name: names[3], Want: "0 without", Status: passOrMiss(o.MissingRetryAfter == 0),
			Detail: fmt.Sprintf("%d without Retry-After", o.MissingRetryAfter)},
		{Name: names[4], Want: "200", Status: passOrMiss(o.Healthz == 200), Detail: fmt.Sprintf("answered %d", o.Healthz)},
	}
}

// figure renders a rate or latency with the precision it deserves.
func figure(v float64) string {
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
