// Package broker runs the embedded development broker: a single-node,
// in-process Kafka-protocol broker (kfake), persisted on disk unless asked
// to keep everything in memory, optionally behind SASL (PLAIN or SCRAM) and
// TLS. Like a Kafka broker with its defaults
// (auto.create.topics.enable=true), it creates a missing topic for a client
// whose metadata request asks it to.
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// SASL mechanisms the embedded broker serves.
const (
	saslPlain     = "PLAIN"
	saslScram256  = "SCRAM-SHA-256"
	saslScram512  = "SCRAM-SHA-512"
	saslStateFile = "sasl.json" // kfake's persisted users, in DataDir
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

	// AdvertisedAddr is the host:port the broker tells clients to
	// connect to, in its metadata; a port of 0 or none is the bound
	// port. Default "": the address it listens on, which is no use to
	// other machines when that is every interface (0.0.0.0).
	AdvertisedAddr string

	// SASLMechanism, when set, makes every client authenticate first, as
	// SASLUser with SASLPassword: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	// That user is a superuser, and the only user: the broker keeps no
	// other across a restart. Default "": no authentication.
	SASLMechanism string
	SASLUser      string
	SASLPassword  string

	// TLSCertFile and TLSKeyFile, when set, are the PEM certificate
	// (chain) and key the broker serves TLS with; it then speaks nothing
	// else. Default "": plaintext.
	TLSCertFile string
	TLSKeyFile  string
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	closing atomic.Bool
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
	b := &Broker{}
	var tlsConfig *tls.Config
	if opts.TLSCertFile != "" || opts.TLSKeyFile != "" {
		pair, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("embedded broker TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	kopts := []kfake.Opt{
		kfake.Ports(port),
		// kfake binds 127.0.0.1; bind the host asked for instead. TLS is
		// done here rather than by kfake.TLS, so that conn sees the
		// protocol (see conn.go).
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return nil, err
			}
			adv, err := advertise(opts.AdvertisedAddr, ln.Addr())
			if err != nil {
				ln.Close()
				return nil, err
			}
			if tlsConfig != nil {
				ln = tls.NewListener(ln, tlsConfig)
			}
			return &listener{Listener: ln, advertised: adv, mechanism: opts.SASLMechanism, closing: &b.closing}, nil
		}),
	}
	switch opts.SASLMechanism {
	case "":
	case saslPlain, saslScram256, saslScram512:
		if opts.SASLUser == "" || opts.SASLPassword == "" {
			return nil, errors.New("embedded broker SASL needs a user and a password")
		}
		kopts = append(kopts, kfake.EnableSASL(), kfake.Superuser(opts.SASLMechanism, opts.SASLUser, opts.SASLPassword))
	default:
		return nil, fmt.Errorf("embedded broker SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", opts.SASLMechanism)
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
	storage := "memory (nothing survives a restart)"
	if !opts.InMemory {
		if storage, err = filepath.Abs(opts.DataDir); err != nil {
			return nil, fmt.Errorf("embedded broker data directory: %w", err)
		}
		// kfake reloads the users it persisted over the ones it is
		// given: a changed password, or SASL turned on, would lock
		// everyone out. The settings name the only user.
		if err := os.Remove(filepath.Join(storage, saslStateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
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
		security := "none: anyone who reaches it can read and write every topic"
		switch {
		case opts.SASLMechanism != "" && tlsConfig != nil:
			security = "SASL_SSL " + opts.SASLMechanism
		case opts.SASLMechanism != "":
			security = "SASL_PLAINTEXT " + opts.SASLMechanism
		case tlsConfig != nil:
			security = "SSL, no authentication"
		}
		opts.Logger.Warn("EMBEDDED BROKER: single-node development broker, not a Kafka cluster; set KREST_BROKERS to use a real cluster",
			"addr", b.Addrs()[0], "storage", storage, "security", security)
		if ip := net.ParseIP(host); (host == "" || ip != nil && ip.IsUnspecified()) && opts.AdvertisedAddr == "" {
			opts.Logger.Warn("the embedded broker listens on every interface but tells clients to connect to "+b.Addrs()[0]+
				", which other machines cannot reach; set KREST_EMBEDDED_ADVERTISED_ADDR to a host:port they can", "addr", b.Addrs()[0])
		}
	}
	return b, nil
}

// Addrs returns the addresses Kafka clients connect to.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops serving and, when persisting, writes its state to disk.
func (b *Broker) Close() {
	b.closing.Store(true)
	b.cluster.Close()
}
