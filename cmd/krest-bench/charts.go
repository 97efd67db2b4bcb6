package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// chart is one PNG written next to results.json.
type chart struct {
	file  string // name inside the output directory
	title string
}

// drawCharts runs the bench/charts module of the checkout on dir/results.json; it writes the PNGs into
// dir and names each on a line of its own, file and title apart by a tab. The plotting libraries live in
// that module, so krest's go.mod does not carry them.
func drawCharts(ctx context.Context, dir string) ([]chart, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "-C", filepath.Join(root, "bench", "charts"), "run", ".",
		"-results", filepath.Join(abs, "results.json"), "-out", abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go -C bench/charts run .: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var charts []chart
	for line := range strings.Lines(string(out)) {
		if file, title, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok {
			charts = append(charts, chart{file: file, title: title})
		}
	}
	return charts, nil
}
