package kafkatest

import (
	"context"
	"os/exec"
	"testing"
)

// Main classes of Apache Kafka's console clients in kafka-tools 4.x, the
// programs behind kafka-console-consumer.sh and kafka-console-producer.sh.
const (
	ConsoleConsumer = "org.apache.kafka.tools.consumer.ConsoleConsumer"
	ConsoleProducer = "org.apache.kafka.tools.ConsoleProducer"
)

// Tools runs Apache Kafka's command-line tools, which are built on the Java
// client, kafka-clients: the classpath of org.apache.kafka:kafka-tools,
// resolved with Maven into the same cache as the broker's (see Kafka).
type Tools struct {
	version string
	java    string
	libDir  string
}

// NewTools returns the tools of the given Kafka release, DefaultKafkaVersion
// if version is "" (KREST_TEST_KAFKA_VERSION does not apply: it picks the
// broker). The first use of a version resolves it with Maven, which takes
// about a minute. It skips the test when java is missing, or when mvn is
// missing and the version is not cached.
func NewTools(t testing.TB, version string) *Tools {
	t.Helper()
	if version == "" {
		version = DefaultKafkaVersion
	}
	version, cacheRoot, err := kafkaDefaults(version, "")
	if err != nil {
		t.Fatal(err)
	}
	java, err := kafkaJava()
	if err != nil {
		t.Skipf("Kafka's command-line tools unavailable: %v", err)
	}
	lib := kafkaResolve(t, kafkaClasspath{artifact: "kafka-tools", dir: "tools"}, cacheRoot, version)
	return &Tools{version: version, java: java, libDir: lib}
}

// Version returns the Kafka release of the tools and of their kafka-clients.
func (tl *Tools) Version() string { return tl.version }

// Command returns a command that runs class's main with args, killed when
// ctx is done. The JVM is the brokers' (see jvmArgs) with a 256 MiB heap,
// except that it logs warnings and errors only, to stderr, so that stdout
// carries nothing but what the tool prints, and that its standard streams
// are UTF-8 whatever the locale.
func (tl *Tools) Command(ctx context.Context, class string, args ...string) *exec.Cmd {
	// Where a system property is given twice the later one wins.
	jvm := append(jvmArgs(tl.libDir, "256m"),
		"-Dorg.slf4j.simpleLogger.logFile=System.err",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-Dfile.encoding=UTF-8", "-Dstdout.encoding=UTF-8", "-Dstderr.encoding=UTF-8",
		class)
	return exec.CommandContext(ctx, tl.java, append(jvm, args...)...)
}
