// Command charts draws the PNG charts of a krest-bench run from its results.json: records/s and p99
// latency against concurrency, one line per target. It is a module of its own so that the plotting
// libraries stay out of the gateway's go.mod; krest-bench runs it at the end of a full run, and
//
//	go -C bench/charts run .
//
// redraws bench/*.png from bench/results.json. It prints one line per chart written: the file name, a
// tab, and the chart's title.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "charts:", err)
		os.Exit(1)
	}
}

// run reads --results and writes the charts into --out.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("charts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("results", "../results.json", "results.json of a krest-bench run")
	out := fs.String("out", "..", "directory for the PNG files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	js, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(js, &r); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	written, err := r.draw(*out)
	for _, c := range written {
		fmt.Fprintf(stdout, "%s\t%s\n", c.file, c.title)
	}
	return err
}

// results is the part of krest-bench's results.json the charts read.
type results struct {
	Settings struct {
		BodyBytes   int   `json:"body_bytes"`
		Concurrency []int `json:"concurrency"`
	} `json:"settings"`
	Points []point `json:"points"`
}

// point is one measured load shape of one target.
type point struct {
	Target            string  `json:"target"`
	Title             string  `json:"title"`
	Concurrency       int     `json:"concurrency"`
	RecordsPerRequest int     `json:"records_per_request"`
	Chart             bool    `json:"chart"`
	RecordsPerSec     float64 `json:"records_per_sec"`
	Latency           struct {
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	Error string `json:"error"`
}

// chart is one PNG written into the output directory.
type chart struct {
	file  string // name inside the output directory
	title string
}

// series is one line of a chart: a target (and batch size) across the concurrency sweep.
type series struct {
	name   string
	points []point
}

// draw writes records/s and p99 latency against concurrency, one line per target, into dir.
func (r *results) draw(dir string) ([]chart, error) {
	lines := r.series()
	if len(lines) == 0 {
		return nil, nil
	}
	charts := []struct {
		chart
		yLabel string
		value  func(point) float64
	}{
		{chart{"throughput.png", "Throughput vs concurrency"}, "records/s, log scale (requests/s for the HTTP ceiling)",
			func(p point) float64 { return p.RecordsPerSec }},
		{chart{"p99.png", "p99 latency vs concurrency"}, "p99 latency, ms, log scale",
			func(p point) float64 { return p.Latency.P99 }},
	}
	var written []chart
	for _, c := range charts {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s (%s records)", c.title, sizeLabel(r.Settings.BodyBytes))
		p.X.Label.Text = "concurrent requests (log scale)"
		p.Y.Label.Text = c.yLabel
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = concurrencyTicks(r.Settings.Concurrency)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		var args []any
		for _, s := range lines {
			xys := make(plotter.XYs, len(s.points))
			for i, pt := range s.points {
				xys[i] = plotter.XY{X: float64(pt.Concurrency), Y: max(c.value(pt), 1e-3)}
			}
			args = append(args, s.name, xys)
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return written, err
		}
		// Headroom above the highest line keeps the legend clear of the data.
		p.Y.Max *= math.Pow(p.Y.Max/p.Y.Min, 0.045*float64(len(lines)))
		if err := p.Save(9*vg.Inch, 6*vg.Inch, filepath.Join(dir, c.file)); err != nil {
			return written, err
		}
		written = append(written, c.chart)
	}
	return written, nil
}

// series groups the successful charted points by target and batch size, in run order.
func (r *results) series() []series {
	var out []series
	index := map[string]int{}
	for _, p := range r.Points {
		if !p.Chart || p.Error != "" {
			continue
		}
		name := p.Title
		if p.Target == "batch" {
			name = fmt.Sprintf("krest batch produce, %d records/request", p.RecordsPerRequest)
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, series{name: name})
		}
		out[i].points = append(out[i].points, p)
	}
	return out
}

// concurrencyTicks marks each swept concurrency level on the x axis.
func concurrencyTicks(levels []int) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(levels))
	for i, c := range levels {
		ticks[i] = plot.Tick{Value: float64(c), Label: strconv.Itoa(c)}
	}
	return ticks
}

// logTicks marks 1, 2 and 5 times each power of ten on a log axis, with short labels (20k, 1M).
type logTicks struct{}

// Ticks returns the ticks between lo and hi.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for d := math.Floor(math.Log10(lo)); d <= math.Ceil(math.Log10(hi)); d++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, d); v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v, Label: shortNumber(v)})
			}
		}
	}
	return ticks
}

// shortNumber renders v with a k or M suffix.
func shortNumber(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// sizeLabel renders a record size.
func sizeLabel(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}
