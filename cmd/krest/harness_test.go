package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"krest/internal/kafkatest"
)

// logBuffer collects a krest's log output for tests to search while it runs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failureLogTail bounds the log a failed test prints.
const failureLogTail = 32 << 10

// logOnFailure has t print the end of k's log when it fails, for the
// cause: a failure's own message need not carry the log.
func logOnFailure(t *testing.T, k *krest) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		s := k.logs.String()
		if len(s) > failureLogTail {
			s = "..." + s[len(s)-failureLogTail:]
		}
		t.Logf("log of krest %s:\n%s", k.url, s)
	})
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+) tls=(\w+)`)

// krest is a gateway under test, in-process or as a child process.
type krest struct {
	url    string       // https:// when krest serves HTTPS
	client *http.Client // nil for http.DefaultClient; see trust
	logs   *logBuffer
	stop   func() error // graceful stop; returns run's error or the exit status
	kill   func()       // SIGKILL (processes only)
}

// trust makes k's requests trust the CAs of pool: for a krest serving
// HTTPS.
func (k *krest) trust(pool *x509.CertPool) {
	k.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// httpClient is the client of k's requests.
func (k *krest) httpClient() *http.Client {
	if k.client != nil {
		return k.client
	}
	return http.DefaultClient
}

// startKrest runs krest's run() in-process with args (flags) on a free HTTP
// port and waits until it listens; t.Cleanup stops it.
func startKrest(t *testing.T, args ...string) *krest {
	t.Helper()
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	argv := append([]string{"krest", "serve", "--http-addr", "127.0.0.1:0", "--log-level", "info", "--shutdown-delay", "0s"}, withSecurity(t, args)...)
	go func() { done <- run(ctx, argv, func(string) string { return "" }, io.Discard, logs) }()
	k := &krest{logs: logs}
	logOnFailure(t, k)
	var once sync.Once
	var runErr error
	k.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = k.stop() })
	k.url = waitListening(t, logs, done)
	return k
}

// krestBinary is built once per test run by TestMain.
var krestBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "krest-test")
	if err != nil {
		panic(err)
	}
	krestBinary = filepath.Join(dir, "krest")
	if out, err := exec.Command("go", "build", "-o", krestBinary, ".").CombinedOutput(); err != nil {
		// Some tests need a real process; they fail on an empty path.
		fmt.Fprintf(os.Stderr, "building krest: %v\n%s", err, out)
		krestBinary = ""
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startProcess runs the krest binary with args on a free HTTP port and
// waits until it listens; t.Cleanup kills it if still running.
func startProcess(t *testing.T, args ...string) *krest {
	t.Helper()
	if krestBinary == "" {
		t.Fatal("krest binary was not built")
	}
	logs := &logBuffer{}
	cmd := exec.Command(krestBinary, append([]string{"serve", "--http-addr", "127.0.0.1:0", "--shutdown-delay", "0s"}, withSecurity(t, args)...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "KREST_LOG_LEVEL=info")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	var waitErr error
	wait := func() error {
		once.Do(func() { waitErr = <-done })
		return waitErr
	}
	k := &krest{logs: logs}
	logOnFailure(t, k)
	k.stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		return wait()
	}
	k.kill = func() {
		_ = cmd.Process.Kill()
		_ = wait()
	}
	t.Cleanup(k.kill)
	k.url = waitListening(t, logs, done)
	return k
}

func waitListening(t *testing.T, logs *logBuffer, done <-chan error) string {
	t.Helper()
	var url string
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		if m := listeningRE.FindStringSubmatch(logs.String()); m != nil {
			url = "http://" + m[1]
			if m[2] == "true" {
				url = "https://" + m[1]
			}
			return nil
		}
		select {
		case err := <-done:
			t.Fatalf("krest exited before listening: %v", err)
		default:
		}
		return errors.New("krest not listening yet")
	})
	return url
}

// waitReady polls /readyz until it answers 200.
func (k *krest) waitReady(t *testing.T) {
	t.Helper()
	kafkatest.WaitFor(t, 30*time.Second, func() error {
		code, body := k.get(t, "/readyz")
		if code != http.StatusOK {
			return fmt.Errorf("readyz %d %s", code, body)
		}
		return nil
	})
}

func (k *krest) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := k.httpClient().Get(k.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// clusterID returns the cluster id GET /v3/clusters answers, asked with
// the Authorization header authz, if given.
func (k *krest) clusterID(t *testing.T, authz ...string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", k.url+"/v3/clusters", nil)
	for _, a := range authz {
		req.Header.Set("Authorization", a)
	}
	resp, err := k.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var clusters struct {
		Data []struct {
			ClusterID string `json:"cluster_id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&clusters); resp.StatusCode != http.StatusOK || err != nil || len(clusters.Data) != 1 {
		t.Fatalf("GET /v3/clusters: %d %v", resp.StatusCode, err)
	}
	return clusters.Data[0].ClusterID
}

// post sends body to path with a content type and returns the response with
// its body read.
func (k *krest) post(t *testing.T, path, contentType, body string) (*http.Response, string) {
	t.Helper()
	resp, err := k.httpClient().Post(k.url+path, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// produceMessage posts a message and requires a 201, returning the answer.
func (k *krest) produceMessage(t *testing.T, id, content string) produced {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"id": id, "content": content})
	resp, text := k.post(t, "/api/messages", "application/json", string(body))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/messages: %d %s", resp.StatusCode, text)
	}
	var p produced
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

type produced struct {
	Status    string `json:"status"`
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

var consumedRE = regexp.MustCompile(`msg="consumed message" id=(\S+) `)

// consumedIDs counts the ids the consumer logged.
func consumedIDs(logs string) map[string]int {
	ids := map[string]int{}
	for _, m := range consumedRE.FindAllStringSubmatch(logs, -1) {
		ids[m[1]]++
	}
	return ids
}
