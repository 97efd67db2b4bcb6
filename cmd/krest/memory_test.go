package main

import (
	"runtime/debug"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for _, tt := range []struct {
		name        string
		gomemlimit  string
		setting     int64
		maxBuffered int
		cgroup      int64
		want        int64
		ok          bool
	}{
		{name: "GOMEMLIMIT wins", gomemlimit: "2GiB", setting: 1 << 20, cgroup: 1 << 30},
		{name: "setting", setting: 768 << 20, cgroup: 4 << 30, want: 768 << 20, ok: true},
		{name: "container", cgroup: 1 << 30, want: 966367641, ok: true},
		{name: "default", maxBuffered: 256 << 20, want: 1 << 30, ok: true},
		{name: "default for a large buffer", maxBuffered: 1 << 30, want: 4 << 30, ok: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "GOMEMLIMIT" {
					return tt.gomemlimit
				}
				return ""
			}
			got, _, ok := memoryLimit(getenv, tt.setting, tt.maxBuffered, tt.cgroup)
			if got != tt.want || ok != tt.ok {
				t.Errorf("memoryLimit = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseCgroupLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"536870912\n", 536870912},
		{"max\n", 0},
		{"9223372036854771712\n", 0}, // cgroup v1's "unlimited"
		{"", 0},
		{"0", 0},
	} {
		if got := parseCgroupLimit(tt.in); got != tt.want {
			t.Errorf("parseCgroupLimit(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestRunSetsMemoryLimit runs krest in-process with --memory-limit and
// reads the runtime's limit back.
func TestRunSetsMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	k := startKrest(t, "--brokers", "127.0.0.1:1", "--consumer=false", "--memory-limit", "700MiB")
	_ = k
	if got := debug.SetMemoryLimit(-1); got != 700<<20 {
		t.Errorf("memory limit = %d, want %d", got, 700<<20)
	}
}
