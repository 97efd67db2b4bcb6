package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// wrkScript makes wrk POST one message of about size bytes per request, each with an id of its own (so
// that records spread over partitions as the Go generator's do), and print its figures as one JSON line
// after the marker: the latency at 1000 evenly spaced quantiles stands in for the histogram, so that the
// turns of a point can be merged.
const wrkScript = `-- krest-bench: wrk -s this.lua URL -- ID-PREFIX RECORD-BYTES
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = args[1] .. "-" .. tid .. "-"
  size = tonumber(args[2])
  filler = string.rep("x", size)
  headers = {["Content-Type"] = "application/json"}
  seq = 0
end

function request()
  seq = seq + 1
  local id = prefix .. seq
  local pad = math.max(0, size - 22 - #id)
  return wrk.format("POST", nil, headers, '{"id":"' .. id .. '","content":"' .. filler:sub(1, pad) .. '"}')
end

function done(summary, latency, requests)
  local q = {}
  for i = 1, 1000 do q[i] = latency:percentile((i - 0.5) / 10) end
  local e = summary.errors
  io.write(string.format('` + wrkMarker + `{"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"max":%d,"quantiles":[%s]}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout, latency.max, table.concat(q, ",")))
end
`

// wrkMarker starts the line of wrk's output that holds the figures.
const wrkMarker = "krest-bench wrk: "

// wrkSummary is what wrkScript's done() prints.
type wrkSummary struct {
	Requests   int64   `json:"requests"` // completed requests, whatever their status
	DurationUS int64   `json:"duration_us"`
	Status     int64   `json:"status"` // answers with a status above 399
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Timeout    int64   `json:"timeout"`
	Max        int64   `json:"max"`
	Quantiles  []int64 `json:"quantiles"` // latency in µs at the 0.05th, 0.15th, … 99.95th percentile
}

// findWrk looks for --wrk and writes the script beside the bench's temporary files. A missing wrk skips
// the wrk rows.
func (b *bench) findWrk() {
	if b.opt.wrk == "" {
		b.wrkErr = errSkip{"--wrk is empty"}
		return
	}
	path, err := exec.LookPath(b.opt.wrk)
	if err != nil {
		b.wrkErr = errSkip{b.opt.wrk + " is not installed (apt-get install -y wrk), so the HTTP targets are measured with the Go generator only"}
		return
	}
	b.wrkBin, b.wrkScript = path, filepath.Join(b.tmp, "post.lua")
	if err := os.WriteFile(b.wrkScript, []byte(wrkScript), 0o644); err != nil {
		b.wrkErr = err
	}
}

// runWrk runs wrk for d (rounded to whole seconds, at least one) with s.concurrency connections against
// url, and returns what it measured and the CPU time wrk used.
func (b *bench) runWrk(ctx context.Context, url string, s spec, d time.Duration) (loadResult, time.Duration, error) {
	threads := min(s.concurrency, runtime.NumCPU())
	secs := max(1, int(math.Round(d.Seconds())))
	prefix := "wrk" + strconv.FormatInt(seqs.Add(1), 10)
	cmd := exec.CommandContext(ctx, b.wrkBin, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(s.concurrency),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "30s", "-s", b.wrkScript, url, "--", prefix, strconv.Itoa(s.size))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return loadResult{}, cpu, fmt.Errorf("wrk: %v: %s", err, firstLine(out.Bytes()))
	}
	_, line, ok := bytes.Cut(out.Bytes(), []byte(wrkMarker))
	if !ok {
		return loadResult{}, cpu, errors.New("wrk printed no figures: " + firstLine(out.Bytes()))
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	var w wrkSummary
	if err := json.Unmarshal(line, &w); err != nil {
		return loadResult{}, cpu, fmt.Errorf("wrk figures: %w", err)
	}
	return w.result(s.concurrency), cpu, nil
}

// result converts wrk's figures into a load result. Requests still in flight when wrk stops, up to one
// per connection, and those lost to socket errors may or may not have been written: they count as sent
// without an answer.
func (w wrkSummary) result(conns int) loadResult {
	r := newLoadResult()
	r.elapsed = time.Duration(w.DurationUS) * time.Microsecond
	socket := w.Read + w.Write + w.Timeout
	r.requests = w.Requests + socket + w.Connect
	r.okRequests = w.Requests - w.Status
	r.acked = r.okRequests
	r.sent = w.Requests + socket + int64(conns)
	r.failed = socket + w.Connect
	switch {
	case w.Status > 0:
		r.firstErr = fmt.Sprintf("%d answers with a status above 399", w.Status)
	case r.failed > 0:
		r.firstErr = fmt.Sprintf("socket errors: connect %d, read %d, write %d, timeout %d", w.Connect, w.Read, w.Write, w.Timeout)
	}
	// Each quantile stands for an equal share of the requests.
	n := int64(len(w.Quantiles))
	for i, v := range w.Quantiles {
		if count := w.Requests*int64(i+1)/n - w.Requests*int64(i)/n; count > 0 {
			r.latency.RecordValues(max(1, v), count)
		}
	}
	if w.Max > 0 {
		r.latency.RecordValue(w.Max)
	}
	return r
}
