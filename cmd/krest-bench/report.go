package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// report is every figure of one run; results.json is its JSON form.
type report struct {
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Command  string          `json:"command"`
	Machine  machine         `json:"machine"`
	Settings settings        `json:"settings"`
	Points   []point         `json:"points"`
	Skipped  []skipped       `json:"skipped"`
	Consume  []consumeResult `json:"consume"`
	Reads    []readResult    `json:"reads"`
	// Streams holds the SSE throughput rows, StreamLatency the produce-to-delivery latency rows.
	Streams       []readResult    `json:"streams"`
	StreamLatency []latencyResult `json:"stream_latency"`
	Queue         []readResult    `json:"queue"`
	Overload      *overloadResult `json:"overload"`
	// SlowClients holds the slow-client probe of krest, and of the older krest when one was given.
	SlowClients []slowResult `json:"slow_clients"`
	Checks      []check      `json:"checks"`
}

// machine describes where the run happened.
type machine struct {
	CPUs      int     `json:"cpus"`
	CPUModel  string  `json:"cpu_model"`
	MemoryGiB float64 `json:"memory_gib"`
	Kernel    string  `json:"kernel"`
	Go        string  `json:"go"`
}

// settings are the options that shape the figures.
type settings struct {
	Broker           string   `json:"broker"`
	Duration         string   `json:"duration"`
	Warmup           string   `json:"warmup"`
	Rounds           int      `json:"rounds"`
	Requests         int64    `json:"requests_per_point,omitempty"`
	Concurrency      []int    `json:"concurrency"`
	BodyBytes        int      `json:"body_bytes"`
	LargeBytes       int      `json:"large_bytes"`
	LargeConcurrency int      `json:"large_concurrency"`
	BatchSizes       []int    `json:"batch_sizes"`
	WrkConcurrency   []int    `json:"wrk_concurrency,omitempty"`
	Partitions       int      `json:"partitions"`
	ConsumeRecords   int64    `json:"consume_records"`
	SSERate          int      `json:"sse_rate"`
	SSERecords       int      `json:"sse_records"`
	QueueRecords     int64    `json:"queue_records"`
	OverloadClients  int      `json:"overload_clients"`
	OverloadDuration string   `json:"overload_duration"`
	SlowConns        int      `json:"slow_conns"`
	SlowRate         float64  `json:"slow_bytes_per_sec"`
	SlowDuration     string   `json:"slow_duration"`
	KrestEnv         []string `json:"krest_env"`
	Krest            string   `json:"krest"`                  // where the krest binary came from
	KrestBefore      string   `json:"krest_before,omitempty"` // where the older krest came from, when one was measured
}

// point is one measured load shape of one produce target. A point that failed has Error and no figures.
type point struct {
	Target            string           `json:"target"`
	Title             string           `json:"title"`
	LoadGen           string           `json:"load_generator"`     // go or wrk
	InBench           bool             `json:"in_bench,omitempty"` // the target runs in the bench: its CPU is the load generator's
	Concurrency       int              `json:"concurrency"`
	RecordBytes       int              `json:"record_bytes"`
	RecordsPerRequest int              `json:"records_per_request"`
	Chart             bool             `json:"chart"`
	Seconds           float64          `json:"seconds,omitempty"`
	Requests          int64            `json:"requests,omitempty"`
	Errors            int64            `json:"errors"`
	Records           int64            `json:"records,omitempty"`
	RequestsPerSec    float64          `json:"requests_per_sec,omitempty"`
	RecordsPerSec     float64          `json:"records_per_sec,omitempty"`
	Latency           latency          `json:"latency_ms"`
	Statuses          map[string]int64 `json:"statuses,omitempty"`
	FirstError        string           `json:"first_error,omitempty"`
	Gateway           *resources       `json:"gateway"`
	Broker            *resources       `json:"broker"`
	LoadCPU           *loadCPU         `json:"load_generator_cpu"`
	Verification      string           `json:"verification,omitempty"`
	Error             string           `json:"error,omitempty"`
}

// loadCPU is what the load generator itself used over the measured intervals of a point: the bench's
// own process (getrusage) for the Go generator, the wrk process for wrk.
type loadCPU struct {
	MicrosPerRequest float64 `json:"cpu_us_per_request"`
	Cores            float64 `json:"cores"` // CPU seconds per second of load
}

// latency holds percentiles of acknowledged requests, in milliseconds.
type latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// resources is what a process used during a point.
type resources struct {
	CPUSecondsPer100k float64 `json:"cpu_seconds_per_100k_records"`
	PeakRSSMiB        float64 `json:"peak_rss_mib"`
	PeakSinceStart    bool    `json:"peak_since_process_start,omitempty"` // the kernel could not reset VmHWM
}

// skipped is a row group that did not run: Reason when it cannot run here, Error when it failed to start.
type skipped struct {
	Target string `json:"target"`
	Title  string `json:"title"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// consumeResult is one row of the consume table: the phases of its drains, averaged over the rounds, and
// the steady state after them, summed over the rounds. Resources are those of the steady state.
type consumeResult struct {
	Target              string     `json:"target"`
	Title               string     `json:"title"`
	Records             int64      `json:"records"` // of each drain
	Rounds              int        `json:"rounds"`
	Progress            string     `json:"progress_from,omitempty"` // what the steady-state clock counts
	StartupSec          float64    `json:"startup_seconds,omitempty"`
	JoinSec             float64    `json:"join_seconds,omitempty"`
	FirstFetchSec       float64    `json:"first_fetch_seconds,omitempty"`
	SteadyRecords       int64      `json:"steady_records,omitempty"`
	SteadySec           float64    `json:"steady_seconds,omitempty"`
	SteadyRecordsPerSec float64    `json:"steady_records_per_sec,omitempty"`
	TotalSec            float64    `json:"seconds,omitempty"` // from the start to every record committed
	RecordsPerSec       float64    `json:"records_per_sec,omitempty"`
	Gateway             *resources `json:"gateway"`
	Broker              *resources `json:"broker"`
	Verification        string     `json:"verification,omitempty"`
	Skipped             string     `json:"skipped,omitempty"`
	Error               string     `json:"error,omitempty"`
}

// overloadResult is the overload run. Shares are percentages of requests.
type overloadResult struct {
	Clients           int              `json:"clients"`
	Seconds           float64          `json:"seconds"`
	Requests          int64            `json:"requests"`
	Statuses          map[string]int64 `json:"statuses"`
	NoResponse        int64            `json:"no_response"`
	Share2xx          float64          `json:"share_2xx"`
	Share429          float64          `json:"share_429"`
	Share503          float64          `json:"share_503"`
	ShareOther        float64          `json:"share_other"`
	ShareNoResponse   float64          `json:"share_no_response"`
	MissingRetryAfter int64            `json:"missing_retry_after"`
	OKPerSec          float64          `json:"ok_per_sec"`
	P99OKMs           float64          `json:"p99_ok_ms"`
	PeakRSSMiB        float64          `json:"peak_rss_mib"`
	RSSLimitMiB       int              `json:"rss_limit_mib"`
	Alive             bool             `json:"alive"`
	Healthz           int              `json:"healthz_status"`
	FirstError        string           `json:"first_error,omitempty"`
	Verification      string           `json:"verification,omitempty"`
	Skipped           string           `json:"skipped,omitempty"`
	Error             string           `json:"error,omitempty"`
}

// slowResult is the slow-client probe against one krest: its normal clients alone, then beside the slow
// connections, and what became of those.
type slowResult struct {
	Target          string       `json:"target"` // krest or krest-before
	Title           string       `json:"title"`
	Clients         int          `json:"normal_clients"`
	SlowConns       int          `json:"slow_conns"`
	SlowRate        float64      `json:"slow_bytes_per_sec"`
	Without         *normalLoad  `json:"without_probe,omitempty"`
	During          *normalLoad  `json:"during_probe,omitempty"`
	Ratio           float64      `json:"during_vs_without,omitempty"` // records/s during the probe over records/s without it
	Slow            *slowOutcome `json:"slow_connections,omitempty"`
	KrestConnsAtEnd int          `json:"krest_http_conns_at_end"`        // krest's open HTTP connections as the probe ended
	KrestConnsAfter int          `json:"krest_http_conns_after_cleanup"` // … once the bench had closed all of its own
	CleanupSec      float64      `json:"cleanup_seconds"`                // how long krest took to let them go
	CleanupError    string       `json:"cleanup_error,omitempty"`
	Alive           bool         `json:"alive"`
	Verification    string       `json:"verification,omitempty"`
	Skipped         string       `json:"skipped,omitempty"`
	Error           string       `json:"error,omitempty"`
}

// normalLoad is what the normal clients of the probe got in one run.
type normalLoad struct {
	Seconds       float64          `json:"seconds"`
	Requests      int64            `json:"requests"`
	Created       int64            `json:"status_201"`
	Not201        int64            `json:"not_201"` // any other answer, or none
	TooMany       int64            `json:"status_429"`
	NoResponse    int64            `json:"no_response"`
	RecordsPerSec float64          `json:"records_per_sec"`
	Latency       latency          `json:"latency_ms"`
	Statuses      map[string]int64 `json:"statuses,omitempty"`
	FirstError    string           `json:"first_error,omitempty"`
	Krest         *resources       `json:"krest"`
}

// slowOutcome is what became of the slow connections by the end of the probe.
type slowOutcome struct {
	Opened      int            `json:"opened"`
	Failed      int            `json:"failed_to_open"`
	FirstError  string         `json:"first_error,omitempty"`
	Open        int            `json:"still_open"`
	Answered    map[string]int `json:"answered"` // by status code; 0 for an answer that is not HTTP
	Closed      int            `json:"closed_without_answer"`
	Reset       int            `json:"reset"`
	BodyBytes   int64          `json:"body_bytes_sent"`
	FirstEndSec float64        `json:"first_end_seconds,omitempty"` // after its headers, the first connection that did not stay open ended
	LastEndSec  float64        `json:"last_end_seconds,omitempty"`  // … and the last
}

// newReport starts the report of a run of args.
func newReport(o options, args []string) *report {
	broker := "krest broker --in-memory (a child process)"
	if o.brokers != "" {
		broker = o.brokers
	}
	return &report{
		Started: time.Now(),
		Command: shellCommand(append([]string{"go run ./cmd/krest-bench"}, args[1:]...)),
		Machine: readMachine(),
		Settings: settings{
			Broker: broker, Duration: o.duration.String(), Warmup: o.warmup.String(), Rounds: o.rounds, Requests: o.requests,
			Concurrency: o.concurrency, BodyBytes: o.bodyBytes, LargeBytes: o.largeBytes,
			LargeConcurrency: o.largeConcurrency, BatchSizes: o.batchSizes, WrkConcurrency: o.wrkConcurrency, Partitions: o.partitions,
			ConsumeRecords: o.consumeRecords, SSERate: o.sseRate, SSERecords: o.sseRecords, QueueRecords: o.queueRecords,
			OverloadClients:  o.overloadClients,
			OverloadDuration: o.overloadDuration.String(), SlowConns: o.slowConns, SlowRate: o.slowRate,
			SlowDuration: o.slowDuration.String(), KrestEnv: o.krestEnv,
		},
	}
}

// shellCommand joins args into a command line, quoting those a shell would split or expand.
func shellCommand(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if i > 0 && (a == "" || strings.ContainsAny(a, " \t'\"$&;|<>*?`\\")) {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// readMachine reads the CPU, memory and kernel from /proc.
func readMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib float64
		fmt.Sscanf(string(b), "MemTotal: %f kB", &kib)
		m.MemoryGiB = kib / (1 << 20)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// write prints the Markdown report to stdout and, when out is set, writes results.json there, the charts
// when charts is set (see drawCharts), and RESULTS.md.
func (r *report) write(ctx context.Context, out string, charts bool, stdout io.Writer, progress func(string, ...any)) error {
	md := r.markdown()
	if _, err := io.WriteString(stdout, md); err != nil || out == "" {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var drawn []chart
	var chartErr error
	if charts {
		progress("drawing the charts with bench/charts")
		if drawn, chartErr = drawCharts(ctx, out); chartErr != nil {
			progress("charts: %v", chartErr)
		}
	}
	var doc strings.Builder
	doc.WriteString("# krest benchmark results\n\n")
	doc.WriteString("Written by `krest-bench` (see `bench/README.md`); every figure is also in `results.json`. " +
		"The machine may be shared with other work, so absolute figures vary from run to run; the target checks " +
		"compare rows measured in interleaved turns of the same run.\n\n")
	doc.WriteString(md)
	switch {
	case len(drawn) > 0:
		doc.WriteString("\n## Charts\n\n")
		for _, c := range drawn {
			fmt.Fprintf(&doc, "![%s](%s)\n\n", c.title, c.file)
		}
	case chartErr != nil:
		fmt.Fprintf(&doc, "\nThe charts could not be drawn (%s); `go -C bench/charts run .` draws them from results.json.\n", cell(chartErr.Error()))
	}
	return os.WriteFile(filepath.Join(out, "RESULTS.md"), []byte(doc.String()), 0o644)
}

// markdown renders the report as Markdown tables.
func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Run of %s, %.0f s. Machine: %d CPUs (%s), %.1f GiB memory, Linux %s, %s.\n\n",
		r.Started.Format("2006-01-02 15:04 MST"), r.Seconds, m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.Go)
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	s := r.Settings
	turns := fmt.Sprintf("in %d turns interleaved with the other targets", s.Rounds)
	if s.Rounds == 1 {
		turns = "in one turn"
	}
	fmt.Fprintf(&b, "Broker: %s. Every target writes a fresh topic of %d partitions. Each point: %s warm-up, then %s "+
		"%s (closed loop, keep-alive). krest (%s) runs with default settings plus `%s`.\n\n",
		s.Broker, s.Partitions, s.Warmup, r.pointLength(), turns, s.Krest, strings.Join(s.KrestEnv, " "))
	if s.KrestBefore != "" {
		fmt.Fprintf(&b, "*krest before* is an older krest (%s), run the same way beside it.\n\n", s.KrestBefore)
	}

	b.WriteString("## Produce\n\n")
	b.WriteString("Latency in ms (HDR histogram of fully acknowledged requests; for wrk, its percentiles at 1 000 " +
		"quantiles, merged over the turns); CPU in seconds per 100 k records; *load gen*: the CPU the load " +
		"generator itself used per request, and in cores (the bench's own process for the Go generator; " +
		"for a target inside the bench it is the gateway's CPU). RSS is the gateway's peak during the point " +
		"(the broker's, which holds memory its runtime has not yet returned from earlier turns, is only in " +
		"results.json). *verified*: the topic grew by exactly the acknowledged records, plus at most the " +
		"requests without an answer.\n\n")
	b.WriteString("| target | gen | c | record | rec/req | req/s | rec/s | p50 | p90 | p99 | p99.9 | errors | gateway CPU | broker CPU | load gen µs/req (cores) | gateway RSS MiB | verified |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, p := range r.Points {
		head := fmt.Sprintf("| %s | %s | %d | %s | %d |", p.Title, p.LoadGen, p.Concurrency, sizeLabel(p.RecordBytes), p.RecordsPerRequest)
		if p.Error != "" {
			fmt.Fprintf(&b, "%s **FAILED** | | | | | | | | | | | | %s |\n", head, cell(p.Error))
			continue
		}
		l := p.Latency
		fmt.Fprintf(&b, "%s %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %d | %s | %s | %s | %s | %s |\n", head,
			p.RequestsPerSec, p.RecordsPerSec, l.P50, l.P90, l.P99, l.P999, p.Errors,
			cpuCell(p.Gateway), cpuCell(p.Broker), loadCell(p), rssCell(p.Gateway), verifiedCell(p.Verification))
	}
	for _, sk := range r.Skipped {
		if sk.Error != "" {
			fmt.Fprintf(&b, "\n- **%s: FAILED** to start: %s", sk.Title, cell(sk.Error))
		} else {
			fmt.Fprintf(&b, "\n- %s: skipped: %s", sk.Title, cell(sk.Reason))
		}
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\n")
	}

	if len(r.Consume) > 0 {
		c0 := r.Consume[0]
		fmt.Fprintf(&b, "\n## Consume\n\n%d pre-filled records of %d B; in each of %d rounds every consumer drains them "+
			"in a fresh group. *start-up*: from the launch until it is ready (krest: `/readyz` 200); *join*: until "+
			"the group is stable with it (DescribeGroups); *first fetch*: until its first record is processed. "+
			"The *steady* rate runs from the first sample of progress (every %v) that shows a processed record to "+
			"the last one before all were, over every round; CPU and RSS are the steady state's. *whole drain*: "+
			"from the launch until the group's committed offsets reach the end offsets.\n\n",
			c0.Records, s.BodyBytes, s.Rounds, progressInterval)
		b.WriteString("| consumer | start-up s | join s | first fetch s | steady rec/s | whole drain s | whole rec/s | consumer CPU | broker CPU | consumer RSS MiB | progress from | verified |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
		for _, c := range r.Consume {
			if c.Error != "" {
				fmt.Fprintf(&b, "| %s | **FAILED** | | | | | | | | | | %s |\n", c.Title, cell(c.Error))
				continue
			}
			steady := "–"
			if c.SteadyRecordsPerSec > 0 {
				steady = fmt.Sprintf("%.0f", c.SteadyRecordsPerSec)
			}
			fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %s | %.2f | %.0f | %s | %s | %s | %s | %s |\n", c.Title,
				c.StartupSec, c.JoinSec, c.FirstFetchSec, steady, c.TotalSec, c.RecordsPerSec, cpuCell(c.Gateway),
				cpuCell(c.Broker), rssCell(c.Gateway), c.Progress, c.Verification)
		}
	}

	if len(r.Reads) > 0 {
		fmt.Fprintf(&b, "\n## Offset reads\n\n%d pre-filled records of %d B in one partition; in each of %d rounds every "+
			"reader reads them all from offset 0. Reader CPU is krest's, or the bench's for the bare loop.\n\n",
			r.Reads[0].Records, s.BodyBytes, s.Rounds)
		readRows(&b, r.Reads)
	}

	if len(r.Streams) > 0 {
		fmt.Fprintf(&b, "\n## Server-Sent Events\n\n%d pre-filled records of %d B in %d partitions; in each of %d rounds "+
			"every reader reads them all from the start, krest's as the record events of one stream "+
			"(`GET …/records:stream?from=earliest`). Reader CPU is krest's, or the bench's for the bare loop.\n\n",
			r.Streams[0].Records, s.BodyBytes, s.Partitions, s.Rounds)
		readRows(&b, r.Streams)
	}
	if len(r.StreamLatency) > 0 {
		l0 := r.StreamLatency[0]
		fmt.Fprintf(&b, "\nDelivery latency: %d records produced at %d/s (acks=all, after an unmeasured warm-up), "+
			"each timed from just before its Produce call to its delivery; the bare loop and krest's stream read "+
			"the same records at once, from the start of a fresh topic. Latency in ms.\n\n", l0.Records, l0.RatePerSec)
		b.WriteString("| reader | records | p50 | p90 | p99 | p99.9 | max |\n|---|--:|--:|--:|--:|--:|--:|\n")
		for _, x := range r.StreamLatency {
			if x.Error != "" {
				fmt.Fprintf(&b, "| %s | **FAILED** %s | | | | | |\n", x.Title, cell(x.Error))
				continue
			}
			l := x.Latency
			fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", x.Title, x.Records, l.P50, l.P90, l.P99, l.P999, l.Max)
		}
	}

	if len(r.Queue) > 0 {
		fmt.Fprintf(&b, "\n## Work queue\n\n%d pre-filled records of %d B in %d partitions; in each of %d rounds every "+
			"reader takes and accepts them all in a fresh share group (KIP-932) that starts at the earliest offsets, "+
			"until the broker has acknowledged every accept. Reader CPU is krest's, or the bench's for the bare "+
			"share consumer.\n\n", r.Queue[0].Records, s.BodyBytes, s.Partitions, s.Rounds)
		readRows(&b, r.Queue)
	}

	if o := r.Overload; o != nil {
		fmt.Fprintf(&b, "\n## Overload\n\n%d closed-loop clients against krest for %s.\n\n", o.Clients, s.OverloadDuration)
		if o.Error != "" {
			fmt.Fprintf(&b, "**FAILED**: %s\n", cell(o.Error))
		}
		if o.Requests > 0 {
			b.WriteString("| requests | 2xx | 429 | 503 | other | unanswered | 2xx/s | p99 of 2xx ms | no Retry-After | peak RSS MiB | alive | /healthz after |\n")
			b.WriteString("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|\n")
			fmt.Fprintf(&b, "| %d | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.0f | %.2f | %d | %.0f | %v | %d |\n",
				o.Requests, o.Share2xx, o.Share429, o.Share503, o.ShareOther, o.ShareNoResponse, o.OKPerSec, o.P99OKMs,
				o.MissingRetryAfter, o.PeakRSSMiB, o.Alive, o.Healthz)
		}
	}

	if len(r.SlowClients) > 0 {
		r.slowMarkdown(&b)
	}

	b.WriteString("\n## Target checks\n\nSame-run ratios at " + sizeLabel(s.BodyBytes) + ", from the Go generator's rows; " +
		"where wrk drove the same rows, their ratio follows.\n\n")
	b.WriteString("| target | want | got | detail | result | got with wrk | detail with wrk | result with wrk |\n")
	b.WriteString("|---|---|--:|---|---|--:|---|---|\n")
	ratio := func(v *float64) string {
		if v == nil {
			return ""
		}
		return fmt.Sprintf("%.2f×", *v)
	}
	for _, c := range r.Checks {
		wrkStatus := ""
		if c.WrkStatus != "" {
			wrkStatus = "**" + c.WrkStatus + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | **%s** | %s | %s | %s |\n", c.Name, c.Want, ratio(c.Got), c.Detail, c.Status,
			ratio(c.WrkGot), c.WrkDetail, wrkStatus)
	}
	return b.String()
}

// readRows renders the rows of a read table.
func readRows(b *strings.Builder, rows []readResult) {
	b.WriteString("| reader | rec/s | reader CPU | reader RSS MiB |\n|---|--:|--:|--:|\n")
	for _, x := range rows {
		switch {
		case x.Skipped != "":
			fmt.Fprintf(b, "| %s | skipped: %s | | |\n", x.Title, cell(x.Skipped))
			continue
		case x.Error != "":
			fmt.Fprintf(b, "| %s | **FAILED** %s | | |\n", x.Title, cell(x.Error))
			continue
		}
		fmt.Fprintf(b, "| %s | %.0f | %s | %s |\n", x.Title, x.RecordsPerSec, cpuCell(x.Gateway), rssCell(x.Gateway))
	}
}

// slowMarkdown renders the slow-client probe.
func (r *report) slowMarkdown(b *strings.Builder) {
	s := r.Settings
	r0 := r.SlowClients[0]
	fmt.Fprintf(b, "\n## Slow clients\n\n%d raw TCP connections each send the complete headers of a `POST /api/messages` "+
		"with `Content-Length: %d`, then its body at %s B/s, while %d closed-loop clients produce to the same "+
		"krest for %s; the same clients ran for as long without them, half just before the probe and half "+
		"just after, so that a drift of the machine weighs on both alike. What ends a slow connection "+
		"is krest's `KREST_READ_TIMEOUT` (default 30 s from a request's first byte) or `KREST_IO_IDLE_TIMEOUT` "+
		"(default 1 m without progress). *not 201*: normal requests answered anything else, or not at all. "+
		"krest's CPU is per 100 k records; its peak RSS without the probe is that of the half before it. "+
		"*krest conns*: krest's open HTTP connections (established or CLOSE_WAIT on its port) as the probe "+
		"ended, the normal clients' included, and once the bench had closed every connection of its own.\n\n",
		s.SlowConns, slowBodyBytes, rateLabel(s.SlowRate), r0.Clients, s.SlowDuration)
	b.WriteString("| krest | slow connections | requests | rec/s | p50 | p99 | p99.9 | not 201 | 429 | unanswered | krest CPU | krest RSS MiB |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, x := range r.SlowClients {
		for _, run := range []struct {
			slow string
			n    *normalLoad
		}{{"none", x.Without}, {fmt.Sprintf("%d at %s B/s", x.SlowConns, rateLabel(x.SlowRate)), x.During}} {
			if run.n == nil {
				continue
			}
			n, l := run.n, run.n.Latency
			fmt.Fprintf(b, "| %s | %s | %d | %.0f | %.2f | %.2f | %.2f | %d | %d | %d | %s | %s |\n", x.Title, run.slow,
				n.Requests, n.RecordsPerSec, l.P50, l.P99, l.P999, n.Not201, n.TooMany, n.NoResponse, cpuCell(n.Krest), rssCell(n.Krest))
		}
	}
	b.WriteString("\n| krest | rec/s during ÷ without | slow conns opened | still open | answered | closed without answer | reset | failed to open | krest conns at end | after clean-up | verified |\n")
	b.WriteString("|---|--:|--:|--:|---|--:|--:|--:|--:|--:|---|\n")
	for _, x := range r.SlowClients {
		switch {
		case x.Skipped != "":
			fmt.Fprintf(b, "| %s | skipped | | | | | | | | | %s |\n", x.Title, cell(x.Skipped))
			continue
		case x.Slow == nil:
			fmt.Fprintf(b, "| %s | **FAILED** | | | | | | | | | %s |\n", x.Title, cell(x.Error))
			continue
		}
		o := x.Slow
		after := fmt.Sprintf("%d in %.1f s", x.KrestConnsAfter, x.CleanupSec)
		verified := "yes: " + x.Verification
		if x.Error != "" {
			verified = "**FAILED**: " + cell(x.Error)
		}
		fmt.Fprintf(b, "| %s | %.2f× | %d | %d | %s | %d | %d | %d | %d | %s | %s |\n", x.Title, x.Ratio, o.Opened, o.Open,
			o.answered(), o.Closed, o.Reset, o.Failed, x.KrestConnsAtEnd, after, verified)
	}
}

// pointLength describes how long each point is measured.
func (r *report) pointLength() string {
	if r.Settings.Requests > 0 {
		return strconv.FormatInt(r.Settings.Requests, 10) + " requests"
	}
	return r.Settings.Duration + " measured"
}

// sizeLabel renders a record size.
func sizeLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// cpuCell renders CPU seconds per 100 k records, or a dash when unknown.
func cpuCell(r *resources) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", r.CPUSecondsPer100k)
}

// loadCell renders the load generator's CPU per request and cores, or a dash when unknown.
func loadCell(p point) string {
	switch {
	case p.LoadCPU == nil:
		return "–"
	case p.InBench:
		return "= gateway"
	}
	return fmt.Sprintf("%.1f (%.2f)", p.LoadCPU.MicrosPerRequest, p.LoadCPU.Cores)
}

// rssCell renders a peak RSS, or a dash when unknown; a star marks a peak since the process started.
func rssCell(r *resources) string {
	switch {
	case r == nil:
		return "–"
	case r.PeakSinceStart:
		return fmt.Sprintf("%.0f*", r.PeakRSSMiB)
	}
	return fmt.Sprintf("%.0f", r.PeakRSSMiB)
}

// verifiedCell renders a verification, or n/a for a target that writes no topic.
func verifiedCell(v string) string {
	if v == "" {
		return "n/a (no Kafka)"
	}
	return "yes: " + v
}

// cell makes text safe for one Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
