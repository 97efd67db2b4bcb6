// Package kafka builds krest's franz-go clients, and holds the error
// vocabulary every package shares: it is the one place that knows how krest
// talks to Kafka.
package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/plugin/kslog"
)

// Options configure a client.
type Options struct {
	// Brokers are the seed brokers.
	Brokers []string
	// ClientID names the client to the brokers.
	ClientID string
	// Logger receives the client's own log lines (warnings and errors).
	Logger *slog.Logger
	// Hooks are client hooks, such as kprom's metrics.
	Hooks []kgo.Hook
	// Security is how the client secures its connections (NewSecurity);
	// nil is plaintext without SASL.
	Security *Security
}

// ProducerOptions configure the producing client.
type ProducerOptions struct {
	Options
	// MaxBufferedRecords bounds the records waiting to be sent; past it,
	// TryProduce fails at once with kgo.ErrMaxBuffered.
	MaxBufferedRecords int
	// MaxBufferedBytes bounds the bytes of records waiting to be sent, the
	// same way.
	MaxBufferedBytes int
	// Linger is how long a partition waits for more records before sending.
	// Zero sends as soon as the connection is free, which still batches
	// whatever arrived while the previous request was in flight.
	Linger time.Duration
	// Partitioner chooses each record's partition; nil is franz-go's
	// default. krest passes produce.Partitioner, which keeps the partition
	// a record was pinned to.
	Partitioner kgo.Partitioner
	// Compression names the codec of the batches: one of Compressions.
	// "" keeps franz-go's default, snappy.
	Compression string
	// AutoCreateTopics asks the brokers to create a topic a record names
	// when it does not exist (brokers create it only if their
	// auto.create.topics.enable allows). Off, such records fail with
	// UNKNOWN_TOPIC_OR_PARTITION.
	AutoCreateTopics bool
}

// Compressions are the codecs a producer can compress its batches with,
// by their names in Kafka's compression.type.
var Compressions = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// NewProducerClient returns a client that produces with acks from all
// in-sync replicas and an idempotent producer, partitioning with
// opts.Partitioner. Its batches are compressed with opts.Compression, or
// sent uncompressed to brokers too old for that codec.
func NewProducerClient(opts ProducerOptions) (*kgo.Client, error) {
	o := append(baseOpts(opts.Options),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(opts.MaxBufferedRecords),
		kgo.MaxBufferedBytes(opts.MaxBufferedBytes),
		kgo.ProducerLinger(opts.Linger),
		// Records to a topic that does not exist fail after a few metadata
		// refreshes rather than waiting for the produce timeout.
		kgo.UnknownTopicRetries(2),
	)
	if opts.Partitioner != nil {
		o = append(o, kgo.RecordPartitioner(opts.Partitioner))
	}
	if opts.Compression != "" {
		codec, ok := Compressions[opts.Compression]
		if !ok {
			return nil, fmt.Errorf("unknown compression %q", opts.Compression)
		}
		o = append(o, kgo.ProducerBatchCompression(codec, kgo.NoCompression()))
	}
	if opts.AutoCreateTopics {
		o = append(o, kgo.AllowAutoTopicCreation())
	}
	return kgo.NewClient(o...)
}

// ConsumerOptions configure a group-consuming client.
type ConsumerOptions struct {
	Options
	// Group is the consumer group.
	Group string
	// Topics are the topics to consume.
	Topics []string
	// SessionTimeout is how long the group waits for a silent member.
	SessionTimeout time.Duration
	// CommitInterval is how often the offsets marked as processed are
	// committed, if any changed. Default DefaultCommitInterval; at least
	// 100ms.
	CommitInterval time.Duration
	// OnRevoked runs before partitions are given up in a rebalance.
	OnRevoked func(context.Context, *kgo.Client, map[string][]int32)
	// OnLost runs when partitions were lost without a clean revoke.
	OnLost func(context.Context, *kgo.Client, map[string][]int32)
	// OnCommit runs after every offset commit, automatic ones included.
	OnCommit func(*kgo.Client, *kmsg.OffsetCommitRequest, *kmsg.OffsetCommitResponse, error)
}

// DefaultCommitInterval is ConsumerOptions.CommitInterval when unset.
const DefaultCommitInterval = time.Second

// The consumer's fetches. The broker holds a fetch until it has
// ConsumerFetchMinBytes for it or ConsumerFetchMaxWait has passed, so at low
// traffic the background consumer costs the brokers (and an embedded
// broker, krest's own CPU, beside the produce path) at most ten fetches a
// second per broker rather than one per produced batch, for at most that
// much latency. An answer holds at most ConsumerFetchMaxBytes, and
// ConsumerFetchMaxPartitionBytes of one partition (a larger first batch
// still comes whole, as in Kafka), and the client has one fetch in flight
// or buffered per broker. Those are compressed bytes: decompressed and
// decoded into records, 4 MiB of 200-byte messages is a few tens of MiB of
// heap, and the GC lets the heap grow to five times what is live
// (GOGC=400). Draining a million such records, krest peaked at 190 to
// 260 MiB RSS this way, against 620 MiB with 8 MiB a partition and no
// total; with 16 MiB it drained them about a fifth faster in 480 MiB.
const (
	ConsumerFetchMinBytes          = 256 << 10
	ConsumerFetchMaxWait           = 100 * time.Millisecond
	ConsumerFetchMaxBytes          = 4 << 20
	ConsumerFetchMaxPartitionBytes = 1 << 20
)

// NewClient returns a client with opts' seeds, identity, security, logger
// and hooks, and extra after them: the client of a consumer instance,
// whose own options (group, topics, offsets) its owner gives.
func NewClient(opts Options, extra ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append(baseOpts(opts), extra...)...)
}

// NewConsumerClient returns a client in Group that starts from the oldest
// offset, commits offsets marked as processed every CommitInterval (and
// only those), fetches as the constants above say, and never rebalances
// while a polled batch is being processed.
func NewConsumerClient(opts ConsumerOptions) (*kgo.Client, error) {
	if opts.CommitInterval == 0 {
		opts.CommitInterval = DefaultCommitInterval
	}
	return kgo.NewClient(append(baseOpts(opts.Options),
		kgo.ConsumerGroup(opts.Group),
		kgo.ConsumeTopics(opts.Topics...),
		kgo.SessionTimeout(opts.SessionTimeout),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMinBytes(ConsumerFetchMinBytes),
		kgo.FetchMaxWait(ConsumerFetchMaxWait),
		kgo.FetchMaxBytes(ConsumerFetchMaxBytes),
		kgo.FetchMaxPartitionBytes(ConsumerFetchMaxPartitionBytes),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(opts.CommitInterval),
		kgo.OnPartitionsRevoked(opts.OnRevoked),
		kgo.OnPartitionsLost(opts.OnLost),
		kgo.AutoCommitCallback(opts.OnCommit),
	)...)
}

// Recovery after a broker failure. franz-go refreshes metadata at most once
// per metadataMinAge, and after failed refreshes and requests it backs off
// exponentially up to maxRetryBackoff. Its defaults, 5 s for both, let a
// client keep writing to a dead leader, or waiting for a topic created
// meanwhile, longer than a short produce timeout; a broker that comes back
// after a few seconds down is noticed up to 5 s late. One second each is
// what the Java client does (retry.backoff.max.ms, reconnect.backoff.max.ms).
// A client whose metadata is healthy still refreshes it only every
// MetadataMaxAge (5 min).
const (
	metadataMinAge  = time.Second
	minRetryBackoff = 250 * time.Millisecond
	maxRetryBackoff = time.Second
)

// RetryInterval bounds the time between two attempts of a producing client
// at a record that keeps failing: a metadata refresh (due metadataMinAge
// after the last) or a backoff (maxRetryBackoff, +20%), and a round trip.
// The client fails a record whose context is done at its next attempt, so
// within RetryInterval of the deadline.
const RetryInterval = 1500 * time.Millisecond

// retryBackoff is the wait before retry number tries (1, 2, …) of a
// request, a metadata refresh or a connection: minRetryBackoff doubling per
// try up to maxRetryBackoff, each ±20% so that clients do not retry in step.
func retryBackoff(tries int) time.Duration {
	d := maxRetryBackoff
	if tries < 4 {
		d = min(minRetryBackoff<<max(tries-1, 0), maxRetryBackoff)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func baseOpts(opts Options) []kgo.Opt {
	o := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ClientID(opts.ClientID),
		kgo.WithHooks(opts.Hooks...),
		kgo.MetadataMinAge(metadataMinAge),
		kgo.RetryBackoffFn(retryBackoff),
	}
	if opts.Logger != nil {
		o = append(o, kgo.WithLogger(quietAuth{kslog.New(opts.Logger)}))
	}
	if s := opts.Security; s != nil {
		if s.tls != nil {
			o = append(o, kgo.DialTLSConfig(s.tls))
		}
		if s.mechanism != nil {
			o = append(o, kgo.SASL(s.mechanism))
		}
	}
	return o
}

// quietAuth logs kgo's "unable to initialize sasl", which it logs at every
// attempt of every client, at debug level: the readiness check reports a
// failed authentication (ErrAuthentication), once for each change of
// reason.
type quietAuth struct{ kgo.Logger }

func (l quietAuth) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level < kgo.LogLevelDebug && msg == "unable to initialize sasl" {
		level = kgo.LogLevelDebug
	}
	l.Logger.Log(level, msg, keyvals...)
}
