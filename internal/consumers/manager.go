// Package consumers holds the consumer instances of Confluent REST Proxy
// API v2 on one node: a registry of instances by group and id, each with
// its own Kafka client, expired when idle. It knows no HTTP.
package consumers

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"krest/internal/naming"
)

// Options configure a Manager.
type Options struct {
	// NewClient makes an instance's Kafka client from the instance's own
	// options (seeds, security and hooks are NewClient's to add).
	NewClient func(opts ...kgo.Opt) (*kgo.Client, error)
	// Node names this node in generated instance ids: letters, digits,
	// '.' and '_' (SanitizeNode).
	Node string
	// IdleTimeout closes an instance no request used for this long.
	// Default 5m.
	IdleTimeout time.Duration
	// MaxInstances bounds the instances open at once (ErrTooMany past
	// it). Default 1000.
	MaxInstances int
	// Logger receives expiries and close failures.
	Logger *slog.Logger
	// Expired, when set, is called with each instance closed for being
	// idle, after it is closed.
	Expired func(group, id string)
}

// Manager is the registry of one node's consumer instances. New starts a
// goroutine that expires idle instances until Close.
type Manager struct {
	opts Options

	mu        sync.Mutex
	instances map[key]*Instance
	closed    bool

	stop chan struct{}
	done chan struct{}
}

type key struct{ group, id string }

// New returns a manager; Close closes it and its instances.
func New(opts Options) (*Manager, error) {
	if opts.NewClient == nil {
		return nil, fmt.Errorf("consumers: a client constructor is required")
	}
	if opts.Node == "" || SanitizeNode(opts.Node) != opts.Node {
		return nil, fmt.Errorf("consumers: node id %q must be letters, digits, '.' or '_'", opts.Node)
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 5 * time.Minute
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: opts, instances: map[key]*Instance{}, stop: make(chan struct{}), done: make(chan struct{})}
	go m.expire()
	return m, nil
}

// idPrefix starts every generated instance id.
const idPrefix = "rest-consumer-"

// SanitizeNode returns s with every byte but ASCII letters, digits, '.'
// and '_' replaced by '_', so that a node id holds no '-' and NodeOf can
// split ids unambiguously.
func SanitizeNode(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !naming.NodeByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// NodeOf returns the node of a generated instance id,
// rest-consumer-{node}-{uuid}, and false for any other id (a name the
// client chose).
func NodeOf(instanceID string) (node string, ok bool) {
	rest, ok := strings.CutPrefix(instanceID, idPrefix)
	if !ok {
		return "", false
	}
	node, uuid, ok := strings.Cut(rest, "-")
	if !ok || node == "" || SanitizeNode(node) != node || !isUUID(uuid) {
		return "", false
	}
	return node, true
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Create opens an instance of group under name, or under a generated id
// (rest-consumer-{node}-{uuid}) when name is empty. It fails with
// ErrInvalidConfig for a config that cannot work or a name that is
// another node's instance id, ErrExists for a name taken, ErrTooMany
// past the cap.
func (m *Manager) Create(group, name string, cfg Config) (*Instance, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	id := name
	if id == "" {
		id = idPrefix + m.opts.Node + "-" + newUUID()
	}
	if node, ok := NodeOf(name); ok && node != m.opts.Node {
		return nil, fmt.Errorf("%w: name %q is the id of an instance of node %s", ErrInvalidConfig, name, node)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, ErrClosed
	case m.instances[key{group, id}] != nil:
		return nil, fmt.Errorf("%w: %s in group %s", ErrExists, id, group)
	case len(m.instances) >= m.opts.MaxInstances:
		return nil, fmt.Errorf("%w: %d open", ErrTooMany, len(m.instances))
	}
	in := newInstance(m, group, id, cfg)
	m.instances[key{group, id}] = in
	return in, nil
}

// Get returns the instance id of group and marks it used now.
func (m *Manager) Get(group, id string) (*Instance, error) {
	m.mu.Lock()
	in := m.instances[key{group, id}]
	m.mu.Unlock()
	if in == nil {
		return nil, ErrNotFound
	}
	in.touch()
	return in, nil
}

// Delete closes the instance id of group: it leaves its group (committing
// what it delivered, with auto commit).
func (m *Manager) Delete(ctx context.Context, group, id string) error {
	in := m.remove(group, id, nil)
	if in == nil {
		return ErrNotFound
	}
	in.close(ctx)
	return nil
}

// remove takes the instance id of group out of the registry and returns
// it, if it is there and, when only is not nil, is only.
func (m *Manager) remove(group, id string, only *Instance) *Instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.instances[key{group, id}]
	if in == nil || only != nil && in != only {
		return nil
	}
	delete(m.instances, key{group, id})
	return in
}

// expire closes instances idle past IdleTimeout, checking a few times per
// timeout, until Close.
func (m *Manager) expire() {
	defer close(m.done)
	tick := time.NewTicker(max(m.opts.IdleTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			m.mu.Lock()
			var idle []*Instance
			for _, in := range m.instances {
				if in.idleSince(now) > m.opts.IdleTimeout {
					idle = append(idle, in)
				}
			}
			m.mu.Unlock()
			for _, in := range idle {
				if m.remove(in.Group, in.ID, in) != nil {
					m.opts.Logger.Info("consumer instance expired", "group", in.Group, "instance", in.ID)
					ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
					in.close(ctx)
					cancel()
					if m.opts.Expired != nil {
						m.opts.Expired(in.Group, in.ID)
					}
				}
			}
		}
	}
}

// closeTimeout bounds an expired instance's last commit.
const closeTimeout = 10 * time.Second

// Close stops expiry and closes every instance, at once, within ctx for
// their last commits; later calls of Create fail with ErrClosed.
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	all := m.instances
	m.instances = map[key]*Instance{}
	m.mu.Unlock()
	close(m.stop)
	<-m.done
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() { defer wg.Done(); in.close(ctx) }()
	}
	wg.Wait()
}
