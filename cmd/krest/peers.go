package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/api"
	"krest/internal/config"
	"krest/internal/consumers"
	"krest/internal/kafka"
	"krest/internal/peer"
)

// newPeers returns what lets a consumer instance be reached through any
// node (api.Peers), and the cluster's directory of client-chosen instance
// names: with no peer settings, none and a nil directory. close closes
// the directory.
func newPeers(ctx context.Context, cfg config.Config, logger *slog.Logger, newClient func(...kgo.Opt) (*kgo.Client, error)) (peers api.Peers, dir *peer.Directory, close func(), err error) {
	if !cfg.Forwarding() {
		return api.Peers{}, nil, func() {}, nil
	}
	node := consumers.SanitizeNode(cfg.NodeID)
	cl, err := peer.New(peer.Options{Node: node, URLTemplate: cfg.PeerURLTemplate, Static: cfg.PeerURLs(),
		Secret: []byte(cfg.ClusterSecret), Timeout: cfg.PeerTimeout, MaxConns: cfg.PeerMaxConns})
	if err != nil {
		return api.Peers{}, nil, nil, usageError{err}
	}
	dctx, cancel := context.WithTimeout(ctx, directoryTimeout)
	defer cancel()
	if dir, err = peer.NewDirectory(dctx, newClient, node, 1, int16(cfg.ReplicationFactor)); err != nil {
		return api.Peers{}, nil, nil, err
	}
	owner := func(group, id string) (string, bool) {
		if n, ok := consumers.NodeOf(id); ok {
			return n, true
		}
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		node, ok, err := dir.LookupRecent(ctx, group, id)
		if err != nil {
			logger.Warn("consumer instance directory not read", "group", group, "instance", id, "err", err)
		}
		return node, ok
	}
	return api.Peers{Cluster: cl, OwnerOf: owner}, dir, dir.Close, nil
}

// releaseExpired returns the consumers.Options.Expired of a node with dir:
// an expired instance's client-chosen name is released, so that another
// instance may take it; with no directory, nil.
func releaseExpired(dir *peer.Directory, logger *slog.Logger) func(group, id string) {
	if dir == nil {
		return nil
	}
	return func(group, id string) {
		if _, generated := consumers.NodeOf(id); generated {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
		defer cancel()
		if err := dir.Release(ctx, group, id); err != nil {
			logger.Warn("expired consumer instance's name not released", "group", group, "instance", id, "err", err)
		}
	}
}

// newRegistry returns what the API creates instances through: with a
// directory, instances whose chosen names it claims.
func newRegistry(instances *consumers.Manager, dir *peer.Directory) instanceRegistry {
	if dir == nil {
		return instances
	}
	return &namedInstances{Manager: instances, dir: dir}
}

// lookupTimeout bounds reading the directory to its end for a name not
// found in it; past it, the request is served here (40403).
const lookupTimeout = 5 * time.Second

// directoryTimeout bounds reading the directory at start, and each claim
// and release of a name.
const directoryTimeout = 30 * time.Second

// instanceRegistry is what the API creates, finds and deletes consumer
// instances through.
type instanceRegistry interface {
	Create(group, name string, cfg consumers.Config) (*consumers.Instance, error)
	Get(group, id string) (*consumers.Instance, error)
	Delete(ctx context.Context, group, id string) error
}

// namedInstances is a node's instances whose client-chosen names are
// claimed in the cluster's directory: a name any node holds is taken.
type namedInstances struct {
	*consumers.Manager
	dir *peer.Directory
}

// Create claims name, when given, before it creates the instance, and
// releases it if the instance is not created.
func (n *namedInstances) Create(group, name string, cfg consumers.Config) (*consumers.Instance, error) {
	if name == "" {
		return n.Manager.Create(group, name, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
	defer cancel()
	if err := n.dir.Claim(ctx, group, name); err != nil {
		if errors.Is(err, peer.ErrNameTaken) {
			return nil, fmt.Errorf("%w: %s in group %s, on another node", consumers.ErrExists, name, group)
		}
		return nil, err
	}
	in, err := n.Manager.Create(group, name, cfg)
	if err != nil {
		_ = n.dir.Release(ctx, group, name)
	}
	return in, err
}

// Delete deletes the instance and releases its name.
func (n *namedInstances) Delete(ctx context.Context, group, id string) error {
	if err := n.Manager.Delete(ctx, group, id); err != nil {
		return err
	}
	if _, generated := consumers.NodeOf(id); !generated {
		return n.dir.Release(ctx, group, id)
	}
	return nil
}

// unmetered returns o without its metrics hook. A kprom hook registers
// its collectors, labelled by client kind, for as long as its client
// lives: two live clients of one kind (two consumer instances on a node)
// would register the same collectors twice, which panics.
func unmetered(o kafka.Options) kafka.Options {
	o.Hooks = nil
	return o
}
