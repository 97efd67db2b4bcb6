// Package broker runs the embedded development broker: a single-node,
// in-process Kafka-protocol broker (kfake) on a loopback address, persisted
// on disk unless asked to keep everything in memory.
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
	// Partitions is the partition count of topics created without one.
	Partitions int
	// AutoCreateTopics creates a missing topic when a client's metadata
	// request asks for it, as auto.create.topics.enable does in Kafka.
	AutoCreateTopics bool
	// Logger receives the broker's start-up notice.
	Logger *slog.Logger
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	dataDir string
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
	if opts.AutoCreateTopics {
		kopts = append(kopts, kfake.AllowAutoTopicCreation())
	}
	b := &Broker{}
	if !opts.InMemory {
		if b.dataDir, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, fmt.Errorf("embedded broker data directory: %w", err)
		}
		kopts = append(kopts, kfake.DataDir(b.dataDir))
	}
	if b.cluster, err = kfake.NewCluster(kopts...); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("embedded broker: %s: %w", opts.Addr, ErrAddrInUse)
		}
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if opts.Logger != nil {
		storage := b.dataDir
		if opts.InMemory {
			storage = "memory (nothing survives a restart)"
		}
		opts.Logger.Warn("EMBEDDED BROKER: single-node development broker, not a Kafka cluster; set KREST_BROKERS to use a real cluster",
			"addr", b.Addrs()[0], "storage", storage)
	}
	return b, nil
}

// Addrs returns the addresses Kafka clients connect to.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// DataDir returns the absolute storage directory, or "" when in memory.
func (b *Broker) DataDir() string { return b.dataDir }

// Close stops serving and, when persisting, writes its state to disk.
func (b *Broker) Close() { b.cluster.Close() }
