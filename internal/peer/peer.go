// Package peer lets krest nodes reach one another: the internal URL of
// each node (a template or a static list), requests signed with the
// cluster's shared secret and checked on arrival, and the client that
// forwards a request to the node owning what it names, one hop at most.
package peer

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"krest/internal/naming"
)

// Options configure a Cluster.
type Options struct {
	// Node is this node's name, as instance ids carry it.
	Node string
	// URLTemplate is the internal URL of any node, "{node}" standing for
	// its name, e.g. "http://{node}.krest-headless:8080". Either it or
	// Static is set.
	URLTemplate string
	// Static maps each node's name to its internal URL.
	Static map[string]string
	// Secret is the key every node signs and checks forwarded requests
	// with; at least MinSecretBytes long.
	Secret []byte
	// Timeout bounds each forwarded request's write and its answer's
	// read: longer than any wait a request may ask of its owner.
	// Default 2m.
	Timeout time.Duration
	// MaxConns bounds the connections to each peer. Default 64.
	MaxConns int
	// MaxPeers bounds the peers a Cluster keeps clients for (instance ids
	// name nodes, and callers choose the ids they send). Default 256.
	MaxPeers int
}

// MinSecretBytes is the shortest cluster secret accepted.
const MinSecretBytes = 32

// Cluster is this node's view of its peers: their URLs, and a client for
// each, made when first needed and kept.
type Cluster struct {
	opts Options

	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient
}

// New checks opts and returns the Cluster they describe.
func New(opts Options) (*Cluster, error) {
	if err := validNode(opts.Node); err != nil {
		return nil, fmt.Errorf("peer: this node: %w", err)
	}
	switch {
	case (opts.URLTemplate == "") == (len(opts.Static) == 0):
		return nil, fmt.Errorf("peer: exactly one of a URL template and a static list is needed")
	case opts.URLTemplate != "":
		if !strings.Contains(opts.URLTemplate, nodeField) {
			return nil, fmt.Errorf("peer: URL template %q must contain %s", opts.URLTemplate, nodeField)
		}
		if _, err := parseBase(strings.ReplaceAll(opts.URLTemplate, nodeField, "node")); err != nil {
			return nil, fmt.Errorf("peer: URL template %q: %w", opts.URLTemplate, err)
		}
	}
	for node, u := range opts.Static {
		if err := validNode(node); err != nil {
			return nil, fmt.Errorf("peer: static list: %w", err)
		}
		if _, err := parseBase(u); err != nil {
			return nil, fmt.Errorf("peer: node %s: %w", node, err)
		}
	}
	if len(opts.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("peer: the cluster secret must be at least %d bytes, not %d", MinSecretBytes, len(opts.Secret))
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 64
	}
	if opts.MaxPeers <= 0 {
		opts.MaxPeers = 256
	}
	return &Cluster{opts: opts, clients: make(map[string]*fasthttp.HostClient)}, nil
}

// nodeField is what URLTemplate names the node with.
const nodeField = "{node}"

// Node returns this node's name.
func (c *Cluster) Node() string { return c.opts.Node }

// URL returns node's internal base URL (scheme and host), or
// ErrUnknownNode.
func (c *Cluster) URL(node string) (*url.URL, error) {
	if validNode(node) != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, node)
	}
	raw, ok := c.opts.Static[node]
	if c.opts.URLTemplate != "" {
		raw, ok = strings.ReplaceAll(c.opts.URLTemplate, nodeField, node), true
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, node)
	}
	return parseBase(raw)
}

// parseBase parses a peer's base URL: http or https, a host, and nothing
// past the host but an optional "/".
func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme must be http or https, not %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("a host is needed")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
		return nil, fmt.Errorf("only a scheme, host and port are allowed")
	}
	u.Path = ""
	return u, nil
}

// maxNodeBytes bounds a node's name.
const maxNodeBytes = 128

// validNode checks a node's name: 1 to maxNodeBytes of [A-Za-z0-9._], as
// instance ids carry it (so that it is safe in a host name's place).
func validNode(node string) error {
	if node == "" || len(node) > maxNodeBytes {
		return fmt.Errorf("a node's name must be 1 to %d characters, not %d", maxNodeBytes, len(node))
	}
	for i := 0; i < len(node); i++ {
		if !naming.NodeByte(node[i]) {
			return fmt.Errorf("node %q: only letters, digits, '.' and '_' are allowed", node)
		}
	}
	return nil
}
