package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// allTargets lists every row group --targets accepts, in the order they run.
var allTargets = []string{"http", "client", "minimal", "fasthttp", "classic", "krest", "batch", "auth", "consume", "reads", "sse", "queue", "overload", "slowclients"}

// options is the bench configuration. Every field has a flag of the same name in kebab case; --smoke
// changes the defaults of the size flags (and flags given explicitly still win).
type options struct {
	brokers          string        // --brokers: existing cluster; default "" starts `krest broker`
	duration         time.Duration // --duration: measured time per point; default 10s
	warmup           time.Duration // --warmup: unmeasured load before each point; default 1s
	requests         int64         // --requests: requests per point instead of --duration; default 0 (smoke 60)
	rounds           int           // --rounds: turns each point's time is split into, interleaved with the other targets; default 3 (smoke 2)
	concurrency      []int         // --concurrency: requests in flight; default 1,16,64,256 (smoke 1,4)
	targets          []string      // --targets: row groups to run; default all
	out              string        // --out: directory for results.json, charts and RESULTS.md; default bench
	smoke            bool          // --smoke: a few hundred records, for tests; verification only
	bodyBytes        int           // --body-bytes: size of one record's JSON body; default 200
	largeBytes       int           // --large-bytes: size of the large-record run; default 65536; 0 skips it
	largeConcurrency int           // --large-concurrency: concurrency of the large-record run; default 16
	batchSizes       []int         // --batch-sizes: records per batch request; default 1,10,100
	checkConcurrency int           // --check-concurrency: concurrency the target checks compare at; default 64
	partitions       int           // --partitions: partitions of every topic the bench creates; default 3, as krest creates
	consumeRecords   int64         // --consume-records: records pre-filled for the consume row; default 1000000
	sseRate          int           // --sse-rate: records/s produced while the SSE latency is measured; default 200
	sseRecords       int           // --sse-records: records whose SSE latency is measured; default 2000 (smoke 100)
	queueRecords     int64         // --queue-records: records pre-filled for the queue rows; default 100000 (smoke 300)
	overloadClients  int           // --overload-clients: concurrent clients of the overload run; default 2000
	overloadDuration time.Duration // --overload-duration: length of the overload run; default 30s
	overloadRSSMiB   int           // --overload-rss-mib: peak RSS krest must stay under when overloaded; default 512
	slowConns        int           // --slow-conns: slow connections of the slow-client probe; default 1100 (smoke 50)
	slowRate         float64       // --slow-rate: body bytes per second each slow connection sends; default 1
	slowDuration     time.Duration // --slow-duration: length of the probe, and of the run without it; default 20s (smoke 2s)
	krestBin         string        // --krest-bin: prebuilt krest binary; default "" builds ./cmd/krest
	krestBinBefore   string        // --krest-bin-before: an older krest binary measured beside krest; default "" (none)
	krestBefore      string        // --krest-before: git revision of an older krest to build and measure beside krest; default "" (none)
	krestEnv         []string      // --krest-env: KEY=VALUE pairs for every krest process; default KREST_LOG_LEVEL=warn (smoke also KREST_SHUTDOWN_DELAY=0s)
	seedDir          string        // --seed-dir: the classic design's source; default ../shared/peers/seed-app
	profileDir       string        // --profile-dir: where to save CPU profiles of krest; default "" (none)
	wrk              string        // --wrk: the wrk binary for the wrk rows; default "wrk" (from PATH); "" skips them
	wrkConcurrency   []int         // --wrk-concurrency: connections of the wrk rows; default 1,64,256 (smoke 4)
	charts           bool          // --charts: draw the PNG charts with bench/charts; default true (smoke false)
}

// smokeDefaults are the defaults --smoke applies to flags that were not given.
var smokeDefaults = map[string]string{
	"warmup":            "0s",
	"rounds":            "2",
	"requests":          "60",
	"concurrency":       "1,4",
	"large-concurrency": "2",
	"check-concurrency": "4",
	"batch-sizes":       "1,10",
	"partitions":        "2",
	"consume-records":   "3000",
	"sse-records":       "100",
	"queue-records":     "300",
	"overload-clients":  "40",
	"overload-duration": "1s",
	"slow-conns":        "50",
	"slow-duration":     "2s",
	"wrk-concurrency":   "4",
	"charts":            "false",
	// A stopping krest fails readiness for KREST_SHUTDOWN_DELAY (5 s) before it closes; no load balancer
	// watches a smoke run, and it stops krest a dozen times.
	"krest-env": "KREST_LOG_LEVEL=warn,KREST_SHUTDOWN_DELAY=0s",
}

// parseOptions reads the bench flags from args (without the program name).
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("krest-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.brokers, "brokers", "", "comma-separated seed brokers of an existing cluster (default: start `krest broker`)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per point")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each point")
	fs.Int64Var(&o.requests, "requests", 0, "requests per point instead of --duration (0: use --duration)")
	fs.IntVar(&o.rounds, "rounds", 3, "turns each point's time is split into, interleaved with the other targets")
	fs.Func("concurrency", "comma-separated requests in flight (default 1,16,64,256)", intList(&o.concurrency))
	fs.Func("targets", "comma-separated row groups: "+strings.Join(allTargets, ","), func(s string) error {
		o.targets = strings.Split(s, ",")
		for _, t := range o.targets {
			if !slices.Contains(allTargets, t) {
				return fmt.Errorf("unknown target %q", t)
			}
		}
		return nil
	})
	fs.StringVar(&o.out, "out", "bench", "directory for results.json, the charts and RESULTS.md (\"\": none)")
	fs.BoolVar(&o.smoke, "smoke", false, "tiny run for tests: a few hundred records, verification only")
	fs.IntVar(&o.bodyBytes, "body-bytes", 200, "size of one record's JSON body")
	fs.IntVar(&o.largeBytes, "large-bytes", 64<<10, "record size of the large-record run (0: skip it)")
	fs.IntVar(&o.largeConcurrency, "large-concurrency", 16, "concurrency of the large-record run")
	fs.Func("batch-sizes", "comma-separated records per batch request (default 1,10,100)", intList(&o.batchSizes))
	fs.IntVar(&o.checkConcurrency, "check-concurrency", 64, "concurrency at which the target checks compare rows")
	fs.IntVar(&o.partitions, "partitions", 3, "partitions of every topic the bench creates (krest creates 3)")
	fs.Int64Var(&o.consumeRecords, "consume-records", 1_000_000, "records pre-filled for the consume row")
	fs.IntVar(&o.sseRate, "sse-rate", 200, "records/s produced while the SSE latency is measured")
	fs.IntVar(&o.sseRecords, "sse-records", 2000, "records whose produce-to-SSE latency is measured")
	fs.Int64Var(&o.queueRecords, "queue-records", 100_000, "records pre-filled for the queue rows")
	fs.IntVar(&o.overloadClients, "overload-clients", 2000, "concurrent clients of the overload run")
	fs.DurationVar(&o.overloadDuration, "overload-duration", 30*time.Second, "length of the overload run")
	fs.IntVar(&o.overloadRSSMiB, "overload-rss-mib", 512, "peak RSS in MiB krest must stay under when overloaded")
	fs.IntVar(&o.slowConns, "slow-conns", 1100, "connections of the slow-client probe that send their bodies slowly")
	fs.Float64Var(&o.slowRate, "slow-rate", 1, "body bytes per second each slow connection sends")
	fs.DurationVar(&o.slowDuration, "slow-duration", 20*time.Second, "length of the slow-client probe, and of the run without it")
	fs.StringVar(&o.krestBin, "krest-bin", "", "prebuilt krest binary (default: go build ./cmd/krest)")
	fs.StringVar(&o.krestBinBefore, "krest-bin-before", "", "an older krest binary, measured beside krest in the krest and slowclients rows")
	fs.StringVar(&o.krestBefore, "krest-before", "", "git revision of an older krest to build and measure beside krest in the krest and slowclients rows")
	fs.Func("krest-env", "comma-separated KEY=VALUE for every krest process (default KREST_LOG_LEVEL=warn)", func(s string) error {
		o.krestEnv = strings.Split(s, ",")
		return nil
	})
	fs.StringVar(&o.seedDir, "seed-dir", "", "source of the classic design (default: ../shared/peers/seed-app beside the checkout)")
	fs.StringVar(&o.profileDir, "profile-dir", "", "save CPU profiles of krest (at --check-concurrency, and consuming) in this directory")
	fs.StringVar(&o.wrk, "wrk", "wrk", "wrk binary for the wrk rows of the HTTP targets (\"\": skip them)")
	fs.Func("wrk-concurrency", "comma-separated connections of the wrk rows (default 1,64,256)", intList(&o.wrkConcurrency))
	fs.BoolVar(&o.charts, "charts", true, "draw throughput.png and p99.png with the bench/charts module (needs the go command)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	defaults := map[string]string{"concurrency": "1,16,64,256", "batch-sizes": "1,10,100", "krest-env": "KREST_LOG_LEVEL=warn",
		"wrk-concurrency": "1,64,256"}
	if o.smoke {
		for name, v := range smokeDefaults {
			defaults[name] = v
		}
	}
	for name, v := range defaults {
		if !given[name] {
			if err := fs.Set(name, v); err != nil {
				return o, err
			}
		}
	}
	if len(o.targets) == 0 {
		o.targets = allTargets
	}
	return o, o.validate()
}

// validate reports the first option that cannot work.
func (o options) validate() error {
	switch {
	case o.duration <= 0 && o.requests <= 0:
		return fmt.Errorf("either --duration or --requests must be positive")
	case o.bodyBytes < 40:
		return fmt.Errorf("--body-bytes must be at least 40 to hold a message")
	case o.rounds < 1:
		return fmt.Errorf("--rounds must be at least 1")
	case o.partitions < 1:
		return fmt.Errorf("--partitions must be at least 1")
	case o.consumeRecords < 1:
		return fmt.Errorf("--consume-records must be at least 1")
	case o.sseRate < 1 || o.sseRate > 100_000:
		return fmt.Errorf("--sse-rate must be from 1 to 100000 records/s")
	case o.sseRecords < 1:
		return fmt.Errorf("--sse-records must be at least 1")
	case o.queueRecords < 1:
		return fmt.Errorf("--queue-records must be at least 1")
	case o.overloadClients < 1:
		return fmt.Errorf("--overload-clients must be at least 1")
	case o.slowConns < 1:
		return fmt.Errorf("--slow-conns must be at least 1")
	case o.slowRate <= 0:
		return fmt.Errorf("--slow-rate must be positive")
	case o.slowDuration <= 0:
		return fmt.Errorf("--slow-duration must be positive")
	case o.slowRate*o.slowDuration.Seconds() >= slowBodyBytes-1:
		return fmt.Errorf("--slow-rate × --slow-duration must stay under %d bytes, or the slow bodies complete", slowBodyBytes-1)
	case o.krestBinBefore != "" && o.krestBefore != "":
		return fmt.Errorf("--krest-bin-before and --krest-before name the same krest: give one")
	}
	return nil
}

// runs reports whether the row group name was selected with --targets.
func (o options) runs(name string) bool { return slices.Contains(o.targets, name) }

// needsKafka reports whether any selected target uses the broker.
func (o options) needsKafka() bool {
	return slices.ContainsFunc(o.targets, func(t string) bool { return t != "http" })
}

// intList returns a flag.Func parser that stores a comma-separated list of positive integers in dst.
func intList(dst *[]int) func(string) error {
	return func(s string) error {
		*dst = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("%q is not a positive integer", f)
			}
			*dst = append(*dst, n)
		}
		return nil
	}
}
