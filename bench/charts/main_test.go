package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun draws the charts of a small results.json and checks that each is a PNG and is named on stdout.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "results.json")
	js := `{"settings":{"body_bytes":200,"concurrency":[1,64]},"points":[
		{"target":"krest","title":"krest","concurrency":1,"records_per_request":1,"chart":true,"records_per_sec":900,"latency_ms":{"p99":2.5}},
		{"target":"krest","title":"krest","concurrency":64,"records_per_request":1,"chart":true,"records_per_sec":20000,"latency_ms":{"p99":9}},
		{"target":"batch","title":"krest batch","concurrency":64,"records_per_request":100,"chart":true,"records_per_sec":300000,"latency_ms":{"p99":40}},
		{"target":"minimal","title":"minimal","concurrency":64,"records_per_request":1,"chart":true,"error":"verification failed"},
		{"target":"krest","title":"krest (wrk)","concurrency":64,"records_per_request":1,"chart":false,"records_per_sec":25000}
	]}`
	if err := os.WriteFile(in, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := run([]string{"-results", in, "-out", dir}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, title string }{
		{file: "throughput.png", title: "Throughput vs concurrency"},
		{file: "p99.png", title: "p99 latency vs concurrency"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := png.Decode(f); err != nil {
				t.Errorf("not a PNG: %v", err)
			}
			if !strings.Contains(stdout.String(), tt.file+"\t"+tt.title) {
				t.Errorf("stdout does not name %s:\n%s", tt.file, stdout.String())
			}
		})
	}
}

func TestSeries(t *testing.T) {
	r := results{Points: []point{
		{Target: "krest", Title: "krest", Concurrency: 1, Chart: true},
		{Target: "batch", Title: "b", Concurrency: 1, RecordsPerRequest: 10, Chart: true},
		{Target: "krest", Title: "krest", Concurrency: 64, Chart: true},
		{Target: "batch", Title: "b", Concurrency: 1, RecordsPerRequest: 100, Chart: true},
		{Target: "krest", Title: "krest", Concurrency: 256, Chart: true, Error: "failed"},
		{Target: "krest", Title: "krest (wrk)", Concurrency: 64},
	}}
	var got []string
	for _, s := range r.series() {
		got = append(got, s.name+":"+strings.Repeat("*", len(s.points)))
	}
	want := "krest:** krest batch produce, 10 records/request:* krest batch produce, 100 records/request:*"
	if strings.Join(got, " ") != want {
		t.Errorf("series = %q, want %q", strings.Join(got, " "), want)
	}
}
