package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// TestSmoke runs the whole bench with a few hundred records and checks that every row that ran verified:
// no figures are asserted. Rows whose binaries cannot be built here are skipped by the bench itself.
func TestSmoke(t *testing.T) {
	out := t.TempDir()
	args := []string{"krest-bench", "--smoke", "--out", out}
	if testing.Short() {
		args = append(args, "--targets", "http,client,minimal,krest,batch")
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
	for _, p := range rep.Points {
		if p.Error != "" {
			t.Errorf("%s c=%d %s x%d: %s", p.Target, p.Concurrency, sizeLabel(p.RecordBytes), p.RecordsPerRequest, p.Error)
		}
		if p.Target != "http" && p.Error == "" && p.Verification == "" {
			t.Errorf("%s c=%d: not verified", p.Target, p.Concurrency)
		}
	}
	for _, s := range rep.Skipped {
		if s.Error != "" {
			t.Errorf("%s failed to start: %s", s.Target, s.Error)
		} else {
			t.Logf("%s skipped: %s", s.Target, s.Reason)
		}
	}
	for _, c := range rep.Consume {
		if c.Error != "" && c.Skipped == "" {
			t.Errorf("consume %s: %s", c.Target, c.Error)
		}
	}
	if o := rep.Overload; o != nil && o.Error != "" && o.Skipped == "" {
		t.Errorf("overload: %s", o.Error)
	}
	for _, f := range []string{"RESULTS.md", "throughput.png", "p99.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stdout.String(), "## Target checks") {
		t.Errorf("stdout lacks the target checks:\n%s", stdout.String())
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
		{name: "unknown target", args: []string{"--targets", "nope"}, err: true},
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
