package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// chart is one PNG written next to results.json.
type chart struct {
	file  string // name inside the output directory
	title string
}

// series is one line of a chart: a target (and batch size) across the concurrency sweep.
type series struct {
	name   string
	points []point
}

// charts draws records/s and p99 latency against concurrency, one line per target, into dir.
func (r *report) charts(dir string) ([]chart, error) {
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
			return nil, err
		}
		// Headroom above the highest line keeps the legend clear of the data.
		p.Y.Max *= math.Pow(p.Y.Max/p.Y.Min, 0.045*float64(len(lines)))
		if err := p.Save(9*vg.Inch, 6*vg.Inch, filepath.Join(dir, c.file)); err != nil {
			return nil, err
		}
		written = append(written, c.chart)
	}
	return written, nil
}

// series groups the successful charted points by target and batch size, in run order.
func (r *report) series() []series {
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
