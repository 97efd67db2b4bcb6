package kafkatest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed" // the broker's pom.xml is compiled in, so any package's tests can resolve it
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultKafkaVersion is the Apache Kafka version StartKafka runs when neither
// KafkaOptions.Version nor KREST_TEST_KAFKA_VERSION names one: the newest 4.x
// release known to resolve from Maven Central. 3.9.2 is verified as well.
const DefaultKafkaVersion = "4.4.0"

// Bounds on the waits of the real-Kafka backend. Every wait fails the test
// with a clear message once its bound runs out.
const (
	kafkaResolveTimeout = 10 * time.Minute // mvn, first run only: about 45 MB of jars
	kafkaFormatTimeout  = 60 * time.Second // kafka-storage format, all nodes
	kafkaStartTimeout   = 60 * time.Second // JVMs up until every node is registered
	kafkaStopTimeout    = 30 * time.Second // SIGTERM until the JVM exits
	kafkaLeaderTimeout  = 30 * time.Second // LeaderOf until a running node leads
	kafkaLogTailLines   = 60               // lines of each node's log printed when a test fails
)

// kafkaPOM is pom.xml: one artifact of org.apache.kafka, named by the
// property kafka.artifact, plus a logging binding. Its hash names the cached
// classpath, so editing it resolves afresh.
//
//go:embed pom.xml
var kafkaPOM []byte

// kafkaClasspath is an artifact of org.apache.kafka with its runtime
// dependencies, as kafkaResolve puts it in the cache.
type kafkaClasspath struct {
	artifact string // the artifactId; its jar marks a complete resolution
	dir      string // the cache directory's name, before the hash of pom.xml
}

// kafkaBroker is the broker's classpath.
var kafkaBroker = kafkaClasspath{artifact: "kafka_2.13", dir: "lib"}

// kafkaVersionRE keeps KafkaOptions.Version a plain version: it becomes part
// of a path and of a Maven property.
var kafkaVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.]+)?$`)

// KafkaOptions configures StartKafka. The zero value is one node of the
// version in KREST_TEST_KAFKA_VERSION, else DefaultKafkaVersion.
type KafkaOptions struct {
	// Nodes is how many combined broker+controller nodes to run: 1, or 3 for
	// a real quorum. Default 1.
	Nodes int

	// Version is the Apache Kafka release to run, such as "4.4.0" or
	// "3.9.2". Default: env KREST_TEST_KAFKA_VERSION, else
	// DefaultKafkaVersion.
	Version string

	// CacheDir is the root of the classpath cache; each version resolves
	// once into CacheDir/<version>/. Default: env KREST_KAFKA_CACHE, else
	// $XDG_CACHE_HOME/krest/kafka (on Linux usually ~/.cache/krest/kafka).
	CacheDir string

	// Config sets or overrides broker properties on every node, after the
	// defaults StartKafka writes. Default none.
	Config map[string]string

	// Security is what the clients' listener requires (see SecurityKind):
	// SecurityPlaintext (the default, also ""), SecuritySCRAM or
	// SecurityOAuth. Secured, the nodes talk to each other over SASL_SSL
	// with SCRAM-SHA-512 as user "admin", and to the controllers over
	// SASL_PLAINTEXT with PLAIN; SecurityOf(Brokers()) says how clients
	// log in.
	Security string
}

// Kafka is a real Apache Kafka cluster for tests, started by StartKafka: one
// node, or three, each a combined KRaft broker and controller on loopback
// ports chosen once and kept for the cluster's life (while a node is down
// its ports are free, and another process could take them). Node i has
// node.id i, so broker IDs and node indexes are the same numbers.
//
// Tests run it only when asked (SkipIfNoKafka):
//
//	KREST_TEST_KAFKA=kafka go test -p 1 ./internal/kafkatest -run Kafka
//	KREST_TEST_KAFKA=kafka KREST_TEST_KAFKA_VERSION=3.9.2 go test -p 1 ./internal/kafkatest -run Kafka
//
// It needs java (17 or newer; JAVA_HOME is honoured) and, the first time a
// version is used, mvn: Maven resolves org.apache.kafka:kafka_2.13 and its
// dependencies from Maven Central into <cache>/<version>/ (cache:
// KREST_KAFKA_CACHE, default ~/.cache/krest/kafka), which later runs reuse
// without Maven. Nothing else is downloaded. Without java, or without mvn and a cached
// classpath, the test is skipped.
//
// A node is ready when it is registered and unfenced, answers metadata that
// lists every running node, leads or follows every partition that has a
// running in-sync replica, and hands out producer IDs: a test can produce
// idempotently at once.
//
// Every node writes its log to <node dir>/kafka.log; LogTail reads it, and a
// failed test prints the tail of each. On the 3-node cluster
// default.replication.factor is 3 and min.insync.replicas is 2; internal
// topics follow the node count. Automatic topic creation is off, as in kfake.
// Each JVM gets at most 512 MiB of heap and the serial collector, so three fit
// a 2-core machine alongside the tests.
//
// The methods are safe for concurrent use. Those that take a testing.TB fail
// it on error, so call them from the test's own goroutine.
type Kafka struct {
	version string
	dir     string // the cluster's temporary directory
	java    string
	libDir  string // the cached classpath: every jar in it

	security string    // the clients' listener's (KafkaOptions.Security)
	sec      *Security // how clients log in; nil for plaintext
	adminPW  string    // the nodes' own SCRAM and PLAIN password
	issuer   *issuer   // signs OAUTHBEARER tokens; nil unless SecurityOAuth

	mu    sync.Mutex
	nodes []*kafkaNode
	cl    *kgo.Client // admin client seeded with every node, for LeaderOf
}

// kafkaNode is one JVM of the cluster and the files it keeps across restarts.
type kafkaNode struct {
	id             int
	dir            string
	port           int // the clients' listener: what clients dial
	controllerPort int
	internalPort   int // the nodes' own listener under SecurityOAuth

	cmd      *exec.Cmd // nil while stopped
	done     chan struct{}
	waitErr  error     // how the JVM exited; read after done is closed
	watchdog *exec.Cmd // kills the JVM if this test process dies first
	leash    *os.File  // write end of the watchdog's stdin
}

func (n *kafkaNode) addr() string    { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }
func (n *kafkaNode) logPath() string { return filepath.Join(n.dir, "kafka.log") }

// SkipIfNoKafka skips the test unless KREST_TEST_KAFKA=kafka asks for real
// Apache Kafka, and when java is missing, or mvn is missing and the default
// version is not cached yet.
func SkipIfNoKafka(t testing.TB) {
	t.Helper()
	if os.Getenv("KREST_TEST_KAFKA") != "kafka" {
		t.Skip("real Apache Kafka not requested: set KREST_TEST_KAFKA=kafka to run this test")
	}
	version, cacheRoot, err := kafkaDefaults("", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kafkaJava(); err != nil {
		t.Skipf("real Apache Kafka unavailable: %v", err)
	}
	if _, cached := kafkaCachedLib(kafkaBroker, cacheRoot, version); !cached {
		if _, err := exec.LookPath("mvn"); err != nil {
			t.Skipf("real Apache Kafka unavailable: Kafka %s is not cached under %s and mvn is not on PATH to resolve it", version, cacheRoot)
		}
	}
}

// StartKafka formats and starts a fresh cluster and returns once every node
// is ready (see Kafka). It resolves the version's classpath
// with Maven first if it is not cached. t.Cleanup kills the nodes and wipes
// their data; if the test failed, it first logs each node's log tail. It
// skips the test where java or mvn is missing (see SkipIfNoKafka) and fails
// it on any other error.
func StartKafka(t testing.TB, opts KafkaOptions) *Kafka {
	t.Helper()
	switch opts.Nodes {
	case 0:
		opts.Nodes = 1
	case 1, 3:
	default:
		t.Fatalf("kafkatest: KafkaOptions.Nodes is %d; it must be 1 or 3", opts.Nodes)
	}
	version, cacheRoot, err := kafkaDefaults(opts.Version, opts.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	java, err := kafkaJava()
	if err != nil {
		t.Skipf("real Apache Kafka unavailable: %v", err)
	}
	libDir := kafkaResolve(t, kafkaBroker, cacheRoot, version)

	k := &Kafka{version: version, dir: t.TempDir(), java: java, libDir: libDir}
	if err := k.secure(t, opts.Security); err != nil {
		t.Fatal(err)
	}
	ports := kafkaFreePorts(t, 3*opts.Nodes)
	for i := range opts.Nodes {
		n := &kafkaNode{
			id:             i,
			dir:            filepath.Join(k.dir, "node-"+strconv.Itoa(i)),
			port:           ports[3*i],
			controllerPort: ports[3*i+1],
			internalPort:   ports[3*i+2],
		}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		k.nodes = append(k.nodes, n)
	}
	// Registered before anything starts, so a failure below still cleans
	// up. It runs before t.TempDir's own cleanup removes the directory.
	t.Cleanup(func() { k.cleanup(t) })

	for _, n := range k.nodes {
		if err := os.WriteFile(filepath.Join(n.dir, "server.properties"), k.properties(n, opts.Config), 0o644); err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
	}
	k.format(t)

	// kadm answers Metadata from the client's cache while it is younger
	// than MetadataMinAge (default 5 s): LeaderOf needs it fresh.
	if k.sec != nil {
		register(t, k.Brokers(), k.sec)
	}
	cl, err := kgo.NewClient(append(k.clientOpts(t), kgo.SeedBrokers(k.Brokers()...), kgo.DialTimeout(time.Second),
		kgo.MetadataMinAge(100*time.Millisecond))...)
	if err != nil {
		t.Fatalf("kafkatest: admin client: %v", err)
	}
	k.cl = cl

	k.Start(t)
	return k
}

// Brokers returns every node's client address, "127.0.0.1:port", in node
// order, whether or not the node is running.
func (k *Kafka) Brokers() []string {
	addrs := make([]string, len(k.nodes))
	for i, n := range k.nodes {
		addrs[i] = n.addr()
	}
	return addrs
}

// Version returns the Apache Kafka version the cluster runs.
func (k *Kafka) Version() string { return k.version }

// Nodes returns how many nodes the cluster has, running or not.
func (k *Kafka) Nodes() int { return len(k.nodes) }

// Stop takes every running node down with SIGTERM, in parallel, and waits
// for each JVM to exit, up to 30 s; in a cluster of several nodes, one that
// outlives that is killed and logged, not failed (see below). The data and
// the addresses are kept for Start.
func (k *Kafka) Stop(t testing.TB) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(k.nodes))
	for i, n := range k.nodes {
		if n.cmd == nil {
			continue
		}
		wg.Go(func() { errs[i] = k.stop(n, syscall.SIGTERM) })
	}
	wg.Wait()
	for _, err := range errs {
		switch {
		case err == nil:
		case len(k.nodes) > 1 && errors.Is(err, errKilled):
			// A node whose peers exited first waits, in its controlled
			// shutdown, for a controller that went with them (Kafka
			// waits up to 5 minutes): killed, its log is recovered at
			// the next start, which is what Start and the tests check.
			first, _, _ := strings.Cut(err.Error(), "\n")
			t.Logf("%s (stopped with the whole cluster)", first)
		default:
			t.Fatal(err)
		}
	}
}

// errKilled marks a node that did not obey SIGTERM in time and was killed.
var errKilled = errors.New("killed")

// Start brings every stopped node back on its addresses with its data, and
// waits up to 60 s until every node is ready (see Kafka).
// Nodes already running are left alone; one whose JVM exited on its own is
// started again.
func (k *Kafka) Start(t testing.TB) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range k.nodes {
		k.reap(n)
		if n.cmd != nil {
			continue
		}
		if err := k.launch(n); err != nil {
			t.Fatal(err)
		}
	}
	k.waitReady(t)
}

// Kill sends SIGKILL to the node's JVM and waits for it to exit: a crash,
// with no controlled shutdown. StartNode brings it back.
func (k *Kafka) Kill(t testing.TB, node int) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.running(t, node)
	if err := k.stop(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// StopNode sends SIGTERM to the node's JVM and waits up to 30 s for its
// controlled shutdown to finish.
func (k *Kafka) StopNode(t testing.TB, node int) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.running(t, node)
	if err := k.stop(n, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// StartNode starts a stopped, killed or crashed node again with its data. If a
// majority of the nodes is then running, it waits up to 60 s until every
// running node is ready (see Kafka); otherwise the quorum
// cannot form yet and it returns once the JVM is launched.
func (k *Kafka) StartNode(t testing.TB, node int) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.node(t, node)
	k.reap(n)
	if n.cmd != nil {
		t.Fatalf("kafkatest: StartNode(%d): node %d is already running", node, node)
	}
	if err := k.launch(n); err != nil {
		t.Fatal(err)
	}
	if 2*len(k.runningNodes()) <= len(k.nodes) {
		return
	}
	k.waitReady(t)
}

// LeaderOf returns the node that leads the partition, as metadata reports
// it. It waits up to 30 s until the leader is a running node, so right
// after a Kill it returns the new leader once the controller has moved
// leadership.
func (k *Kafka) LeaderOf(t testing.TB, topic string, partition int32) int {
	t.Helper()
	adm := kadm.NewClient(k.cl)
	leader := -1
	WaitFor(t, kafkaLeaderTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		m, err := adm.Metadata(ctx, topic)
		if err != nil {
			return fmt.Errorf("kafkatest: leader of %s/%d: %w", topic, partition, err)
		}
		td, ok := m.Topics[topic]
		if !ok || td.Err != nil {
			return fmt.Errorf("kafkatest: leader of %s/%d: topic not in metadata: %v", topic, partition, td.Err)
		}
		pd, ok := td.Partitions[partition]
		switch {
		case !ok || pd.Err != nil:
			return fmt.Errorf("kafkatest: leader of %s/%d: partition not in metadata: %v", topic, partition, pd.Err)
		case pd.Leader < 0 || int(pd.Leader) >= len(k.nodes):
			return fmt.Errorf("kafkatest: leader of %s/%d is %d", topic, partition, pd.Leader)
		}
		k.mu.Lock()
		up := k.nodes[pd.Leader].cmd != nil
		k.mu.Unlock()
		if !up {
			return fmt.Errorf("kafkatest: leader of %s/%d is node %d, which is down", topic, partition, pd.Leader)
		}
		leader = int(pd.Leader)
		return nil
	})
	return leader
}

// LogTail returns the last n lines of the node's log, which spans every run
// of that node. It returns "" for a node that does not exist or has not
// logged yet.
func (k *Kafka) LogTail(node, n int) string {
	if node < 0 || node >= len(k.nodes) {
		return ""
	}
	b, err := os.ReadFile(k.nodes[node].logPath())
	if err != nil {
		return ""
	}
	lines := strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// node returns node i or fails t.
func (k *Kafka) node(t testing.TB, i int) *kafkaNode {
	t.Helper()
	if i < 0 || i >= len(k.nodes) {
		t.Fatalf("kafkatest: no node %d in a %d-node cluster", i, len(k.nodes))
	}
	return k.nodes[i]
}

// running returns node i if its JVM is running, or fails t.
func (k *Kafka) running(t testing.TB, i int) *kafkaNode {
	t.Helper()
	n := k.node(t, i)
	if n.cmd == nil {
		t.Fatalf("kafkatest: node %d is not running", i)
	}
	return n
}

// reap marks node n stopped if its JVM has exited on its own. k.mu is held.
func (k *Kafka) reap(n *kafkaNode) {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.done:
		_ = k.stop(n, syscall.SIGKILL) // only retires the watchdog
	default:
	}
}

func (k *Kafka) runningNodes() []*kafkaNode {
	var up []*kafkaNode
	for _, n := range k.nodes {
		if n.cmd != nil {
			up = append(up, n)
		}
	}
	return up
}

// properties is node n's server.properties: KRaft combined mode on loopback,
// sized for tests, then the caller's overrides.
func (k *Kafka) properties(n *kafkaNode, extra map[string]string) []byte {
	nodes := len(k.nodes)
	minISR := min(nodes, 2)
	voters := make([]string, nodes)
	for i, v := range k.nodes {
		voters[i] = fmt.Sprintf("%d@127.0.0.1:%d", v.id, v.controllerPort)
	}
	props := map[string]string{
		"process.roles":                                    "broker,controller",
		"node.id":                                          strconv.Itoa(n.id),
		"controller.quorum.voters":                         strings.Join(voters, ","),
		"listeners":                                        fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", n.port, n.controllerPort),
		"advertised.listeners":                             "PLAINTEXT://" + n.addr(),
		"listener.security.protocol.map":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"log.dirs":                                         filepath.Join(n.dir, "data"),
		"auto.create.topics.enable":                        "false",
		"num.partitions":                                   "3", // as the kfake backend
		"default.replication.factor":                       strconv.Itoa(nodes),
		"min.insync.replicas":                              strconv.Itoa(minISR),
		"offsets.topic.replication.factor":                 strconv.Itoa(nodes),
		"offsets.topic.num.partitions":                     "5",
		"transaction.state.log.replication.factor":         strconv.Itoa(nodes),
		"transaction.state.log.min.isr":                    strconv.Itoa(minISR),
		"transaction.state.log.num.partitions":             "5",
		"share.coordinator.state.topic.replication.factor": strconv.Itoa(nodes),
		"share.coordinator.state.topic.min.isr":            strconv.Itoa(minISR),
		"group.initial.rebalance.delay.ms":                 "0",
		// Share groups (KIP-932) are on by default from Kafka 4.2
		// (share.version 1; 4.4 formats share.version 2, which adds the
		// brokers' dead-letter queue). A group may lower
		// share.record.lock.duration.ms to 1 s (the floor is 15 s by
		// default), so tests of a lock's expiry wait a second, not
		// fifteen.
		"group.share.min.record.lock.duration.ms": "1000",
		// A killed broker is fenced, and so leaves every ISR, after the
		// session timeout: short, so fault tests fail over in seconds.
		"broker.heartbeat.interval.ms": "500",
		"broker.session.timeout.ms":    "4000",
		"replica.lag.time.max.ms":      "10000",
		// Few threads and small buffers: three JVMs share two cores.
		"num.network.threads":               "2",
		"num.io.threads":                    "2",
		"background.threads":                "2",
		"num.replica.fetchers":              "1",
		"num.recovery.threads.per.data.dir": "1",
		"log.cleaner.threads":               "1",
		"log.cleaner.dedupe.buffer.size":    "16777216",
	}
	for key, v := range k.securityProperties(n) {
		props[key] = v
	}
	for key, v := range extra {
		props[key] = v
	}
	keys := make([]string, 0, len(props))
	for key := range props {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, key := range keys {
		fmt.Fprintf(&b, "%s=%s\n", key, props[key])
	}
	return []byte(b.String())
}

// jvmArgs are the JVM options of every Kafka process, on the classpath of
// the jars in libDir: a small heap, the serial collector and the C1 compiler
// only, which start fastest and leave CPU to the tests; logging through
// slf4j-simple to stdout without the configuration dumps.
func jvmArgs(libDir, heap string) []string {
	return []string{
		"-Xms64m", "-Xmx" + heap,
		"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true",
		"-Dorg.slf4j.simpleLogger.logFile=System.out",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		"-Dorg.slf4j.simpleLogger.showShortLogName=true",
		"-Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config.AbstractConfig=warn",
		"-cp", filepath.Join(libDir, "*"),
	}
}

// format runs kafka-storage format on every node, in parallel, with one new
// cluster ID.
func (k *Kafka) format(t testing.TB) {
	t.Helper()
	id := kafkaClusterID(t)
	ctx, cancel := context.WithTimeout(context.Background(), kafkaFormatTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(k.nodes))
	for i, n := range k.nodes {
		wg.Go(func() {
			args := append(jvmArgs(k.libDir, "256m"), "kafka.tools.StorageTool", "format",
				"--cluster-id", id, "--config", filepath.Join(n.dir, "server.properties"))
			args = append(args, k.scramUsers()...)
			cmd := exec.CommandContext(ctx, k.java, args...)
			cmd.Dir = n.dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("kafkatest: formatting node %d for Kafka %s: %v\n%s", n.id, k.version, err, kafkaTail(out, 40))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// launch starts node n's JVM, its log appended to kafka.log, and a watchdog
// that kills it if this process dies without stopping it (a panic, a -timeout,
// SIGKILL): the watchdog reads a pipe whose write end only this process holds,
// so the read returns when this process is gone. A goroutine waits for the JVM
// and closes n.done when it exits. k.mu is held.
func (k *Kafka) launch(n *kafkaNode) error {
	logf, err := os.OpenFile(n.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("kafkatest: %w", err)
	}
	defer logf.Close() // the JVM has its own descriptor once started
	fmt.Fprintf(logf, "==== kafkatest: starting node %d (Kafka %s) at %s\n", n.id, k.version, time.Now().Format(time.RFC3339Nano))

	cmd := exec.Command(k.java, append(append(jvmArgs(k.libDir, "512m"), k.securityJVMArgs()...), "kafka.Kafka", filepath.Join(n.dir, "server.properties"))...)
	cmd.Dir = n.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kafkatest: starting node %d: %w", n.id, err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("kafkatest: %w", err)
	}
	wd := exec.Command("/bin/sh", "-c", `read x; kill -9 "$1"`, "kafkatest-watchdog", strconv.Itoa(cmd.Process.Pid))
	wd.Stdin = r
	err = wd.Start()
	r.Close()
	if err != nil {
		w.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("kafkatest: starting the watchdog of node %d: %w", n.id, err)
	}

	n.cmd, n.watchdog, n.leash = cmd, wd, w
	n.done, n.waitErr = make(chan struct{}), nil
	go func(done chan struct{}) {
		n.waitErr = cmd.Wait()
		close(done)
	}(n.done)
	return nil
}

// stop signals node n's JVM and waits for it to exit. A SIGTERM that is not
// obeyed within kafkaStopTimeout becomes a SIGKILL and an error. k.mu is held.
func (k *Kafka) stop(n *kafkaNode, sig syscall.Signal) error {
	// The watchdog goes first: once the JVM is reaped its PID may be reused.
	_ = n.watchdog.Process.Kill()
	_ = n.watchdog.Wait()
	n.leash.Close()

	_ = n.cmd.Process.Signal(sig)
	var err error
	select {
	case <-n.done:
	case <-time.After(kafkaStopTimeout):
		_ = n.cmd.Process.Kill()
		<-n.done
		err = fmt.Errorf("kafkatest: node %d did not stop within %v of %v; %w it. Log tail:\n%s",
			n.id, kafkaStopTimeout, sig, errKilled, k.LogTail(n.id, kafkaLogTailLines))
	}
	n.cmd, n.watchdog, n.leash = nil, nil, nil
	return err
}

// waitReady polls until every running node is ready (see ready), for up to
// kafkaStartTimeout.
// It fails t at once if a JVM exits. k.mu is held.
func (k *Kafka) waitReady(t testing.TB) {
	t.Helper()
	up := k.runningNodes()
	want := make([]int32, len(up))
	addrs := make([]string, len(up))
	for i, n := range up {
		want[i] = int32(n.id)
		addrs[i] = n.addr()
	}
	// Seeds are dialled by address, so each request below goes to the
	// node it is meant for.
	cl, err := kgo.NewClient(append(k.clientOpts(t), kgo.SeedBrokers(addrs...), kgo.DialTimeout(time.Second))...)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	defer cl.Close()
	seeds := cl.SeedBrokers()

	deadline := time.Now().Add(kafkaStartTimeout)
	WaitFor(t, kafkaStartTimeout+time.Second, func() error {
		for _, n := range up {
			select {
			case <-n.done:
				t.Fatalf("kafkatest: node %d (Kafka %s) exited while starting: %v. Log tail:\n%s",
					n.id, k.version, n.waitErr, k.LogTail(n.id, kafkaLogTailLines))
			default:
			}
		}
		err := k.ready(seeds, up, want)
		if err != nil && time.Now().After(deadline) {
			var tails strings.Builder
			for _, n := range up {
				fmt.Fprintf(&tails, "---- node %d (%s):\n%s\n", n.id, n.logPath(), k.LogTail(n.id, 20))
			}
			t.Fatalf("kafkatest: Kafka %s nodes %v not ready after %v: %v\n%s", k.version, want, kafkaStartTimeout, err, tails.String())
		}
		return err
	})
}

// ready asks each running node, through its seed broker, whether it is
// ready for a test: its metadata lists every running node, every partition
// with a running in-sync replica has a leader, and it hands out producer IDs
// (which it cannot for a moment after starting, so an idempotent producer's
// first request would fail).
func (k *Kafka) ready(seeds []*kgo.Broker, up []*kafkaNode, want []int32) error {
	for i, n := range up {
		if err := k.nodeReady(seeds[i], n, want); err != nil {
			return err
		}
	}
	return nil
}

// nodeReady is ready for one node, asked through seed.
func (k *Kafka) nodeReady(seed *kgo.Broker, n *kafkaNode, want []int32) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := seed.Request(ctx, kmsg.NewPtrMetadataRequest()) // every topic
	if err != nil {
		return fmt.Errorf("node %d: metadata: %w", n.id, err)
	}
	meta := resp.(*kmsg.MetadataResponse)
	var got []int32
	for _, b := range meta.Brokers {
		got = append(got, b.NodeID)
	}
	for _, id := range want {
		if !slices.Contains(got, id) {
			slices.Sort(got)
			return fmt.Errorf("node %d lists brokers %v, want %v", n.id, got, want)
		}
	}
	for _, tp := range meta.Topics {
		topic := ""
		if tp.Topic != nil {
			topic = *tp.Topic
		}
		for _, p := range tp.Partitions {
			if slices.Contains(want, p.Leader) {
				continue
			}
			for _, r := range p.ISR {
				if slices.Contains(want, r) {
					return fmt.Errorf("node %d: partition %s/%d has no running leader yet", n.id, topic, p.Partition)
				}
			}
		}
	}

	resp, err = seed.Request(ctx, kmsg.NewPtrInitProducerIDRequest())
	if err != nil {
		return fmt.Errorf("node %d: init producer ID: %w", n.id, err)
	}
	if err := kerr.ErrorForCode(resp.(*kmsg.InitProducerIDResponse).ErrorCode); err != nil {
		return fmt.Errorf("node %d: init producer ID: %w", n.id, err)
	}
	return nil
}

// cleanup kills every node and logs their log tails if t failed. The
// directory itself is t.TempDir's, removed after this.
func (k *Kafka) cleanup(t testing.TB) {
	if k.cl != nil {
		k.cl.Close()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.Failed() {
		for _, n := range k.nodes {
			t.Logf("kafkatest: last %d lines of node %d's log (%s):\n%s", kafkaLogTailLines, n.id, n.logPath(), k.LogTail(n.id, kafkaLogTailLines))
		}
	}
	for _, n := range k.runningNodes() {
		if err := k.stop(n, syscall.SIGKILL); err != nil {
			t.Error(err)
		}
	}
}

// kafkaDefaults applies the environment and the defaults to a version and a
// cache root.
func kafkaDefaults(version, cacheRoot string) (string, string, error) {
	if version == "" {
		version = os.Getenv("KREST_TEST_KAFKA_VERSION")
	}
	if version == "" {
		version = DefaultKafkaVersion
	}
	if !kafkaVersionRE.MatchString(version) {
		return "", "", fmt.Errorf("kafkatest: Kafka version %q is not a release version such as %s", version, DefaultKafkaVersion)
	}
	if cacheRoot == "" {
		cacheRoot = os.Getenv("KREST_KAFKA_CACHE")
	}
	if cacheRoot == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", "", fmt.Errorf("kafkatest: no cache directory for Kafka: set KREST_KAFKA_CACHE: %w", err)
		}
		cacheRoot = filepath.Join(dir, "krest", "kafka")
	}
	return version, cacheRoot, nil
}

// kafkaJava finds the java launcher: $JAVA_HOME/bin/java, else java on PATH.
func kafkaJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(java); err == nil {
			return java, nil
		}
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("java is not on PATH (Kafka needs Java 17 or newer)")
	}
	return java, nil
}

// kafkaCachedLib returns the directory of the version's cached classpath cp
// and whether it is there. The directory's name carries a hash of pom.xml.
func kafkaCachedLib(cp kafkaClasspath, cacheRoot, version string) (string, bool) {
	sum := sha256.Sum256(kafkaPOM)
	dir := filepath.Join(cacheRoot, version, cp.dir+"-"+hex.EncodeToString(sum[:6]))
	_, err := os.Stat(filepath.Join(dir, cp.artifact+"-"+version+".jar"))
	return dir, err == nil
}

// kafkaResolve returns the directory of the version's classpath cp,
// resolving it with Maven first if it is not cached. Test binaries resolving
// at once take turns through a lock file, and each resolves into a directory
// of its own that is renamed into place only when complete.
func kafkaResolve(t testing.TB, cp kafkaClasspath, cacheRoot, version string) string {
	t.Helper()
	lib, ok := kafkaCachedLib(cp, cacheRoot, version)
	if ok {
		return lib
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		t.Skipf("kafkatest: org.apache.kafka:%s:%s is not cached under %s and mvn is not on PATH to resolve it", cp.artifact, version, cacheRoot)
	}
	vdir := filepath.Dir(lib)
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	unlock := kafkaLock(t, filepath.Join(vdir, ".lock"))
	defer unlock()
	if _, ok := kafkaCachedLib(cp, cacheRoot, version); ok {
		return lib
	}

	tmp, err := os.MkdirTemp(vdir, "resolve-")
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "pom.xml"), kafkaPOM, 0o644); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkaResolveTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-Dstyle.color=never",
		"-f", filepath.Join(tmp, "pom.xml"), "-Dkafka.version="+version, "-Dkafka.artifact="+cp.artifact,
		"dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+filepath.Join(tmp, "lib"))
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kafkatest: resolving org.apache.kafka:%s:%s with Maven: %v\n%s", cp.artifact, version, err, kafkaTail(out, 40))
	}
	if err := os.Rename(filepath.Join(tmp, "lib"), lib); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	if _, ok := kafkaCachedLib(cp, cacheRoot, version); !ok {
		t.Fatalf("kafkatest: Maven resolved org.apache.kafka:%s:%s without %s-%s.jar into %s", cp.artifact, version, cp.artifact, version, lib)
	}
	t.Logf("kafkatest: resolved org.apache.kafka:%s:%s into %s in %v", cp.artifact, version, lib, time.Since(start).Round(time.Millisecond))
	return lib
}

// kafkaLock takes the lock file at path, polling while another process holds
// it. A lock older than a whole resolution is left from a dead process and is
// broken.
func kafkaLock(t testing.TB, path string) (unlock func()) {
	t.Helper()
	WaitFor(t, kafkaResolveTimeout+time.Minute, func() error {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			return f.Close()
		}
		if !errors.Is(err, os.ErrExist) {
			t.Fatalf("kafkatest: %v", err)
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > kafkaResolveTimeout {
			_ = os.Remove(path)
		}
		return fmt.Errorf("kafkatest: waiting for %s, held by another resolution: %w", path, err)
	})
	return func() { _ = os.Remove(path) }
}

// kafkaFreePorts returns n distinct free loopback TCP ports. They are
// released before Kafka binds them; another process grabbing one in between
// shows as a node failing to start.
func kafkaFreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("kafkatest: reserving a port: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// kafkaClusterID returns a random cluster ID as Kafka writes one: 16 bytes,
// URL-safe base64 without padding, never starting with '-' (which
// command-line parsing would take for a flag).
func kafkaClusterID(t testing.TB) string {
	t.Helper()
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id
		}
	}
}

// kafkaTail returns the last n lines of out.
func kafkaTail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
