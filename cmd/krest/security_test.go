package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"krest/internal/broker"
	"krest/internal/kafkatest"
)

// withSecurity adds to krest's args the flags that log in to the cluster
// "--brokers" names, when that is a secured test cluster (see
// kafkatest.SecurityOf) and args set no SASL of their own: so every test
// runs against a cluster KREST_TEST_KAFKA_SECURITY secures. The password
// goes in a file, not on the command line.
func withSecurity(t *testing.T, args []string) []string {
	t.Helper()
	i := slices.Index(args, "--brokers")
	if i < 0 || i+1 >= len(args) || slices.Contains(args, "--kafka-sasl-mechanism") {
		return args
	}
	s := kafkatest.SecurityOf(strings.Split(args[i+1], ","))
	if s == nil {
		return args
	}
	out := slices.Clone(args)
	if s.Certs != nil {
		out = append(out, "--kafka-tls", "--kafka-tls-ca-file", s.Certs.CAFile)
	}
	switch s.Mechanism {
	case "OAUTHBEARER":
		out = append(out, "--kafka-sasl-mechanism", s.Mechanism, "--kafka-oauth-token-file", s.TokenFile)
	case "":
	default:
		out = append(out, "--kafka-sasl-mechanism", s.Mechanism, "--kafka-sasl-user", s.User,
			"--kafka-sasl-password-file", writeSecret(t, s.Password))
	}
	return out
}

// kcatSecurity returns the kcat flags that log in to the test cluster of
// brokers with a password, none for a plaintext one.
func kcatSecurity(brokers []string) []string {
	s := kafkatest.SecurityOf(brokers)
	if s == nil || s.Mechanism == "OAUTHBEARER" {
		return nil
	}
	return flags("-X", (&interopSecurity{Mechanism: s.Mechanism, User: s.User, Password: s.Password, CAFile: s.Certs.CAFile}).librdkafka())
}

// writeSecret writes secret to a new file and returns its path.
func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(secret + "\n"); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// TestSecureCluster runs krest against a kfake that requires each
// mechanism, over TLS and without: it produces, and its consumer group
// reads, what it wrote.
func TestSecureCluster(t *testing.T) {
	for _, tt := range []struct {
		name, mechanism string
	}{
		{"SCRAM-SHA-512 over TLS", "SCRAM-SHA-512"},
		{"PLAIN over TLS", "PLAIN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := kafkatest.NewSecureFake(t, tt.mechanism)
			k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","))
			k.waitReady(t)
			k.produceMessage(t, "123", "Hello, Kafka!")
			recs := kafkatest.Collect(t, c.Brokers(), "messages", 1, 10*time.Second)
			if string(recs[0].Key) != "123" {
				t.Errorf("record key %q", recs[0].Key)
			}
			kafkatest.WaitFor(t, 10*time.Second, func() error {
				if consumedIDs(k.logs.String())["123"] == 0 {
					return errors.New("not consumed yet")
				}
				return nil
			})
		})
	}
}

// TestWrongPassword runs the krest binary with a wrong password in its
// password file, against a broker that answers a refused login as Kafka
// does (krest's embedded broker): /readyz says why, logged once, not at
// every attempt; produce answers 503 with Retry-After and krest keeps
// running; once the file is fixed, krest recovers by itself. The password
// is never in the logs nor in /metrics.
func TestWrongPassword(t *testing.T) {
	certs := kafkatest.NewCerts(t)
	const password = "s3cret-f4e1"
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:" + strconv.Itoa(kafkatest.FreePort(t)), InMemory: true,
		SASLMechanism: "SCRAM-SHA-512", SASLUser: "krest", SASLPassword: password,
		TLSCertFile: certs.ServerCertFile, TLSKeyFile: certs.ServerKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	passwordFile := writeSecret(t, "wrong-"+password)
	k := startProcess(t, "--brokers", b.Addrs()[0], "--produce-timeout", "30s",
		"--kafka-tls", "--kafka-tls-ca-file", certs.CAFile,
		"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-user", "krest", "--kafka-sasl-password-file", passwordFile)

	const reason = "SASL authentication failed"
	kafkatest.WaitFor(t, 20*time.Second, func() error {
		if code, body := k.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, reason) {
			return fmt.Errorf("readyz %d %s, want 503 saying %q", code, body, reason)
		}
		return nil
	})
	// Produce is refused at once, with readiness's reason; readiness stays
	// failed, the same, over several of its checks, which log it once.
	for checks := time.Now().Add(3 * healthInterval); time.Now().Before(checks); {
		start := time.Now()
		resp, body := k.post(t, "/api/messages", "application/json", `{"id":"wrong","content":"x"}`)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, reason) {
			t.Fatalf("produce with a wrong password: %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("produce with a wrong password answered after %s, not at once but near its 30s timeout", took)
		}
		if code, body := k.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, reason) {
			t.Fatalf("readyz %d %s", code, body)
		}
	}
	logs := k.logs.String()
	if n := strings.Count(logs, `msg="not ready" err="`+reason); n != 1 {
		t.Errorf("the refused login was logged %d times as not ready, want once", n)
	}
	if strings.Contains(logs, "unable to initialize sasl") {
		t.Error("the client logged every refused login")
	}

	if err := os.WriteFile(passwordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fixed := time.Now()
	k.waitReady(t)
	t.Logf("ready %s after the password file was fixed", time.Since(fixed).Round(time.Millisecond))
	k.produceMessage(t, "fixed", "x")
	kafkatest.WaitFor(t, 15*time.Second, func() error {
		if consumedIDs(k.logs.String())["fixed"] == 0 {
			return errors.New("not consumed yet")
		}
		return nil
	})
	_, metrics := k.get(t, "/metrics")
	for where, text := range map[string]string{"the logs": k.logs.String(), "/metrics": metrics} {
		if strings.Contains(text, password) {
			t.Errorf("%s hold the password", where)
		}
	}
	if err := k.stop(); err != nil {
		t.Errorf("krest exited with %v after the refused logins, want a clean stop", err)
	}
}

// embeddedSecurity returns the flags of a secured embedded broker on a free
// port of host, its address, and its certificates.
func embeddedSecurity(t *testing.T, host, mechanism string, tls bool) ([]string, string, *kafkatest.Certs) {
	t.Helper()
	port := strconv.Itoa(kafkatest.FreePort(t))
	certs := kafkatest.NewCerts(t)
	args := []string{"--embedded-addr", net.JoinHostPort(host, port), "--in-memory",
		"--embedded-sasl-mechanism", mechanism, "--embedded-sasl-user", "admin", "--embedded-sasl-password", "adm1n-pw"}
	if tls {
		args = append(args, "--embedded-tls-cert", certs.ServerCertFile, "--embedded-tls-key", certs.ServerKeyFile)
	}
	if ip := net.ParseIP(host); ip.IsUnspecified() {
		// As a remote deployment names its host.
		args = append(args, "--embedded-advertised-addr", "127.0.0.1:"+port)
	}
	return args, net.JoinHostPort("127.0.0.1", port), certs
}

// TestSecureEmbedded runs krest on its embedded broker secured by each
// mechanism: krest's own clients log in by themselves, a client with the
// password reads what it wrote, one without gets nothing. On every
// interface rather than loopback, a SASL-secured broker is allowed.
func TestSecureEmbedded(t *testing.T) {
	for _, tt := range []struct {
		name, host, mechanism string
		tls                   bool
	}{
		{"SCRAM-SHA-512 over TLS", "127.0.0.1", "SCRAM-SHA-512", true},
		{"PLAIN over TLS on every interface", "0.0.0.0", "PLAIN", true},
		{"SCRAM-SHA-256", "127.0.0.1", "SCRAM-SHA-256", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args, addr, certs := embeddedSecurity(t, tt.host, tt.mechanism, tt.tls)
			k := startKrest(t, args...)
			k.waitReady(t)
			k.produceMessage(t, "123", "Hello, Kafka!")
			kafkatest.WaitFor(t, 10*time.Second, func() error {
				if consumedIDs(k.logs.String())["123"] == 0 {
					return errors.New("not consumed yet")
				}
				return nil
			})

			var dial []kgo.Opt
			if tt.tls {
				dial = append(dial, kgo.DialTLSConfig(certs.ClientTLS()))
			}
			login := plain.Auth{User: "admin", Pass: "adm1n-pw"}.AsMechanism()
			switch tt.mechanism {
			case "SCRAM-SHA-512":
				login = scram.Auth{User: "admin", Pass: "adm1n-pw"}.AsSha512Mechanism()
			case "SCRAM-SHA-256":
				login = scram.Auth{User: "admin", Pass: "adm1n-pw"}.AsSha256Mechanism()
			}
			cl := kafkatest.NewClient(t, []string{addr}, append(dial, kgo.SASL(login),
				kgo.ConsumeTopics("messages"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if fs := cl.PollFetches(ctx); fs.NumRecords() != 1 || string(fs.Records()[0].Key) != "123" {
				t.Errorf("read %d records, %v", fs.NumRecords(), fs.Errors())
			}

			anon := kafkatest.NewClient(t, []string{addr}, append(dial, kgo.RequestRetries(0))...)
			ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := anon.Ping(ctx); err == nil {
				t.Error("a client without the password reached the broker")
			}
		})
	}
}

// TestKcatReadsSecureEmbedded reads with kcat over SASL_SSL, SCRAM-SHA-512,
// what krest wrote through its secured embedded broker.
func TestKcatReadsSecureEmbedded(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	args, addr, certs := embeddedSecurity(t, "127.0.0.1", "SCRAM-SHA-512", true)
	k := startKrest(t, append(args, "--consumer=false")...)
	k.waitReady(t)
	k.produceMessage(t, "123", "Hello, Kafka!")
	cmd := exec.Command(kcat, "-b", addr, "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-512",
		"-X", "sasl.username=admin", "-X", "sasl.password=adm1n-pw", "-X", "ssl.ca.location="+certs.CAFile,
		"-C", "-t", "messages", "-e", "-q", "-f", "%k %s\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	if got, want := strings.TrimSpace(string(out)), `123 {"id":"123","content":"Hello, Kafka!"}`; got != want {
		t.Errorf("kcat read %q, want %q", got, want)
	}
	t.Logf("%s\n%s", strings.Join(cmd.Args, " "), out)
}

// TestSecureEmbeddedRestart restarts krest on its persisted, SCRAM-secured
// embedded broker with a new password: the records are kept, and the new
// password is the one that works.
func TestSecureEmbeddedRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := "127.0.0.1:" + strconv.Itoa(kafkatest.FreePort(t))
	run := func(password string) *krest {
		t.Helper()
		k := startProcess(t, "--embedded-addr", addr, "--data-dir", dir, "--embedded-sasl-mechanism", "SCRAM-SHA-256",
			"--embedded-sasl-user", "admin", "--embedded-sasl-password", password)
		k.waitReady(t)
		return k
	}
	first := run("first-pw")
	first.produceMessage(t, "before", "x")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	second := run("second-pw")
	second.produceMessage(t, "after", "x")
	cl := kafkatest.NewClient(t, []string{addr}, kgo.SASL(scram.Auth{User: "admin", Pass: "second-pw"}.AsSha256Mechanism()),
		kgo.ConsumeTopics("messages"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var keys []string
	for len(keys) < 2 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { keys = append(keys, string(r.Key)) })
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"after", "before"}) {
		t.Errorf("read %v with the new password, want before and after", keys)
	}
}

// TestAWSMSKIAM runs the krest binary with SASL AWS_MSK_IAM and the AWS
// credentials in the standard environment variables, against a kfake whose
// control hooks play MSK's side, as no MSK can be reached from here: krest
// asks for AWS_MSK_IAM and sends a request signed for kafka-cluster:Connect
// with the access key and session token given (kafka's TestAWSMSKIAM
// checks the signature itself against the secret key), and is then ready.
func TestAWSMSKIAM(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "session-token")
	t.Setenv("AWS_REGION", "eu-west-1") // MSK's hosts name their region; 127.0.0.1 does not
	c := kafkatest.NewFake(t)
	var (
		mu         sync.Mutex
		mechanisms []string
		payloads   []map[string]string
	)
	c.ControlKey(kmsg.SASLHandshake.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		hs := req.(*kmsg.SASLHandshakeRequest)
		mu.Lock()
		mechanisms = append(mechanisms, hs.Mechanism)
		mu.Unlock()
		resp := hs.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{"AWS_MSK_IAM"}
		return resp, nil, true
	})
	c.ControlKey(kmsg.SASLAuthenticate.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		auth := req.(*kmsg.SASLAuthenticateRequest)
		var p map[string]string
		resp := auth.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		if err := json.Unmarshal(auth.SASLAuthBytes, &p); err != nil {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
			return resp, nil, true
		}
		mu.Lock()
		payloads = append(payloads, p)
		mu.Unlock()
		resp.SASLAuthBytes = []byte(`{"version":"2020_10_22","request-id":"krest-test"}`)
		return resp, nil, true
	})
	k := startProcess(t, "--brokers", c.Brokers()[0], "--consumer=false", "--kafka-sasl-mechanism", "AWS_MSK_IAM")
	k.waitReady(t)
	mu.Lock()
	defer mu.Unlock()
	if len(mechanisms) == 0 || len(payloads) == 0 {
		t.Fatalf("no SASL login seen: mechanisms %v", mechanisms)
	}
	p := payloads[0]
	if mechanisms[0] != "AWS_MSK_IAM" || p["action"] != "kafka-cluster:Connect" || p["x-amz-algorithm"] != "AWS4-HMAC-SHA256" ||
		!strings.HasPrefix(p["x-amz-credential"], "AKIDEXAMPLE/") || !strings.Contains(p["x-amz-credential"], "/eu-west-1/kafka-cluster/aws4_request") ||
		p["x-amz-security-token"] != "session-token" || len(p["x-amz-signature"]) != 64 {
		t.Errorf("mechanism %s, payload %v", mechanisms[0], p)
	}
	if strings.Contains(k.logs.String(), "wJalrXUtnFEMI") {
		t.Error("the logs hold the secret key")
	}
}
