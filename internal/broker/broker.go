// Package broker runs the embedded development broker: a single-node,
// in-process Kafka-protocol broker (kfake) on a loopback address, persisted
// on disk unless asked to keep everything in memory. Like a Kafka broker
// with its defaults (auto.create.topics.enable=true), it creates a missing
// topic for a client whose metadata request asks it to.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ErrAddrInUse is returned by Start when another process already listens on
// the broker's address.
var ErrAddrInUse = errors.New("address already in use")

// Options configure the embedded broker.
type Options struct {
	// Addr is the host:port to listen on, e.g. "127.0.0.1:9092".
	Addr string
	// DataDir is where the broker persists records, offsets and groups.
	// Ignored when InMemory is set.
	DataDir string
	// InMemory keeps everything in memory: nothing survives Close.
	InMemory bool
	// Partitions is the partition count of topics created without one,
	// auto-created ones included (Kafka's num.partitions). Zero keeps
	// kfake's default.
	Partitions int
	// Logger receives the broker's start-up notice.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
}

// Start listens on opts.Addr and serves the Kafka protocol from a goroutine
// until Close. It reloads whatever opts.DataDir holds from an earlier run.
func Start(opts Options) (*Broker, error) {
	host, portText, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker address %q: %w", opts.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("embedded broker address %q: port is not a number", opts.Addr)
	}
	kopts := []kfake.Opt{
		kfake.Ports(port),
		// kfake binds 127.0.0.1; bind the host asked for instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
	}
	if opts.Partitions > 0 {
		kopts = append(kopts, kfake.DefaultNumPartitions(opts.Partitions))
	}
	// auto.create.topics.enable=true, as in Kafka: a missing topic is
	// created when a client's metadata request sets
	// AllowAutoTopicCreation, as librdkafka's producers (kcat -P) and the
	// Java producer do by default. kgo sets it only with
	// kgo.AllowAutoTopicCreation, which krest's own producer asks for only
	// with KREST_AUTO_CREATE_TOPICS.
	kopts = append(kopts, kfake.AllowAutoTopicCreation())
	b := &Broker{}
	storage := "memory (nothing survives a restart)"
	if !opts.InMemory {
		if storage, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, fmt.Errorf("embedded broker data directory: %w", err)
		}
		kopts = append(kopts, kfake.DataDir(storage))
	}
	if b.cluster, err = kfake.NewCluster(kopts...); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("embedded broker: %s: %w", opts.Addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if opts.Logger != nil {
		opts.Logger.Warn("EMBEDDED BROKER: single-node development broker, not a Kafka cluster; set KREST_BROKERS to use a real cluster",
			"addr", b.Addrs()[0], "storage", storage)
	}
	return b, nil
}

// Addrs returns the addresses Kafka clients connect to.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops serving and, when persisting, writes its state to disk.
func (b *Broker) Close() { b.cluster.Close() }
