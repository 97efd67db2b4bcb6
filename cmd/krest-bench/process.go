package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux
// architecture Go runs on.
const clockTicks = 100

// usage is what /proc reports a process has consumed so far.
type usage struct {
	cpu  time.Duration // user plus system CPU time
	peak int64         // peak resident set size (VmHWM) in bytes
}

// readUsage reads the CPU time and peak RSS of pid from /proc; for the bench's own process, the CPU time
// comes from getrusage, which counts microseconds rather than clock ticks.
func readUsage(pid int) (usage, error) {
	var u usage
	if pid == os.Getpid() {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return usage{}, fmt.Errorf("getrusage: %w", err)
		}
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	} else {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return usage{}, err
		}
		// The command name in field 2 may hold spaces; the fields after its closing parenthesis start at 3.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 13 {
			return usage{}, fmt.Errorf("short /proc/%d/stat", pid)
		}
		utime, err1 := strconv.ParseInt(fields[11], 10, 64)
		stime, err2 := strconv.ParseInt(fields[12], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return usage{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		u.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	}

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return usage{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
			}
			u.peak = kib << 10
		}
	}
	return u, nil
}

// meter sums the CPU time and keeps the peak RSS of one process over the intervals between begin and
// end. A zero pid means the process is not on this machine, and nothing is measured.
type meter struct {
	pid       int
	ok        bool          // every reading succeeded
	peakReset bool          // every interval began with a reset VmHWM, so the peak belongs to the intervals
	start     usage         // the reading at the last begin
	began     time.Time     // when the last begin was
	cpu       time.Duration // summed over intervals
	wall      time.Duration // the intervals' length, summed
	peak      int64         // highest over intervals
}

// newMeter returns a meter of pid with no interval yet.
func newMeter(pid int) *meter { return &meter{pid: pid, ok: pid != 0, peakReset: true} }

// begin resets the peak RSS of the process (writing 5 to clear_refs) and takes the first reading.
func (m *meter) begin() {
	if !m.ok {
		return
	}
	reset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", m.pid), []byte("5"), 0) == nil
	m.peakReset = m.peakReset && reset
	var err error
	m.start, err = readUsage(m.pid)
	m.began = time.Now()
	m.ok = err == nil
}

// end takes the second reading and adds the interval.
func (m *meter) end() {
	if !m.ok {
		return
	}
	u, err := readUsage(m.pid)
	m.ok = err == nil
	m.cpu += u.cpu - m.start.cpu
	m.wall += time.Since(m.began)
	m.peak = max(m.peak, u.peak)
}

// newTally returns a meter of no process, which sums the intervals of others (add, absorb).
func newTally() *meter { return &meter{ok: true, peakReset: true} }

// absorb adds the intervals of o, a meter of another process, to m.
func (m *meter) absorb(o *meter) {
	m.ok = m.ok && o.ok
	m.peakReset = m.peakReset && o.peakReset
	m.cpu += o.cpu
	m.wall += o.wall
	m.peak = max(m.peak, o.peak)
}

// add counts an interval measured elsewhere, such as the CPU time of a process that has exited.
func (m *meter) add(cpu, wall time.Duration) {
	m.cpu += cpu
	m.wall += wall
}

// loadCPU returns the CPU time per request and the cores used over the intervals, for a meter of the load
// generator, or nil when they are unknown.
func (m *meter) loadCPU(requests int64) *loadCPU {
	if !m.ok || requests == 0 || m.wall <= 0 {
		return nil
	}
	return &loadCPU{MicrosPerRequest: float64(m.cpu.Microseconds()) / float64(requests), Cores: m.cpu.Seconds() / m.wall.Seconds()}
}

// resources returns CPU seconds per 100 k records and the peak RSS, or nil when they are unknown.
func (m *meter) resources(records int64) *resources {
	if !m.ok {
		return nil
	}
	r := &resources{PeakRSSMiB: float64(m.peak) / (1 << 20), PeakSinceStart: !m.peakReset}
	if records > 0 {
		r.CPUSecondsPer100k = m.cpu.Seconds() / float64(records) * 1e5
	}
	return r
}

// proc is a child process whose output goes to a log file.
type proc struct {
	name     string
	pprofURL string // the process's profiler, when it serves one
	// metricsBase is where it serves /metrics when that is not its API's
	// address (krest's management listener).
	metricsBase string
	cmd         *exec.Cmd
	logPath     string
	exited      chan struct{} // closed once the process has exited
	waitErr     error         // set before exited is closed
}

// startProc starts path with args and extra environment, its output in logPath. The child is killed if the
// bench dies first.
func startProc(name, logPath string, env []string, path string, args ...string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// setProfiler records the address of the process's profiler; "" means it serves none.
func (p *proc) setProfiler(addr string) {
	if addr != "" {
		p.pprofURL = "http://" + addr
	}
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, and SIGKILL if the process has not exited 15 seconds later.
func (p *proc) stop() {
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// exitError describes how the process ended, with the end of its log.
func (p *proc) exitError() error {
	return fmt.Errorf("%s exited (%v); log %s ends:\n%s", p.name, p.waitErr, p.logPath, p.logTail())
}

// logTail returns the last lines of the process log.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return string(b)
}

// waitReady polls url until check accepts the response, the process exits or timeout passes.
func (p *proc) waitReady(ctx context.Context, url string, check func(status int) bool, timeout time.Duration) error {
	cl := &http.Client{Timeout: time.Second}
	err := poll(ctx, timeout, 50*time.Millisecond, func() error {
		if !p.running() {
			return errGaveUp{p.exitError()}
		}
		resp, err := cl.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if !check(resp.StatusCode) {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
	if err != nil && p.running() {
		return fmt.Errorf("%s not ready after %v: %w; log %s ends:\n%s", p.name, timeout, err, p.logPath, p.logTail())
	}
	return err
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// goBuild runs `go build -o out pkg` in dir, which may be read-only and outside any repository.
func goBuild(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = dir
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %v\n%s", pkg, dir, err, output)
	}
	return nil
}

// buildRevision builds ./cmd/krest as it was at the git revision rev of the checkout at root into out:
// the revision's tree is exported with `git archive` into src, so the checkout itself is not touched. It
// returns where the binary came from, for the report.
func buildRevision(ctx context.Context, root, rev, src, out string) (string, error) {
	commit, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "--verify", rev+"^{commit}").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse %s: %w", rev, err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", strings.TrimSpace(string(commit)))
	extract := exec.CommandContext(ctx, "tar", "-x", "-C", src)
	if extract.Stdin, err = archive.StdoutPipe(); err != nil {
		return "", err
	}
	var archiveErr, extractErr bytes.Buffer // two processes: a buffer each
	archive.Stderr, extract.Stderr = &archiveErr, &extractErr
	if err := extract.Start(); err != nil {
		return "", err
	}
	err = archive.Run()
	if werr := extract.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return "", fmt.Errorf("git archive %s: %v %s%s", rev, err, firstLine(archiveErr.Bytes()), firstLine(extractErr.Bytes()))
	}
	from := fmt.Sprintf("built from commit %s (%s)", strings.TrimSpace(string(commit)), rev)
	return from, goBuild(ctx, src, out, "./cmd/krest")
}

// describeCheckout names the commit checked out at root, and says when krest's sources differ from it.
func describeCheckout(ctx context.Context, root string) string {
	head, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown commit"
	}
	desc := "commit " + strings.TrimSpace(string(head))
	changed, _ := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--",
		"cmd/krest", "internal", "go.mod", "go.sum").Output()
	if len(changed) > 0 {
		desc += " plus uncommitted changes"
	}
	return desc
}

// moduleRoot returns the directory of the krest module that contains the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	src, err := os.ReadFile(gomod)
	if err != nil || !bytes.HasPrefix(src, []byte("module krest\n")) {
		return "", fmt.Errorf("not inside the krest checkout (go.mod: %q)", gomod)
	}
	return strings.TrimSuffix(gomod, "/go.mod"), nil
}
