package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for krest-bench when the bench starts its reference servers,
// which it does by running its own executable as `ref`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "ref" {
		if err := run(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole bench with a few thousand records and checks that every row that ran verified:
// no figures are asserted. Rows whose binaries cannot be built here are skipped by the bench itself, and
// so are the wrk rows where wrk is not installed.
func TestSmoke(t *testing.T) {
	out := t.TempDir()
	args := []string{"krest-bench", "--smoke", "--out", out}
	if testing.Short() {
		args = append(args, "--targets", "http,client,minimal,fasthttp,krest,batch,slowclients")
	}
	var stdout strings.Builder
	if err := run(t.Context(), args, &stdout, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}

	if len(rep.Points) == 0 {
		t.Fatal("no point ran")
	}
	ran := map[string]bool{}
	for _, p := range rep.Points {
		name := fmt.Sprintf("%s (%s) c=%d %s x%d", p.Target, p.LoadGen, p.Concurrency, sizeLabel(p.RecordBytes), p.RecordsPerRequest)
		ran[p.Target+"/"+p.LoadGen] = true
		if p.Error != "" {
			t.Errorf("%s: %s", name, p.Error)
			continue
		}
		if p.Target != "http" && p.Verification == "" {
			t.Errorf("%s: not verified", name)
		}
		if p.LoadCPU == nil {
			t.Errorf("%s: no CPU figure of the load generator", name)
		}
	}
	for _, s := range rep.Skipped {
		if s.Error != "" {
			t.Errorf("%s failed to start: %s", s.Target, s.Error)
		} else {
			t.Logf("%s skipped: %s", s.Target, s.Reason)
		}
	}
	want := []string{"fasthttp/go", "minimal/go", "client/go", "krest/go", "krest-basic/go", "krest-jwt/go"}
	if _, err := exec.LookPath("wrk"); err == nil {
		want = append(want, "fasthttp/wrk", "krest/wrk")
	} else {
		t.Log("wrk is not installed: no wrk rows to check")
	}
	for _, w := range want {
		if !ran[w] {
			t.Errorf("no point of %s ran", w)
		}
	}
	if !testing.Short() {
		var consumed []string
		for _, c := range rep.Consume {
			consumed = append(consumed, c.Target)
			switch {
			case c.Error != "" && c.Skipped == "":
				t.Errorf("consume %s: %s", c.Target, c.Error)
			case c.Error == "" && (c.Rounds != 2 || c.Verification == "" || c.TotalSec <= 0):
				t.Errorf("consume %s: %d rounds, %.2f s, verification %q", c.Target, c.Rounds, c.TotalSec, c.Verification)
			}
		}
		if got := strings.Join(consumed, ","); got != "bare,krest-warn,krest-info,krest-v2" {
			t.Errorf("consume rows %s, want bare,krest-warn,krest-info,krest-v2", got)
		}
		var read []string
		for _, r := range rep.Reads {
			read = append(read, r.Target)
			if r.Error != "" || r.Rounds != 2 || r.RecordsPerSec <= 0 {
				t.Errorf("reads %s: %d rounds, %.0f rec/s, error %q", r.Target, r.Rounds, r.RecordsPerSec, r.Error)
			}
		}
		if got := strings.Join(read, ","); got != "bare,krest" {
			t.Errorf("reads rows %s, want bare,krest", got)
		}
		checkReadTable(t, "sse", rep.Streams, "bare", "krest")
		var watched []string
		for _, x := range rep.StreamLatency {
			watched = append(watched, x.Target)
			if x.Error != "" || x.Records != int64(rep.Settings.SSERecords) || x.Latency.P99 <= 0 {
				t.Errorf("sse latency %s: %d records, p99 %.2f ms, error %q", x.Target, x.Records, x.Latency.P99, x.Error)
			}
		}
		if got := strings.Join(watched, ","); got != "bare,krest" {
			t.Errorf("sse latency rows %s, want bare,krest", got)
		}
		checkReadTable(t, "queue", rep.Queue, "bare", "krest-1", "krest-10")
	}
	if o := rep.Overload; o != nil && o.Error != "" && o.Skipped == "" {
		t.Errorf("overload: %s", o.Error)
	}
	checkSlowClients(t, rep, "krest")
	if _, err := os.Stat(filepath.Join(out, "RESULTS.md")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(stdout.String(), "## Target checks") {
		t.Errorf("stdout lacks the target checks:\n%s", stdout.String())
	}
}

// checkReadTable checks that the rows of a read table are targets, in order, each read in both rounds
// unless it cannot run here.
func checkReadTable(t *testing.T, name string, rows []readResult, targets ...string) {
	t.Helper()
	var ran []string
	for _, r := range rows {
		ran = append(ran, r.Target)
		if r.Skipped != "" {
			t.Logf("%s %s skipped: %s", name, r.Target, r.Skipped)
			continue
		}
		if r.Error != "" || r.Rounds != 2 || r.RecordsPerSec <= 0 {
			t.Errorf("%s %s: %d rounds, %.0f rec/s, error %q", name, r.Target, r.Rounds, r.RecordsPerSec, r.Error)
		}
	}
	if got, want := strings.Join(ran, ","), strings.Join(targets, ","); got != want {
		t.Errorf("%s rows %s, want %s", name, got, want)
	}
}

// checkSlowClients checks that the slow-client probe ran against each of targets and verified, that every
// slow connection opened, and that krest let go of every connection once the bench had closed its own.
func checkSlowClients(t *testing.T, rep report, targets ...string) {
	t.Helper()
	var ran []string
	for _, x := range rep.SlowClients {
		ran = append(ran, x.Target)
		switch {
		case x.Error != "":
			t.Errorf("slow clients, %s: %s", x.Target, x.Error)
		case x.Without == nil || x.During == nil || x.Without.Created == 0 || x.During.Created == 0:
			t.Errorf("slow clients, %s: no normal request produced (%+v, %+v)", x.Target, x.Without, x.During)
		case x.Slow.Opened != rep.Settings.SlowConns || x.Slow.BodyBytes == 0:
			t.Errorf("slow clients, %s: %s; %d body bytes sent", x.Target, x.Slow, x.Slow.BodyBytes)
		case x.KrestConnsAfter != 0 || x.CleanupError != "":
			t.Errorf("slow clients, %s: krest holds %d connections after the clean-up: %s", x.Target, x.KrestConnsAfter, x.CleanupError)
		case x.KrestConnsAtEnd < x.Slow.Open:
			t.Errorf("slow clients, %s: krest held %d connections at the end, fewer than the %d slow ones open", x.Target,
				x.KrestConnsAtEnd, x.Slow.Open)
		}
	}
	if got, want := strings.Join(ran, ","), strings.Join(targets, ","); got != want {
		t.Errorf("slow-client probes of %s, want %s", got, want)
	}
}

// TestSmokeBefore builds krest at HEAD as the older krest and runs the single-record rows and the
// slow-client probe of both in one run.
func TestSmokeBefore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds krest a second time")
	}
	if err := exec.Command("git", "rev-parse", "--verify", "HEAD").Run(); err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	out := t.TempDir()
	args := []string{"krest-bench", "--smoke", "--out", out, "--targets", "krest,slowclients", "--krest-before", "HEAD", "--wrk", ""}
	var stdout strings.Builder
	if err := run(t.Context(), args, &stdout, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Settings.KrestBefore, "(HEAD)") {
		t.Errorf("krest before came from %q", rep.Settings.KrestBefore)
	}
	ran := map[string]int{}
	for _, p := range rep.Points {
		if p.Error != "" {
			t.Errorf("%s c=%d: %s", p.Target, p.Concurrency, p.Error)
		}
		ran[p.Target]++
	}
	if ran["krest"] == 0 || ran["krest-before"] != ran["krest"] {
		t.Errorf("points by target %v, want as many of krest-before as of krest", ran)
	}
	for _, s := range rep.Skipped {
		if s.Target != "wrk" {
			t.Errorf("%s did not run: %s%s", s.Target, s.Reason, s.Error)
		}
	}
	checkSlowClients(t, rep, "krest", "krest-before")
	if !strings.Contains(stdout.String(), "krest rec/s vs krest before") {
		t.Errorf("stdout lacks the before/after checks:\n%s", stdout.String())
	}
}

func TestParseCounter(t *testing.T) {
	page := "# HELP krest_consumed_records_total Records the consumer group processed.\n" +
		"# TYPE krest_consumed_records_total counter\n" +
		"krest_consumed_records_total_other 9\n" +
		"krest_consumed_records_total 1.234567e+06\n"
	for _, tt := range []struct {
		name string
		page string
		want int64
		ok   bool
	}{
		{name: "exposition", page: page, want: 1234567, ok: true},
		{name: "with timestamp", page: "krest_consumed_records_total 42 1700000000000\n", want: 42, ok: true},
		{name: "absent", page: "krest_produced_records_total 5\n"},
		{name: "garbled", page: "krest_consumed_records_total many\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCounter(strings.NewReader(tt.page), consumedMetric)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("got %d, %v; want %d, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestWrkResult(t *testing.T) {
	q := make([]int64, 1000)
	for i := range q {
		q[i] = int64(100 + i) // 100 µs to 1099 µs
	}
	for _, tt := range []struct {
		name                  string
		w                     wrkSummary
		ok, sent, failed, p50 int64
	}{
		{name: "clean", w: wrkSummary{Requests: 10000, DurationUS: 2e6, Quantiles: q, Max: 1500},
			ok: 10000, sent: 10064, p50: 600},
		{name: "refusals and socket errors", w: wrkSummary{Requests: 10000, DurationUS: 2e6, Status: 30, Read: 2, Timeout: 1, Quantiles: q},
			ok: 9970, sent: 10067, failed: 3, p50: 600},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.w.result(64)
			if r.okRequests != tt.ok || r.acked != tt.ok || r.sent != tt.sent || r.failed != tt.failed {
				t.Errorf("ok %d acked %d sent %d failed %d; want %d, %d, %d", r.okRequests, r.acked, r.sent, r.failed, tt.ok, tt.sent, tt.failed)
			}
			if p50 := r.latency.ValueAtQuantile(50); p50 < tt.p50-2 || p50 > tt.p50+2 {
				t.Errorf("p50 %d µs, want about %d", p50, tt.p50)
			}
			if r.elapsed != 2*time.Second {
				t.Errorf("elapsed %v", r.elapsed)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	pt := func(target, gen string, c, batch int, rate, p50, p99 float64) point {
		return point{Target: target, LoadGen: gen, Concurrency: c, RecordBytes: 200, RecordsPerRequest: batch,
			RecordsPerSec: rate, Latency: latency{P50: p50, P99: p99}}
	}
	r := &report{Settings: settings{BodyBytes: 200}, Points: []point{
		pt("krest", genGo, 64, 1, 30000, 2, 5),
		pt("minimal", genGo, 64, 1, 20000, 3, 6),
		pt("classic", genGo, 64, 1, 10000, 5, 9),
		pt("krest", genWrk, 64, 1, 30000, 2, 5),
		pt("minimal", genWrk, 64, 1, 25000, 2, 4),
		pt("krest", genGo, 1, 1, 1000, 1.05, 2),
		pt("minimal", genGo, 1, 1, 1000, 1, 2),
		{Target: "fasthttp", LoadGen: genGo, Concurrency: 64, RecordBytes: 200, RecordsPerRequest: 1, Error: "failed"},
		pt("krest-before", genGo, 64, 1, 20000, 2, 6),
	}, SlowClients: []slowResult{
		{Target: "krest", Title: "krest", Without: &normalLoad{RecordsPerSec: 1000, Requests: 10000},
			During: &normalLoad{RecordsPerSec: 900, Requests: 9000, Not201: 3, TooMany: 0}},
		{Target: "krest-before", Title: "krest before", Without: &normalLoad{RecordsPerSec: 1000, Requests: 10000},
			During: &normalLoad{RecordsPerSec: 500, Requests: 9000, Not201: 200, TooMany: 200}},
	}, Consume: []consumeResult{
		{Target: "bare", SteadyRecordsPerSec: 1000},
		{Target: "krest-warn", SteadyRecordsPerSec: 800},
		{Target: "krest-info", SteadyRecordsPerSec: 600},
	}, Streams: []readResult{
		{Target: "bare", RecordsPerSec: 100000},
		{Target: "krest", RecordsPerSec: 60000},
	}, Queue: []readResult{
		{Target: "bare", RecordsPerSec: 100000},
		{Target: "krest-1", RecordsPerSec: 2000},
		{Target: "krest-100", Error: "krest serves no work queue here", Skipped: "krest serves no work queue here"},
	}, StreamLatency: []latencyResult{
		{Target: "bare", Records: 100, Latency: latency{P99: 10}},
		{Target: "krest", Records: 100, Latency: latency{P99: 25}},
	}}
	got := map[string]check{}
	for _, c := range r.checks(goalLevels{low: 1, check: 64, high: 256, batch: 100, before: true}, 512) {
		got[c.Name] = c
	}
	for _, tt := range []struct {
		name, status, wrkStatus string
	}{
		{name: "c=64: krest rec/s vs the minimal net/http gateway", status: "pass", wrkStatus: "miss"},
		{name: "c=64: krest rec/s vs the classic design", status: "pass", wrkStatus: "n/a"},
		{name: "c=64: krest rec/s vs the minimal fasthttp gateway", status: "n/a", wrkStatus: "n/a"},
		{name: "c=64: krest p99 vs the minimal net/http gateway", status: "pass", wrkStatus: "miss"},
		{name: "c=256: krest rec/s vs the minimal net/http gateway", status: "n/a", wrkStatus: "n/a"},
		{name: "c=1: krest rec/s vs the minimal net/http gateway", status: "pass", wrkStatus: "n/a"},
		{name: "c=1: krest p50 vs the minimal net/http gateway (within 10 %)", status: "pass", wrkStatus: "n/a"},
		{name: "batch (100 records/request, c=64) vs the client ceiling at c=6400", status: "n/a"},
		{name: "consume, steady state: krest at warn vs the bare franz-go loop", status: "miss"},
		{name: "consume, steady state: krest at info vs the bare franz-go loop", status: "pass"},
		{name: "offset reads (max_records=1000): krest vs the bare franz-go partition consumer", status: "n/a"},
		{name: "SSE stream, records/s: krest vs the bare franz-go consumer", status: "pass"},
		{name: "SSE delivery p99 at a steady rate: krest vs the bare franz-go consumer", status: "miss"},
		{name: "work queue, 100 records a lease: krest leased+accepted rec/s vs the bare franz-go share consumer", status: "n/a"},
		{name: "overload: every request answered", status: "n/a"},
		{name: "c=64: krest rec/s vs krest before", status: "pass", wrkStatus: "n/a"},
		{name: "c=64: krest p99 vs krest before", status: "pass", wrkStatus: "n/a"},
		{name: "slow clients: normal rec/s during the probe vs without it", status: "pass"},
		{name: "slow clients: normal requests answered 429 during the probe", status: "pass"},
		{name: "slow clients: normal rec/s during the probe vs without it (krest before)", status: "miss"},
		{name: "slow clients: normal requests answered 429 during the probe (krest before)", status: "miss"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := got[tt.name]
			if !ok {
				t.Fatalf("no such check among %d", len(got))
			}
			if c.Status != tt.status || c.WrkStatus != tt.wrkStatus {
				t.Errorf("status %q, wrk %q; want %q, %q (%s)", c.Status, c.WrkStatus, tt.status, tt.wrkStatus, c.Detail)
			}
		})
	}
}

func TestVerification(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    verification
		ok   bool
	}{
		{name: "exact", v: verification{acked: 10, inTopic: 10}, ok: true},
		{name: "lost", v: verification{acked: 10, inTopic: 9}},
		{name: "unanswered written", v: verification{acked: 10, unacked: 2, inTopic: 12}, ok: true},
		{name: "unanswered not written", v: verification{acked: 10, unacked: 2, inTopic: 10}, ok: true},
		{name: "extra", v: verification{acked: 10, unacked: 2, inTopic: 13}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.v.err(); (err == nil) != tt.ok {
				t.Errorf("err() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestOverloadShares checks the shares of an overload run's answers, with
// the counts of one whose shares did not add up in floating point: no
// request answered otherwise makes an "other" share of exactly 0.
func TestOverloadShares(t *testing.T) {
	r := overloadResult{Requests: 1207119}
	r.setShares(map[int]int64{201: 840432, 429: 366686}, 1)
	if r.ShareOther != 0 {
		t.Errorf("other share %v, want 0", r.ShareOther)
	}
	if got := r.Share2xx + r.Share429 + r.ShareNoResponse; math.Abs(got-100) > 1e-9 {
		t.Errorf("2xx, 429 and unanswered shares add up to %v, want 100", got)
	}
	r = overloadResult{Requests: 10}
	r.setShares(map[int]int64{201: 5, 500: 2, 503: 1}, 2)
	if r.Share2xx != 50 || r.Share503 != 10 || r.ShareOther != 20 || r.ShareNoResponse != 20 {
		t.Errorf("shares %+v, want 50 %% 2xx, 10 %% 503, 20 %% other, 20 %% unanswered", r)
	}
}

func TestBodies(t *testing.T) {
	for _, tt := range []struct {
		name string
		body []byte
		want any
	}{
		{name: "message", body: messageBody("7", 200), want: &message{}},
		{name: "large message", body: messageBody("7", 64<<10), want: &message{}},
		{name: "v3 batch", body: v3Body(7, spec{size: 200, batch: 3}), want: &struct {
			Entries []struct {
				ID    string
				Value struct {
					Type string
					Data message
				}
			}
		}{}},
		{name: "v2 batch", body: v2Body(7, spec{size: 200, batch: 3}), want: &struct {
			Records []struct {
				Key   string
				Value message
			}
		}{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal(tt.body, tt.want); err != nil {
				t.Fatalf("%v in %.200s", err, tt.body)
			}
		})
	}
	if n := len(messageBody("12345", 200)); n != 200 {
		t.Errorf("message of 200 B is %d B", n)
	}
}

func TestAcks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ack    func(int, []byte) (int, error)
		status int
		body   string
		acked  int
		ok     bool
	}{
		{name: "single 201", ack: singleAck, status: 201, acked: 1, ok: true},
		{name: "single 503", ack: singleAck, status: 503, body: "busy"},
		{name: "v3 all", ack: v3Ack, status: 207, body: `{"successes":[{"id":"1"},{"id":"2"}],"failures":[]}`, acked: 2, ok: true},
		{name: "v3 escaped ids", ack: v3Ack, status: 207, body: `{"successes":[{"id":"{\"id\":","partition_id":0},{"id":"2"}],"failures":[]}` + "\n", acked: 2, ok: true},
		{name: "v3 spaced", ack: v3Ack, status: 207, body: `{"successes": [{"id": "1"}], "failures": []}`, acked: 1, ok: true},
		{name: "v3 partial", ack: v3Ack, status: 207, body: `{"successes":[{"id":"1"}],"failures":[{"id":"2","error_code":400}]}`, acked: 1},
		{name: "v3 404", ack: v3Ack, status: 404, body: `{"error_code":404}`},
		{name: "v2 all", ack: v2Ack, status: 200, body: `{"offsets":[{"partition":0,"offset":1,"error_code":null,"error":null}]}`, acked: 1, ok: true},
		{name: "v2 partial", ack: v2Ack, status: 200, body: `{"offsets":[{"offset":1},{"error_code":50002,"error":"x"}]}`, acked: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acked, err := tt.ack(tt.status, []byte(tt.body))
			if acked != tt.acked || (err == nil) != tt.ok {
				t.Errorf("got %d, %v; want %d, ok %v", acked, err, tt.acked, tt.ok)
			}
		})
	}
}

func TestReadUsage(t *testing.T) {
	u, err := readUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.peak <= 0 {
		t.Errorf("peak RSS %d", u.peak)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tt := range []struct {
		name     string
		args     []string
		requests int64
		conc     []int
		err      bool
	}{
		{name: "defaults", conc: []int{1, 16, 64, 256}},
		{name: "smoke", args: []string{"--smoke"}, requests: 60, conc: []int{1, 4}},
		{name: "smoke with explicit levels", args: []string{"--smoke", "--concurrency", "8"}, requests: 60, conc: []int{8}},
		{name: "fasthttp target", args: []string{"--targets", "fasthttp,krest"}, conc: []int{1, 16, 64, 256}},
		{name: "bad wrk level", args: []string{"--wrk-concurrency", "x"}, err: true},
		{name: "unknown target", args: []string{"--targets", "nope"}, err: true},
		{name: "slow bodies that would complete", args: []string{"--slow-rate", "1000", "--slow-duration", "10s"}, conc: []int{1, 16, 64, 256}, err: true},
		{name: "two older krests", args: []string{"--krest-before", "HEAD~1", "--krest-bin-before", "/bin/true"}, err: true},
		{name: "bad level", args: []string{"--concurrency", "0"}, err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args, io.Discard)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if o.requests != tt.requests || fmt.Sprint(o.concurrency) != fmt.Sprint(tt.conc) {
				t.Errorf("requests %d concurrency %v; want %d %v", o.requests, o.concurrency, tt.requests, tt.conc)
			}
		})
	}
}

func TestPoll(t *testing.T) {
	calls := 0
	err := poll(t.Context(), time.Minute, time.Millisecond, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("poll = %v after %d calls", err, calls)
	}
	stop := errors.New("stop")
	if err := poll(t.Context(), time.Minute, time.Millisecond, func() error { return errGaveUp{stop} }); err != stop {
		t.Errorf("poll = %v, want %v", err, stop)
	}
}

// testWriter sends the bench's progress lines to the test log.
type testWriter struct{ t *testing.T }

// Write logs p.
func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestDrainClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type sample struct {
		ms     int
		got    int64
		stable bool
	}
	for _, tt := range []struct {
		name            string
		samples         []sample
		joined, first   int // ms
		steadyRecords   int64
		steadyMs        int
		startedAt, done int // index of the sample that starts and ends the drain
	}{
		{name: "steady", samples: []sample{{0, 0, false}, {50, 0, true}, {100, 100, true}, {150, 600, true}, {200, 1100, true}, {250, 1200, true}},
			joined: 50, first: 100, steadyRecords: 1000, steadyMs: 100, startedAt: 2, done: 5},
		{name: "all in the first fetch", samples: []sample{{0, 0, false}, {50, 1200, false}},
			joined: 50, first: 50, startedAt: 1, done: 1},
		{name: "one sample inside", samples: []sample{{0, 0, true}, {50, 300, true}, {100, 1200, true}},
			joined: 0, first: 50, startedAt: 1, done: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := drainClock{records: 1200, ready: t0}
			started, done := -1, -1
			for i, s := range tt.samples {
				st, dn := c.sample(at(s.ms), s.got, func() bool { return s.stable })
				if st {
					started = i
				}
				if dn {
					done = i
					break
				}
			}
			if started != tt.startedAt || done != tt.done {
				t.Errorf("started at sample %d, done at %d; want %d, %d", started, done, tt.startedAt, tt.done)
			}
			if !c.joined.Equal(at(tt.joined)) || !c.first.Equal(at(tt.first)) {
				t.Errorf("joined %v, first %v; want %d ms, %d ms", c.joined.Sub(t0), c.first.Sub(t0), tt.joined, tt.first)
			}
			records, took := c.steady()
			if records != tt.steadyRecords || took != time.Duration(tt.steadyMs)*time.Millisecond {
				t.Errorf("steady %d records in %v; want %d in %d ms", records, took, tt.steadyRecords, tt.steadyMs)
			}
		})
	}
}

// TestSlowProbe drives slow connections against a TCP server that answers a quarter of them 408, closes a
// quarter, resets a quarter and reads the body of the rest, and checks that the probe tells them apart,
// sends the bodies a byte at a time, and closes every connection when it finishes.
func TestSlowProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	const conns = 12
	var settled, gone sync.WaitGroup // a connection's fate is known to the probe; the probe closed it
	settled.Add(conns)
	gone.Add(conns)
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer gone.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						settled.Done()
						return
					}
					if line == "\r\n" {
						break
					}
				}
				switch i % 4 {
				case 0:
					io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
					c.(*net.TCPConn).CloseWrite()
				case 1:
					c.(*net.TCPConn).CloseWrite()
				case 2:
					c.(*net.TCPConn).SetLinger(0)
					c.Close()
					settled.Done()
					return
				case 3:
					// Settled once two bytes of the body have come, one tick apart.
					if _, err := io.ReadFull(r, make([]byte, 2)); err != nil {
						t.Errorf("slow body: %v", err)
					}
					settled.Done()
					io.Copy(io.Discard, r)
					return
				}
				// The probe closes its end once it has seen the answer or the close.
				io.Copy(io.Discard, r)
				settled.Done()
			}()
		}
	}()
	wait := func(wg *sync.WaitGroup, what string) {
		t.Helper()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: timed out", what)
		}
	}

	p := openSlowProbe(t.Context(), ln.Addr().String(), conns, 100)
	t.Cleanup(p.close)
	wait(&settled, "connections settled")
	o := p.finish()
	wait(&gone, "connections closed")
	if o.Opened != conns || o.Failed != 0 || o.Open != 3 || o.Answered["408"] != 3 || len(o.Answered) != 1 ||
		o.Closed != 3 || o.Reset != 3 {
		t.Errorf("outcome %s", o)
	}
	if o.BodyBytes < 6 {
		t.Errorf("%d body bytes sent, want at least 2 a connection still open", o.BodyBytes)
	}
}

func TestSSEStream(t *testing.T) {
	text := "retry: 2000\nid: AQEAAA\n\n" +
		": ping\n\n" +
		"id: AQEAAQ\nevent: record\ndata: {\"offset\":0}\n\n" +
		"event: delete\r\ndata: a\r\ndata:b\r\n\r\n" +
		"data: no newline at the end"
	rd := strings.NewReader(text)
	s := &sseStream{body: io.NopCloser(rd), r: bufio.NewReaderSize(rd, sseLineBytes)}
	for _, want := range []struct{ event, data string }{
		{"", ""},
		{"record", `{"offset":0}`},
		{"delete", "a\nb"},
	} {
		event, data, err := s.next()
		if err != nil || event != want.event || string(data) != want.data {
			t.Fatalf("next() = %q, %q, %v; want %q, %q", event, data, err, want.event, want.data)
		}
	}
	if _, _, err := s.next(); !errors.Is(err, io.EOF) {
		t.Errorf("next() past a block cut short: %v, want EOF", err)
	}
}
