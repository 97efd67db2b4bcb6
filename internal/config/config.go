// Package config loads krest's settings from flags, the environment and
// defaults, in that order of precedence, and validates them.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config holds every krest setting. Each field's comment gives its default,
// its flag and its environment variable.
type Config struct {
	// HTTPAddr is where the HTTP API listens. Default ":8080";
	// --http-addr, KREST_HTTP_ADDR.
	HTTPAddr string
	// Brokers are the seed brokers of the Kafka cluster. Empty (the default)
	// starts the embedded broker; --brokers, KREST_BROKERS (comma-separated).
	Brokers []string
	// EmbeddedAddr is where the embedded broker listens. Default
	// "127.0.0.1:9092"; --embedded-addr, KREST_EMBEDDED_ADDR.
	EmbeddedAddr string
	// DataDir is the embedded broker's storage. Default "./krest-data";
	// --data-dir, KREST_DATA_DIR.
	DataDir string
	// InMemory runs the embedded broker without disk. Default false;
	// --in-memory, KREST_IN_MEMORY.
	InMemory bool
	// Topic is the topic POST /api/messages produces to and the consumer
	// reads. Default "messages"; --topic, KREST_TOPIC.
	Topic string
	// Group is the consumer group. Default "message-consumer-group";
	// --group, KREST_GROUP.
	Group string
	// DLQTopic receives records the consumer cannot process. Default
	// "<topic>.dlq"; --dlq-topic, KREST_DLQ_TOPIC.
	DLQTopic string
	// Partitions is the partition count of topics krest creates. Default 3;
	// --partitions, KREST_PARTITIONS.
	Partitions int
	// ReplicationFactor of topics krest creates; -1 takes the broker's
	// default. Default -1; --replication-factor, KREST_REPLICATION_FACTOR.
	ReplicationFactor int
	// CreateTopics makes krest create Topic and DLQTopic when they are
	// missing. Default true; --create-topics, KREST_CREATE_TOPICS.
	CreateTopics bool
	// AutoCreateTopics lets a produce request create the topic it names when
	// that topic is missing, as brokers with auto.create.topics.enable do
	// for clients that ask (the embedded broker then allows it too).
	// Default false; --auto-create-topics, KREST_AUTO_CREATE_TOPICS.
	AutoCreateTopics bool
	// ClientID is the Kafka client id. Default "krest"; --client-id,
	// KREST_CLIENT_ID.
	ClientID string
	// ProduceTimeout bounds a produce request from receipt to the broker's
	// acknowledgement. Default 10s; --produce-timeout, KREST_PRODUCE_TIMEOUT.
	ProduceTimeout time.Duration
	// MaxBodyBytes limits a request body. Default 1048576; --max-body-bytes,
	// KREST_MAX_BODY_BYTES.
	MaxBodyBytes int64
	// BatchMaxEntries bounds the entries of one records:batch request.
	// Default 1000; --batch-max-entries, KREST_BATCH_MAX_ENTRIES.
	BatchMaxEntries int
	// MaxBufferedRecords bounds the records waiting in the producer; past it,
	// produce answers 503. Default 100000; --max-buffered-records,
	// KREST_MAX_BUFFERED_RECORDS.
	MaxBufferedRecords int
	// Linger is how long the producer waits for more records before sending
	// a partition's batch: fewer, larger batches cost the gateway and the
	// brokers less CPU per record, for that much more latency. Default
	// 500µs; --linger, KREST_LINGER.
	Linger time.Duration
	// MaxBufferedBytes bounds the bytes of records waiting in the producer;
	// past it, produce answers 503. Default 268435456 (256 MiB);
	// --max-buffered-bytes, KREST_MAX_BUFFERED_BYTES.
	MaxBufferedBytes int
	// MaxInFlight bounds the API requests served at once; past it, requests
	// get 429 with Retry-After. Default 1024; --max-in-flight,
	// KREST_MAX_IN_FLIGHT.
	MaxInFlight int
	// Consumer runs the background consumer group. Default true; --consumer,
	// KREST_CONSUMER.
	Consumer bool
	// SessionTimeout is how long the group waits for a silent member (a
	// crashed krest) before giving its partitions to others. Default 45s;
	// --session-timeout, KREST_SESSION_TIMEOUT.
	SessionTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown. Default 30s;
	// --shutdown-timeout, KREST_SHUTDOWN_TIMEOUT.
	ShutdownTimeout time.Duration
	// PprofAddr, when set, serves Go's profiler (net/http/pprof) on its own
	// listener, apart from the API. Default "" (off); --pprof-addr,
	// KREST_PPROF_ADDR.
	PprofAddr string
	// LogFormat is "text" or "json". Default "text"; --log-format,
	// KREST_LOG_FORMAT.
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error". Default "info";
	// --log-level, KREST_LOG_LEVEL.
	LogLevel string
	// APIV2 serves Confluent REST Proxy API v2 at the root, as upstream's
	// api.v2.enable does. Default true; --api-v2, KREST_API_V2.
	APIV2 bool
	// APIV3 serves Confluent REST Proxy API v3 under /v3, as upstream's
	// api.v3.enable does. Default true; --api-v3, KREST_API_V3.
	APIV3 bool
	// AdvertisedURL is the public base URL links in answers start with
	// (e.g. https://kafka-rest.example.com). Default "" (the request's
	// Host header when well-formed); --advertised-url, KREST_ADVERTISED_URL.
	AdvertisedURL string
	// ShutdownDelay is how long readiness fails before the listener stops
	// accepting, so that load balancers see it first. Default 5s;
	// --shutdown-delay, KREST_SHUTDOWN_DELAY.
	ShutdownDelay time.Duration
	// MaxHeaderBytes limits a request's line and headers (431 past it).
	// Default 16384; --max-header-bytes, KREST_MAX_HEADER_BYTES.
	MaxHeaderBytes int
	// MaxStreams bounds the streamed records requests open at once.
	// Default 256; --max-streams, KREST_MAX_STREAMS.
	MaxStreams int
	// MaxConns bounds the open HTTP connections. Default 16384;
	// --max-conns, KREST_MAX_CONNS.
	MaxConns int
	// MaxConnsPerAddr bounds the open HTTP connections from one client
	// address; 0 is no bound (behind a load balancer, every connection
	// comes from its address). Default 0; --max-conns-per-addr,
	// KREST_MAX_CONNS_PER_ADDR.
	MaxConnsPerAddr int
	// ReadTimeout bounds reading a request, headers and body, from its
	// first byte (a stream's body excepted). Default 30s; --read-timeout,
	// KREST_READ_TIMEOUT.
	ReadTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection. Default 2m; --idle-timeout, KREST_IDLE_TIMEOUT.
	IdleTimeout time.Duration
	// IOIdleTimeout bounds how long one read or write of a connection may
	// make no progress, streams included. Default 1m; --io-idle-timeout,
	// KREST_IO_IDLE_TIMEOUT.
	IOIdleTimeout time.Duration
}

// ErrHelp is returned by Load when the arguments ask for help; the usage has
// been written to the output.
var ErrHelp = flag.ErrHelp

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		HTTPAddr:           ":8080",
		EmbeddedAddr:       "127.0.0.1:9092",
		DataDir:            "./krest-data",
		Topic:              "messages",
		Group:              "message-consumer-group",
		Partitions:         3,
		ReplicationFactor:  -1,
		CreateTopics:       true,
		ClientID:           "krest",
		ProduceTimeout:     10 * time.Second,
		MaxBodyBytes:       1 << 20,
		BatchMaxEntries:    1000,
		MaxBufferedRecords: 100_000,
		Linger:             500 * time.Microsecond,
		MaxBufferedBytes:   256 << 20,
		MaxInFlight:        1024,
		Consumer:           true,
		SessionTimeout:     45 * time.Second,
		ShutdownTimeout:    30 * time.Second,
		LogFormat:          "text",
		LogLevel:           "info",
		APIV2:              true,
		APIV3:              true,
		ShutdownDelay:      5 * time.Second,
		MaxHeaderBytes:     16 << 10,
		MaxStreams:         256,
		MaxConns:           16384,
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		IOIdleTimeout:      time.Minute,
	}
}

// Load builds the configuration from defaults, then the environment read
// through getenv, then the flags in args, and validates it. For -h it writes
// the flags to output, under name, and returns ErrHelp.
func Load(name string, args []string, getenv func(string) string, output io.Writer) (Config, error) {
	c := Defaults()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// Errors come back as one line; only -h prints the flags.
	fs.SetOutput(io.Discard)
	brokers := ""
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address (KREST_HTTP_ADDR)")
	fs.StringVar(&brokers, "brokers", "", "comma-separated Kafka seed brokers; empty starts the embedded broker (KREST_BROKERS)")
	fs.StringVar(&c.EmbeddedAddr, "embedded-addr", c.EmbeddedAddr, "embedded broker listen address (KREST_EMBEDDED_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "embedded broker storage directory (KREST_DATA_DIR)")
	fs.BoolVar(&c.InMemory, "in-memory", c.InMemory, "run the embedded broker without disk (KREST_IN_MEMORY)")
	fs.StringVar(&c.Topic, "topic", c.Topic, "topic of POST /api/messages and the consumer (KREST_TOPIC)")
	fs.StringVar(&c.Group, "group", c.Group, "consumer group (KREST_GROUP)")
	fs.StringVar(&c.DLQTopic, "dlq-topic", "", "dead-letter topic; default <topic>.dlq (KREST_DLQ_TOPIC)")
	fs.IntVar(&c.Partitions, "partitions", c.Partitions, "partitions of topics krest creates (KREST_PARTITIONS)")
	fs.IntVar(&c.ReplicationFactor, "replication-factor", c.ReplicationFactor, "replication factor of topics krest creates, -1 for the broker default (KREST_REPLICATION_FACTOR)")
	fs.BoolVar(&c.CreateTopics, "create-topics", c.CreateTopics, "create the topic and dead-letter topic when missing (KREST_CREATE_TOPICS)")
	fs.BoolVar(&c.AutoCreateTopics, "auto-create-topics", c.AutoCreateTopics, "let produce requests create missing topics (KREST_AUTO_CREATE_TOPICS)")
	fs.StringVar(&c.ClientID, "client-id", c.ClientID, "Kafka client id (KREST_CLIENT_ID)")
	fs.DurationVar(&c.ProduceTimeout, "produce-timeout", c.ProduceTimeout, "bound on a produce request (KREST_PRODUCE_TIMEOUT)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "request body size limit (KREST_MAX_BODY_BYTES)")
	fs.IntVar(&c.BatchMaxEntries, "batch-max-entries", c.BatchMaxEntries, "entries allowed in one records:batch request (KREST_BATCH_MAX_ENTRIES)")
	fs.IntVar(&c.MaxBufferedRecords, "max-buffered-records", c.MaxBufferedRecords, "records waiting in the producer before produce answers 503 (KREST_MAX_BUFFERED_RECORDS)")
	fs.DurationVar(&c.Linger, "linger", c.Linger, "how long the producer waits to fill a batch (KREST_LINGER)")
	fs.IntVar(&c.MaxBufferedBytes, "max-buffered-bytes", c.MaxBufferedBytes, "bytes waiting in the producer before produce answers 503 (KREST_MAX_BUFFERED_BYTES)")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "API requests served at once before answering 429 (KREST_MAX_IN_FLIGHT)")
	fs.BoolVar(&c.Consumer, "consumer", c.Consumer, "run the background consumer group (KREST_CONSUMER)")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", c.SessionTimeout, "consumer group session timeout (KREST_SESSION_TIMEOUT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "bound on a graceful shutdown (KREST_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", c.PprofAddr, "serve the Go profiler on this address, e.g. 127.0.0.1:6060 (KREST_PPROF_ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json (KREST_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error (KREST_LOG_LEVEL)")
	fs.BoolVar(&c.APIV2, "api-v2", c.APIV2, "serve Confluent REST Proxy API v2 at the root (KREST_API_V2)")
	fs.BoolVar(&c.APIV3, "api-v3", c.APIV3, "serve Confluent REST Proxy API v3 under /v3 (KREST_API_V3)")
	fs.StringVar(&c.AdvertisedURL, "advertised-url", c.AdvertisedURL, "public base URL of links in answers, e.g. https://kafka-rest.example.com (KREST_ADVERTISED_URL)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", c.ShutdownDelay, "how long readiness fails before the listener closes at shutdown (KREST_SHUTDOWN_DELAY)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, "request line and headers size limit (KREST_MAX_HEADER_BYTES)")
	fs.IntVar(&c.MaxStreams, "max-streams", c.MaxStreams, "streamed records requests open at once (KREST_MAX_STREAMS)")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "open HTTP connections (KREST_MAX_CONNS)")
	fs.IntVar(&c.MaxConnsPerAddr, "max-conns-per-addr", c.MaxConnsPerAddr, "open HTTP connections from one client address, 0 for no bound (KREST_MAX_CONNS_PER_ADDR)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "bound on reading a request from its first byte (KREST_READ_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "bound on the wait for the next request of a keep-alive connection (KREST_IDLE_TIMEOUT)")
	fs.DurationVar(&c.IOIdleTimeout, "io-idle-timeout", c.IOIdleTimeout, "bound on a read or write of a connection that makes no progress (KREST_IO_IDLE_TIMEOUT)")

	// The environment goes in as the flags' values before parsing, so that
	// explicit flags win.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "KREST_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", env, v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(output)
			fmt.Fprintf(output, "usage of %s:\n", name)
			fs.PrintDefaults()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.Brokers = splitList(brokers)
	if c.DLQTopic == "" {
		c.DLQTopic = c.Topic + ".dlq"
	}
	return c, c.Validate()
}

// Validate reports the first setting that cannot work, as a sentence.
func (c Config) Validate() error {
	switch {
	case c.HTTPAddr == "":
		return errors.New("http address must not be empty")
	case c.Topic == "":
		return errors.New("topic must not be empty")
	case c.Group == "":
		return errors.New("consumer group must not be empty")
	case c.DLQTopic == c.Topic:
		return errors.New("dead-letter topic must differ from the topic")
	case c.Partitions < 1:
		return fmt.Errorf("partitions must be at least 1, not %d", c.Partitions)
	case c.ReplicationFactor == 0 || c.ReplicationFactor < -1:
		return fmt.Errorf("replication factor must be -1 or at least 1, not %d", c.ReplicationFactor)
	case c.ProduceTimeout <= 0:
		return fmt.Errorf("produce timeout must be positive, not %s", c.ProduceTimeout)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("max body bytes must be positive, not %d", c.MaxBodyBytes)
	case c.BatchMaxEntries < 1:
		return fmt.Errorf("batch max entries must be positive, not %d", c.BatchMaxEntries)
	case c.MaxBufferedRecords < 1:
		return fmt.Errorf("max buffered records must be positive, not %d", c.MaxBufferedRecords)
	case c.Linger < 0:
		return fmt.Errorf("linger must not be negative, not %s", c.Linger)
	case c.MaxBufferedBytes < 1:
		return fmt.Errorf("max buffered bytes must be positive, not %d", c.MaxBufferedBytes)
	case c.MaxInFlight < 1:
		return fmt.Errorf("max in flight must be positive, not %d", c.MaxInFlight)
	case c.SessionTimeout <= 0:
		return fmt.Errorf("session timeout must be positive, not %s", c.SessionTimeout)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown timeout must be positive, not %s", c.ShutdownTimeout)
	case c.ShutdownDelay < 0:
		return fmt.Errorf("shutdown delay must not be negative, not %s", c.ShutdownDelay)
	case c.MaxHeaderBytes < 1024:
		return fmt.Errorf("max header bytes must be at least 1024, not %d", c.MaxHeaderBytes)
	case c.MaxStreams < 1:
		return fmt.Errorf("max streams must be positive, not %d", c.MaxStreams)
	case c.MaxConns < 1:
		return fmt.Errorf("max conns must be positive, not %d", c.MaxConns)
	case c.MaxConnsPerAddr < 0:
		return fmt.Errorf("max conns per address must not be negative, not %d", c.MaxConnsPerAddr)
	case c.ReadTimeout <= 0 || c.IdleTimeout <= 0 || c.IOIdleTimeout <= 0:
		return errors.New("read, idle and I/O idle timeouts must be positive")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("log format must be text or json, not %q", c.LogFormat)
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.AdvertisedURL != "" {
		u, err := url.Parse(c.AdvertisedURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("advertised URL %q must be http:// or https:// and a host, with an optional port and path", c.AdvertisedURL)
		}
	}
	for _, b := range c.Brokers {
		if err := validateHostPort(b); err != nil {
			return fmt.Errorf("broker %q: %v", b, err)
		}
	}
	if len(c.Brokers) == 0 {
		if err := validateHostPort(c.EmbeddedAddr); err != nil {
			return fmt.Errorf("embedded address %q: %v", c.EmbeddedAddr, err)
		}
		if !c.InMemory && c.DataDir == "" {
			return errors.New("data directory must not be empty unless the broker runs in memory")
		}
	}
	return nil
}

// Embedded reports whether krest runs its own broker.
func (c Config) Embedded() bool { return len(c.Brokers) == 0 }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func validateHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// ParseLevel turns a level name (debug, info, warn, error) into a slog.Level.
func ParseLevel(name string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("log level must be debug, info, warn or error, not %q", name)
	}
	return l, nil
}
