package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"krest/internal/admin"
	"krest/internal/api"
	"krest/internal/broker"
	"krest/internal/certs"
	"krest/internal/config"
	"krest/internal/consume"
	"krest/internal/consumers"
	"krest/internal/health"
	"krest/internal/kafka"
	"krest/internal/logline"
	"krest/internal/metrics"
	"krest/internal/produce"
	"krest/internal/queue"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// gcPercent is the GC target krest runs with unless GOGC is set.
const gcPercent = 400

// usageError is a bad command line or setting: krest exits 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

const usage = `usage: krest [serve] [flags]   run the gateway (the default)
       krest broker [flags]    run only the embedded broker
       krest version           print the version
Run "krest serve -h" for the flags; each has a KREST_* environment variable.`

// run is krest's whole program: it parses args, wires every part together
// and runs until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && (rest[0] == "" || rest[0][0] != '-') {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintf(stdout, "krest %s (%s)\n", version, runtime.Version())
		return nil
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "serve", "broker":
	default:
		return usageError{fmt.Errorf("unknown command %q\n%s", cmd, usage)}
	}
	cfg, err := config.Load("krest "+cmd, rest, getenv, stderr)
	if errors.Is(err, config.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError{err}
	}
	if getenv("GOGC") == "" {
		// A gateway's live heap is small and its garbage is per request:
		// collecting at 5× the live heap instead of 2× cuts GC work by
		// more than half for a few tens of MiB.
		debug.SetGCPercent(gcPercent)
	}
	level, _ := config.ParseLevel(cfg.LogLevel) // validated by Load
	// Log lines go through a buffer: flushed every LogFlushInterval, after
	// every warning or error, by the consumer before it commits what it
	// logged, and here when run returns, before main exits.
	logs, err := logline.NewWriter(stderr, logline.WriterOptions{FlushInterval: cfg.LogFlushInterval})
	if err != nil {
		return err
	}
	defer logs.Close()
	logger, err := newLogger(cfg.LogFormat, level, logs)
	if err != nil {
		return err
	}
	if limit, source, ok := memoryLimit(getenv, cfg.MemoryLimit, cfg.MaxBufferedBytes, cgroupMemoryLimit()); ok {
		debug.SetMemoryLimit(limit) // see memory.go
		logger.Debug("memory limit", "bytes", limit, "from", source)
	}
	if cmd == "broker" {
		return runBroker(ctx, cfg, logger)
	}
	// The Kafka clients narrate their life at info level; keep that for
	// debugging.
	kafkaLogger := logger
	if level > slog.LevelDebug {
		if kafkaLogger, err = newLogger(cfg.LogFormat, max(level, slog.LevelWarn), logs); err != nil {
			return err
		}
	}
	return serve(ctx, cfg, logger, kafkaLogger, logs)
}

// newLogger returns a logger writing format ("text" or "json") at level
// and above to w, as slog's handlers would.
func newLogger(format string, level slog.Level, w io.Writer) (*slog.Logger, error) {
	h, err := logline.NewHandler(w, logline.HandlerOptions{JSON: format == "json", Level: level})
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

// runBroker runs the embedded broker alone until ctx ends.
func runBroker(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	b, err := startBroker(cfg, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("stopping broker")
	b.Close()
	return nil
}

func startBroker(cfg config.Config, logger *slog.Logger) (*broker.Broker, error) {
	b, err := broker.Start(broker.Options{
		Addr: cfg.EmbeddedAddr, DataDir: cfg.DataDir, InMemory: cfg.InMemory,
		Partitions: cfg.Partitions, Logger: logger,
		AdvertisedAddr: cfg.EmbeddedAdvertisedAddr, SASLMechanism: cfg.EmbeddedSASLMechanism,
		SASLUser: cfg.EmbeddedSASLUser, SASLPassword: cfg.EmbeddedSASLPassword,
		TLSCertFile: cfg.EmbeddedTLSCert, TLSKeyFile: cfg.EmbeddedTLSKey,
	})
	if errors.Is(err, broker.ErrAddrInUse) {
		return nil, fmt.Errorf("%s is already taken, probably by a running broker; to use it, set KREST_BROKERS=%s (or --brokers %s), or pick another --embedded-addr",
			cfg.EmbeddedAddr, cfg.EmbeddedAddr, cfg.EmbeddedAddr)
	}
	return b, err
}

// healthInterval is how often the cluster is checked for readiness.
const healthInterval = 2 * time.Second

// serve runs the gateway until ctx ends, then shuts down in order:
// readiness fails, HTTP drains, the producer flushes, the consumer commits
// and leaves, and the embedded broker closes last.
func serve(ctx context.Context, cfg config.Config, logger, kafkaLogger *slog.Logger, logs *logline.Writer) error {
	security, err := kafka.NewSecurity(kafkaSecurity(cfg), logger)
	if err != nil {
		return err
	}
	brokers := cfg.Brokers
	if cfg.Embedded() {
		b, err := startBroker(cfg, logger)
		if err != nil {
			return err
		}
		defer b.Close()
		brokers = b.Addrs()
	}
	m := metrics.New()
	kopts := func(client string) kafka.Options {
		return kafka.Options{Brokers: brokers, ClientID: cfg.ClientID, Logger: kafkaLogger.With("client", client),
			Hooks: []kgo.Hook{m.KafkaHooks(client)}, Security: security}
	}
	pcl, err := kafka.NewProducerClient(produce.ClientOptions(kafka.ProducerOptions{Options: kopts("producer"),
		MaxBufferedRecords: cfg.MaxBufferedRecords, MaxBufferedBytes: cfg.MaxBufferedBytes,
		Linger: cfg.Linger, Compression: cfg.Compression, AutoCreateTopics: cfg.AutoCreateTopics}))
	if err != nil {
		return err
	}
	defer pcl.Close()
	producer := produce.New(pcl, produce.Options{Timeout: cfg.ProduceTimeout, Metrics: m})

	topics := []health.TopicSpec{
		{Name: cfg.Topic, Partitions: int32(cfg.Partitions), ReplicationFactor: int16(cfg.ReplicationFactor)},
		{Name: cfg.DLQTopic, Partitions: int32(cfg.Partitions), ReplicationFactor: int16(cfg.ReplicationFactor)},
	}
	adm := kadm.NewClient(pcl)
	monitor := health.New(func(ctx context.Context) error {
		return health.Check(ctx, adm, topics, cfg.CreateTopics)
	}, healthInterval, logger)

	// Each caller's own Kafka login, when KREST_KAFKA_IDENTITY asks; closed
	// after the HTTP drain (below), or here on an early return.
	ids, err := newIdentities(cfg, brokers, security, kafkaLogger, m, logger)
	if err != nil {
		return err
	}
	if ids != nil {
		defer ids.Close()
	}

	var serverTLS *tls.Config
	if cfg.TLSCert != "" {
		tlsFiles, err := certs.NewServer(certs.ServerOptions{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, ClientCAFile: cfg.TLSClientCA,
			ClientAuth: cfg.TLSClientAuth, MinVersion: cfg.TLSMinVersion, Logger: logger})
		if err != nil {
			return err
		}
		defer tlsFiles.Close()
		serverTLS = tlsFiles.Config()
	}
	httpSec, closeHTTPSec, err := httpSecurity(ctx, cfg, logger)
	if ids != nil { // a nil *identity.Pool in the interface would not be nil
		httpSec.Identities = ids
	}
	if err != nil {
		return err
	}
	defer closeHTTPSec()
	// Where the consumer instances of other nodes are, and the cluster's
	// directory of chosen instance names.
	peers, dir, closePeers, err := newPeers(ctx, cfg, logger, func(opts ...kgo.Opt) (*kgo.Client, error) {
		return kafka.NewClient(unmetered(kopts("consumer-instances-directory")), opts...)
	})
	if err != nil {
		return err
	}
	defer closePeers()
	// The v2 consumer instances: each its own client; closed, leaving
	// their groups, after the HTTP drain (shutdown), or here on an early
	// return.
	instances, err := consumers.New(consumers.Options{
		NewClient: func(opts ...kgo.Opt) (*kgo.Client, error) {
			return kafka.NewClient(unmetered(kopts("consumer-instance")), opts...)
		},
		Node: consumers.SanitizeNode(cfg.NodeID), IdleTimeout: cfg.ConsumerInstanceTimeout,
		MaxInstances: cfg.ConsumerMaxInstances, Logger: logger, Expired: releaseExpired(dir, logger),
	})
	if err != nil {
		return err
	}
	defer instances.Close(context.Background())
	// The work queues' share-group members: each its own client; closed,
	// releasing what they hold, after the HTTP drain (shutdown), or here on
	// an early return.
	queues, err := newQueues(cfg, logger, m, pcl, producer, func(opts ...kgo.Opt) (*kgo.Client, error) {
		return kafka.NewClient(unmetered(kopts("share-group-member")), opts...)
	})
	if err != nil {
		return err
	}
	defer queues.Close(context.Background())
	registry := newRegistry(instances, dir)
	srv, err := api.NewServer(api.Options{
		Logger: logger, Producer: producer, Health: monitor, Metrics: m,
		Admin: admin.New(pcl, admin.MaxRequestPartitions(cfg.MaxRequestPartitions), admin.MaxListItems(cfg.MaxListItems)),
		Topic: cfg.Topic, MaxRequestRecords: cfg.BatchMaxEntries, CallTimeout: cfg.ProduceTimeout,
		AdvertisedURL: cfg.AdvertisedURL, APIV2: cfg.APIV2, APIV3: cfg.APIV3,
		TLS: serverTLS, Management: cfg.MgmtAddr != "", Security: httpSec,
		Consumers: registry, Peers: peers, Queues: queues, BareConsumerRecords: !cfg.ConsumerRecordMetadata,
		EventHeartbeat: cfg.SSEHeartbeat,
		Limits: api.Limits{
			MaxBodyBytes: int(cfg.MaxBodyBytes), MaxHeaderBytes: cfg.MaxHeaderBytes, MaxInFlight: cfg.MaxInFlight,
			MaxStreams: cfg.MaxStreams, MaxConns: cfg.MaxConns, MaxConnsPerAddr: cfg.MaxConnsPerAddr,
			ReadTimeout: cfg.ReadTimeout, IdleTimeout: cfg.IdleTimeout,
			ReadIdleTimeout: cfg.IOIdleTimeout, WriteIdleTimeout: cfg.IOIdleTimeout,
		},
	})
	if err != nil {
		return err
	}
	var group *consume.Group
	if cfg.Consumer {
		if group, err = newGroup(cfg, logger, m, producer, logs); err != nil {
			return err
		}
		monitor.AddDetail("paused_partitions", func() any {
			if p := group.Paused(); len(p) > 0 {
				return p
			}
			return nil
		})
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "tls", serverTLS != nil, "brokers", brokers, "topic", cfg.Topic, "version", version)

	// The consumer outlives the signal: it stops after the producer has
	// flushed, so that it can still read what the last requests wrote.
	consumeCtx, stopConsumer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConsumer()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { monitor.Run(gctx); return nil })
	if cfg.MgmtAddr != "" {
		mgmt, err := net.Listen("tcp", cfg.MgmtAddr)
		if err != nil {
			return fmt.Errorf("management listener: %w", err)
		}
		g.Go(func() error { return serveManagement(gctx, mgmt, api.ManagementHandler(monitor, m), logger) })
	}
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		defer stopConsumer()
		shutdown(ctx, cfg, logger, monitor, srv, producer, instances, queues)
		if ids != nil {
			ids.Close() // the drained requests have ended
		}
		return nil
	})
	if group != nil {
		g.Go(func() error {
			return consumeMessages(consumeCtx, cfg, logger, group, kopts("consumer"), monitor.Readied())
		})
	}
	err = g.Wait()
	logger.Info("stopped")
	return err
}

// shutdown stops serving in order: readiness fails for the shutdown delay,
// so that load balancers stop sending; then the listener closes and the
// requests in progress finish, within the shutdown timeout (open streams
// end with a last report); then the producer flushes what they sent,
// within the produce timeout, which bounds every record anyway, while the
// v2 consumer instances close and leave their groups, and the work
// queues release their leases and close their members, within the
// shutdown timeout. The consumer stops after it returns, and the embedded
// broker last.
func shutdown(ctx context.Context, cfg config.Config, logger *slog.Logger, monitor *health.Monitor, srv *api.Server,
	producer *produce.Producer, instances *consumers.Manager, queues *queue.Manager) {
	monitor.Drain()
	logger.Info("shutting down: not ready from now", "delay", cfg.ShutdownDelay)
	if cfg.ShutdownDelay > 0 {
		delay := time.NewTimer(cfg.ShutdownDelay)
		defer delay.Stop()
		<-delay.C
	}
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		logger.Warn("http drain incomplete", "err", err)
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { instances.Close(closing) })
		queues.Close(closing)
		wg.Wait()
	}()
	defer func() { <-closed }()
	flush, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), cfg.ProduceTimeout)
	defer cancelFlush()
	if err := producer.Flush(flush); err != nil {
		logger.Warn("producer flush incomplete", "err", err)
	}
}

// newGroup returns the consumer group: it logs each message (content cut
// to LogContentBytes) and dead-letters what cannot be decoded through the
// API's producer, with cfg's failure policy.
func newGroup(cfg config.Config, logger *slog.Logger, m *metrics.Metrics, producer *produce.Producer,
	logs *logline.Writer) (*consume.Group, error) {
	dlq, err := newDeadLetters(cfg, producer)
	if err != nil {
		return nil, err
	}
	return consume.New(consume.Options{
		Handler:      consume.LogSink{Logger: logger, MaxContentBytes: cfg.LogContentBytes, Output: logs},
		DeadLetters:  dlq,
		Policy:       consume.Policy(cfg.DLQFailurePolicy),
		PauseRetry:   cfg.DLQPauseRetry,
		Logger:       logger,
		Metrics:      m,
		DrainTimeout: cfg.ShutdownTimeout / 2,
	})
}

// newDeadLetters returns the dead letters of cfg's dead-letter topic,
// written through producer, retried as cfg says.
func newDeadLetters(cfg config.Config, producer *produce.Producer) (*consume.DeadLetters, error) {
	return consume.NewDeadLetters(producer, cfg.DLQTopic,
		consume.DeadLetterOptions{Retriable: produce.Retriable, RetryTimeout: cfg.DLQRetryTimeout})
}

// newQueues returns the work queues of this node: share-group members
// made by newClient, versions and group configs seen through admin,
// tokens naming the node and signed with the cluster secret (when none
// is set, a secret of the node's own: tokens then hold here only), dead
// letters written through producer to topics made as krest's own, or left
// to the brokers, and counted in m.
func newQueues(cfg config.Config, logger *slog.Logger, m *metrics.Metrics, admin *kgo.Client, producer *produce.Producer,
	newClient func(...kgo.Opt) (*kgo.Client, error)) (*queue.Manager, error) {
	opts := queue.Options{
		NewClient: newClient, Admin: admin, Node: consumers.SanitizeNode(cfg.NodeID),
		MaxMembers: cfg.ShareMaxMembers, IdleTimeout: cfg.ShareIdleTimeout, MaxLease: cfg.ShareMaxLease,
		MaxDeliveries: cfg.ShareMaxDeliveries, AutoOffsetReset: cfg.ShareAutoOffsetReset, LockDuration: cfg.ShareLockDuration,
		Logger: logger, Metrics: m,
		// A dead-letter topic is made as krest's own topics are.
		EnsureTopic: func(ctx context.Context, topic string) error {
			return health.Check(ctx, kadm.NewClient(admin), []health.TopicSpec{
				{Name: topic, Partitions: int32(cfg.Partitions), ReplicationFactor: int16(cfg.ReplicationFactor)},
			}, cfg.CreateTopics)
		},
	}
	if cfg.ClusterSecret != "" {
		opts.Secret = []byte(cfg.ClusterSecret)
	}
	if cfg.ShareDeadLetters == config.ShareDeadLettersKrest {
		dlq, err := newDeadLetters(cfg, producer)
		if err != nil {
			return nil, err
		}
		opts.DeadLetters = dlq
	}
	return queue.New(opts)
}

// consumeMessages runs group once the topics exist.
func consumeMessages(ctx context.Context, cfg config.Config, logger *slog.Logger, group *consume.Group,
	kopts kafka.Options, ready <-chan struct{}) error {
	select {
	case <-ready:
	case <-ctx.Done():
		return nil
	}
	cl, err := kafka.NewConsumerClient(kafka.ConsumerOptions{
		Options: kopts, Group: cfg.Group, Topics: []string{cfg.Topic}, SessionTimeout: cfg.SessionTimeout,
		CommitInterval: cfg.CommitInterval, OnRevoked: group.OnRevoked, OnLost: group.OnLost, OnCommit: group.OnCommit,
	})
	if err != nil {
		return err
	}
	logger.Info("consuming", "group", cfg.Group, "topic", cfg.Topic, "dlq", cfg.DLQTopic, "dlq_failure_policy", cfg.DLQFailurePolicy)
	return group.Run(ctx, cl)
}

// serveManagement serves the management listener on ln until ctx ends:
// health, metrics and the profiler, on net/http, apart from the API.
func serveManagement(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		// WriteTimeout stays unset: a CPU profile takes as long as asked.
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	context.AfterFunc(ctx, func() { srv.Close() })
	logger.Info("management listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("management listener: %w", err)
	}
	return nil
}
