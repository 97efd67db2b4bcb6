package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"krest/internal/kafkatest"
)

// interopRecords is how many records each client reads and writes.
const interopRecords = 5

// interopTimeout bounds one run of a client: a JVM starting on a loaded
// machine, a consumer group forming.
const interopTimeout = 2 * time.Minute

// interopDir holds the clients' scripts, and kafkajs in node_modules.
const interopDir = "testdata/interop"

// interopRecord is a record as a client read it: its key, value and
// headers, all UTF-8 text. Headers is flat, name then value, as kcat -J
// prints it.
type interopRecord struct {
	Key     string   `json:"key"`
	Value   string   `json:"payload"`
	Headers []string `json:"headers"`
}

// interopClient is how the matrix runs one installed client.
type interopClient struct {
	version string
	// consume returns a command printing the first n records of topic,
	// each on a line; parse (parseJSONLines if nil) reads what it printed.
	consume func(ctx context.Context, brokers, topic string, n int) *exec.Cmd
	parse   func(out []byte) ([]interopRecord, error)
	// produce returns a command producing a record to topic for each line
	// of its standard input, KEY<TAB>VALUE, exiting once they are acknowledged.
	produce func(ctx context.Context, brokers, topic string) *exec.Cmd
}

// TestInterop is the client interop matrix: for each Kafka client installed,
// records krest produces are read back by the client with their keys,
// values and headers, and records the client produces are consumed and
// logged by krest's consumer group. It runs against the cluster
// kafkatest.NewCluster picks, so once per broker:
//
//	go test ./cmd/krest -run TestInterop                        # kfake
//	KREST_TEST_KAFKA=kafka go test ./cmd/krest -run TestInterop # Apache Kafka 4.4.0
//	KREST_TEST_KAFKA=kafka KREST_TEST_KAFKA_VERSION=3.9.2 go test ./cmd/krest -run TestInterop
//
// With KREST_COMPAT_REPORT set to an absolute path, each result that ran
// is appended to that file as a JSON line, from which
// `go run ./scripts/compat` writes the README's compatibility table.
//
// The clients, and how .ci/run installs them:
//   - kcat (librdkafka): apt-get install kcat
//   - confluent-kafka for Python (librdkafka, bundled in its wheel): python3 -m pip install confluent-kafka;
//     the interpreter is $KREST_PYTHON, else python3
//   - kafkajs: npm install in testdata/interop
//   - the Java client, through Kafka's own console consumer and producer:
//     java and mvn, which resolve org.apache.kafka:kafka-tools of
//     kafkatest.DefaultKafkaVersion whatever the broker (kafkatest.NewTools)
//
// A client that is missing is skipped, saying how to install it.
func TestInterop(t *testing.T) {
	if kafkatest.SecurityKind(t) == kafkatest.SecurityOAuth {
		t.Skip("the interop clients log in with a password; the cluster takes OAUTHBEARER only")
	}
	c := kafkatest.NewCluster(t)
	k := startKrest(t, "--brokers", strings.Join(c.Brokers(), ","))
	k.waitReady(t)
	broker, brokerVersion := brokerOf(c)
	var sec *interopSecurity
	if s := kafkatest.SecurityOf(c.Brokers()); s != nil {
		sec = &interopSecurity{Mechanism: s.Mechanism, User: s.User, Password: s.Password, CAFile: s.Certs.CAFile}
		broker += " SASL_SSL " + s.Mechanism
	}
	runInterop(t, k, c.Brokers(), sec, broker, brokerVersion)
}

// TestInteropSecureEmbedded runs the client matrix against krest's
// embedded broker secured with SCRAM-SHA-512 over TLS: every client logs in
// with librdkafka's, kafkajs's and the Java client's own SASL_SSL.
func TestInteropSecureEmbedded(t *testing.T) {
	args, addr, certs := embeddedSecurity(t, "127.0.0.1", "SCRAM-SHA-512", true)
	k := startKrest(t, args...)
	k.waitReady(t)
	_, version := brokerOf(nil)
	runInterop(t, k, []string{addr}, &interopSecurity{Mechanism: "SCRAM-SHA-512", User: "admin", Password: "adm1n-pw",
		CAFile: certs.CAFile}, "krest embedded SASL_SSL SCRAM-SHA-512, kfake", version)
}

// interopSecurity is how the clients log in: SASL_SSL with a PLAIN or
// SCRAM password, trusting CAFile.
type interopSecurity struct {
	Mechanism, User, Password, CAFile string
}

// kgoOpts are the franz-go options of the test's own clients.
func (s *interopSecurity) kgoOpts() []kgo.Opt {
	if s == nil {
		return nil
	}
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(s.CAFile); err == nil {
		pool.AppendCertsFromPEM(ca)
	}
	m := plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	switch s.Mechanism {
	case "SCRAM-SHA-256":
		m = scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		m = scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	}
	return []kgo.Opt{kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), kgo.SASL(m)}
}

// librdkafka is the security as librdkafka's settings (kcat -X, and
// confluent-kafka's configuration).
func (s *interopSecurity) librdkafka() map[string]string {
	if s == nil {
		return nil
	}
	return map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanisms": s.Mechanism,
		"sasl.username": s.User, "sasl.password": s.Password, "ssl.ca.location": s.CAFile}
}

// java is the security as the Java client's settings.
func (s *interopSecurity) java() map[string]string {
	if s == nil {
		return nil
	}
	module := "org.apache.kafka.common.security.plain.PlainLoginModule"
	if strings.HasPrefix(s.Mechanism, "SCRAM-") {
		module = "org.apache.kafka.common.security.scram.ScramLoginModule"
	}
	return map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": s.Mechanism,
		"sasl.jaas.config":    fmt.Sprintf(`%s required username="%s" password="%s";`, module, s.User, s.Password),
		"ssl.truststore.type": "PEM", "ssl.truststore.location": s.CAFile}
}

// env is the security as the scripts in interopDir read it.
func (s *interopSecurity) env() []string {
	if s == nil {
		return nil
	}
	return []string{"INTEROP_SASL_MECHANISM=" + s.Mechanism, "INTEROP_SASL_USER=" + s.User,
		"INTEROP_SASL_PASSWORD=" + s.Password, "INTEROP_TLS_CA=" + s.CAFile}
}

// flags turns settings into repetitions of flag key=value, in key order.
func flags(flag string, settings map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		out = append(out, flag, k+"="+settings[k])
	}
	return out
}

// runInterop is the matrix against krest k on brokers, which the clients
// reach with sec (nil: plaintext); broker and brokerVersion name the
// broker in the compatibility report.
func runInterop(t *testing.T, k *krest, brokerList []string, sec *interopSecurity, broker, brokerVersion string) {
	t.Helper()
	brokers := strings.Join(brokerList, ",")
	adm := kadm.NewClient(kafkatest.NewClient(t, brokerList, sec.kgoOpts()...))
	md, err := adm.BrokerMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name   string
		client string                                                 // as the compatibility table names it
		setup  func(t *testing.T, sec *interopSecurity) interopClient // skips the test when the client is missing
	}{
		{"kcat", "kcat", kcatClient},
		{"confluent-kafka-python", "Python confluent-kafka", pythonClient},
		{"kafkajs", "Node.js kafkajs", kafkajsClient},
		{"java-console", "Java kafka-clients", javaConsoleClient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := tt.setup(t, sec)
			row := compatRow{Broker: broker, BrokerVersion: brokerVersion, Client: tt.client, ClientVersion: cl.version}

			t.Run("read", func(t *testing.T) {
				row.reportOnCleanup(t, "read")
				topic := "interop-" + tt.name
				if _, err := adm.CreateTopic(context.Background(), 3, -1, nil, topic); err != nil {
					t.Fatal(err)
				}
				want := make([]interopRecord, interopRecords)
				for i := range want {
					want[i] = interopRecord{
						Key:   fmt.Sprintf("kéy-%d", i),
						Value: fmt.Sprintf(`{"id":"%s-%d","content":"héllo ✓ %d"}`, tt.name, i, i),
						// A repeated name, adjacent: kafkajs groups a name's values.
						Headers: []string{"trace", fmt.Sprintf("t-%d-ü", i), "via", "krest", "via", "v3"},
					}
					k.produceV3(t, md.Cluster, topic, want[i])
				}
				got := cl.read(t, brokers, topic, len(want))
				byKey := func(a, b interopRecord) int { return strings.Compare(a.Key, b.Key) }
				slices.SortFunc(got, byKey)
				if !slices.EqualFunc(got, want, func(a, b interopRecord) bool {
					return a.Key == b.Key && a.Value == b.Value && slices.Equal(a.Headers, b.Headers)
				}) {
					t.Errorf("%s read\n%s\nwant\n%s", tt.name, jsonLines(got), jsonLines(want))
				}
			})

			t.Run("write", func(t *testing.T) {
				row.reportOnCleanup(t, "write")
				var in strings.Builder
				lines := map[string]string{} // id: the consumer's log line for it
				for i := range interopRecords {
					id := fmt.Sprintf("%s-w%d", tt.name, i)
					content := fmt.Sprintf("from %s ✓ %d", tt.name, i)
					value, _ := json.Marshal(map[string]string{"id": id, "content": content})
					fmt.Fprintf(&in, "%s\t%s\n", id, value)
					lines[id] = fmt.Sprintf(`msg="consumed message" id=%s content=%s topic=messages `, id, strconv.Quote(content))
				}
				cl.write(t, brokers, "messages", in.String())
				kafkatest.WaitFor(t, 30*time.Second, func() error {
					logs := k.logs.String()
					for id, line := range lines {
						if !strings.Contains(logs, line) {
							return fmt.Errorf("krest has not logged %s (%s) yet", id, line)
						}
					}
					return nil
				})
			})
		})
	}
}

// produceV3 produces r to topic through krest's REST Proxy v3 records
// route: the key as a STRING, the value as BINARY and every header.
func (k *krest) produceV3(t *testing.T, cluster, topic string, r interopRecord) {
	t.Helper()
	type header struct {
		Name  string `json:"name"`
		Value []byte `json:"value"` // base64
	}
	type data struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}
	req := struct {
		Key     data     `json:"key"`
		Value   data     `json:"value"`
		Headers []header `json:"headers"`
	}{Key: data{"STRING", r.Key}, Value: data{"BINARY", base64.StdEncoding.EncodeToString([]byte(r.Value))}}
	for i := 0; i < len(r.Headers); i += 2 {
		req.Headers = append(req.Headers, header{r.Headers[i], []byte(r.Headers[i+1])})
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	path := "/v3/clusters/" + cluster + "/topics/" + topic + "/records"
	resp, text := k.post(t, path, "application/json", string(body))
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, `"error_code":200`) {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, text)
	}
}

// read runs the client's consumer for n records of topic and returns them.
func (cl interopClient) read(t *testing.T, brokers, topic string, n int) []interopRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	out := runClient(t, cl.consume(ctx, brokers, topic, n), "")
	parse := cl.parse
	if parse == nil {
		parse = parseJSONLines
	}
	recs, err := parse(out)
	if err != nil {
		t.Fatalf("reading the consumer's output: %v\n%s", err, out)
	}
	return recs
}

// write runs the client's producer on input.
func (cl interopClient) write(t *testing.T, brokers, topic, input string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	runClient(t, cl.produce(ctx, brokers, topic), input)
}

// runClient runs cmd with stdin and returns its standard output, failing
// the test with its standard error if it fails.
func runClient(t *testing.T, cmd *exec.Cmd, stdin string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd.Args, " "), err,
			time.Since(start).Round(time.Millisecond), stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// parseJSONLines reads records printed as kcat -J prints them, one JSON
// object a line.
func parseJSONLines(out []byte) ([]interopRecord, error) {
	var recs []interopRecord
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r interopRecord
		if err := dec.Decode(&r); err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// jsonLines formats records for a failure message.
func jsonLines(recs []interopRecord) string {
	var b strings.Builder
	for _, r := range recs {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

var kcatVersionRE = regexp.MustCompile(`Version (\S+) .*librdkafka (\S+)`)

// kcatClient is kcat: it reads with -J, in a simple consumer over every
// partition, and writes with -K.
func kcatClient(t *testing.T, sec *interopSecurity) interopClient {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed: apt-get install kcat")
	}
	out, _ := exec.Command(kcat, "-V").CombinedOutput()
	m := kcatVersionRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("kcat -V: no version in %s", out)
	}
	return interopClient{
		version: fmt.Sprintf("%s (librdkafka %s)", m[1], m[2]),
		consume: func(ctx context.Context, brokers, topic string, n int) *exec.Cmd {
			return exec.CommandContext(ctx, kcat, append(flags("-X", sec.librdkafka()), "-b", brokers, "-C", "-t", topic, "-o", "beginning",
				"-c", strconv.Itoa(n), "-J", "-q")...)
		},
		produce: func(ctx context.Context, brokers, topic string) *exec.Cmd {
			return exec.CommandContext(ctx, kcat, append(flags("-X", sec.librdkafka()), "-b", brokers, "-P", "-t", topic, "-K", "\t",
				"-X", "enable.idempotence=true")...)
		},
	}
}

// pythonClient is confluent-kafka for Python, through consume.py and
// produce.py.
func pythonClient(t *testing.T, sec *interopSecurity) interopClient {
	t.Helper()
	python := os.Getenv("KREST_PYTHON")
	if python == "" {
		python = "python3"
	}
	out, err := exec.Command(python, "-c",
		"import confluent_kafka as c; print(c.__version__, c.libversion()[0])").CombinedOutput()
	if err != nil {
		t.Skipf("confluent-kafka for Python not installed: %s -m pip install confluent-kafka (%v: %s)",
			python, err, bytes.TrimSpace(out))
	}
	v := strings.Fields(string(out))
	if len(v) != 2 {
		t.Fatalf("confluent-kafka version: %q", out)
	}
	return scriptClient(fmt.Sprintf("%s (librdkafka %s)", v[0], v[1]), python, ".py", sec.env()...)
}

// kafkajsClient is kafkajs on Node.js, through consume.mjs and produce.mjs.
func kafkajsClient(t *testing.T, sec *interopSecurity) interopClient {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("kafkajs: node not installed: apt-get install nodejs npm")
	}
	pkg, err := os.ReadFile(filepath.Join(interopDir, "node_modules", "kafkajs", "package.json"))
	if err != nil {
		t.Skipf("kafkajs not installed: run npm install in cmd/krest/%s (%v)", interopDir, err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(pkg, &meta); err != nil {
		t.Fatal(err)
	}
	return scriptClient(meta.Version, node, ".mjs", append(sec.env(), "KAFKAJS_NO_PARTITIONER_WARNING=1")...)
}

// scriptClient is a client run through its scripts in interopDir, consume
// and produce with the extension ext, by interpreter with env added to the
// environment.
func scriptClient(version, interpreter, ext string, env ...string) interopClient {
	script := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, interpreter, append([]string{filepath.Join(interopDir, name+ext)}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		return cmd
	}
	return interopClient{
		version: version,
		consume: func(ctx context.Context, brokers, topic string, n int) *exec.Cmd {
			return script(ctx, "consume", brokers, topic, strconv.Itoa(n))
		},
		produce: func(ctx context.Context, brokers, topic string) *exec.Cmd {
			return script(ctx, "produce", brokers, topic)
		},
	}
}

// javaConsoleClient is the Java client, kafka-clients, as Kafka's console
// consumer and producer run it.
func javaConsoleClient(t *testing.T, sec *interopSecurity) interopClient {
	t.Helper()
	tools := kafkatest.NewTools(t, "")
	return interopClient{
		version: tools.Version() + " (console consumer and producer)",
		consume: func(ctx context.Context, brokers, topic string, n int) *exec.Cmd {
			return tools.Command(ctx, kafkatest.ConsoleConsumer, append(flags("--command-property", sec.java()),
				"--bootstrap-server", brokers, "--topic", topic,
				"--from-beginning", "--max-messages", strconv.Itoa(n),
				"--formatter-property", "print.headers=true",
				"--formatter-property", "print.key=true",
				"--formatter-property", "key.separator=\t",
				"--formatter-property", "headers.separator=,")...)
		},
		parse: parseConsoleLines,
		produce: func(ctx context.Context, brokers, topic string) *exec.Cmd {
			return tools.Command(ctx, kafkatest.ConsoleProducer, append(flags("--command-property", sec.java()),
				"--bootstrap-server", brokers, "--topic", topic,
				"--reader-property", "parse.key=true", "--reader-property", "key.separator=\t")...)
		},
	}
}

// parseConsoleLines reads what the console consumer prints with
// print.headers and print.key, a tab after each: lines of
// NAME:VALUE,NAME:VALUE<TAB>KEY<TAB>VALUE, NO_HEADERS for none. Header
// names and values must hold no comma or colon, keys no tab.
func parseConsoleLines(out []byte) ([]interopRecord, error) {
	var recs []interopRecord
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %q is not HEADERS<TAB>KEY<TAB>VALUE", line)
		}
		r := interopRecord{Key: fields[1], Value: fields[2]}
		if fields[0] != "NO_HEADERS" {
			for _, h := range strings.Split(fields[0], ",") {
				name, value, ok := strings.Cut(h, ":")
				if !ok {
					return nil, fmt.Errorf("header %q is not NAME:VALUE", h)
				}
				r.Headers = append(r.Headers, name, value)
			}
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// brokerOf names the broker c runs and its version.
func brokerOf(c kafkatest.Cluster) (name, version string) { // c nil: kfake
	if k, ok := c.(*kafkatest.Kafka); ok {
		return "Apache Kafka", k.Version()
	}
	version = "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/twmb/franz-go/pkg/kfake" {
				version = m.Version
			}
		}
	}
	return "kfake", version
}

// compatRow is one line of the KREST_COMPAT_REPORT file: one client and
// direction against one broker. scripts/compat reads it.
type compatRow struct {
	Time          string `json:"time"`
	Broker        string `json:"broker"`
	BrokerVersion string `json:"broker_version"`
	Client        string `json:"client"`
	ClientVersion string `json:"client_version"`
	Direction     string `json:"direction"` // read: the client read what krest produced; write: krest consumed what it produced
	Passed        bool   `json:"passed"`
}

// reportOnCleanup appends row for direction to the KREST_COMPAT_REPORT file,
// if set, once t has passed or failed; a skipped test is not reported.
func (row compatRow) reportOnCleanup(t *testing.T, direction string) {
	path := os.Getenv("KREST_COMPAT_REPORT")
	if path == "" {
		return
	}
	t.Cleanup(func() {
		if t.Skipped() {
			return
		}
		row.Time = time.Now().UTC().Format(time.RFC3339)
		row.Direction = direction
		row.Passed = !t.Failed()
		line, err := json.Marshal(row)
		if err != nil {
			t.Error(err)
			return
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Errorf("KREST_COMPAT_REPORT: %v", err)
			return
		}
		_, err = f.Write(append(line, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Errorf("KREST_COMPAT_REPORT: %v", err)
		}
	})
}
