package config

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"krest/internal/naming"
)

// Peers are the settings that let krest nodes behind one load balancer
// reach each other: a request for a consumer instance another node owns
// is forwarded there.
type Peers struct {
	// PeerURLTemplate is the internal URL of any node, "{node}" standing
	// for its node id, e.g. "http://{node}.krest-headless:8080". Default
	// "" (no forwarding); --peer-url-template, KREST_PEER_URL_TEMPLATE.
	PeerURLTemplate string
	// PeerList is the static list of every node's internal URL,
	// "node=url,node=url", instead of a template. Default "";
	// --peers, KREST_PEERS.
	PeerList string
	// ClusterSecret is the key nodes sign forwarded requests with, at
	// least minClusterSecretBytes long, the same on every node; required
	// with peers. Default ""; --cluster-secret, KREST_CLUSTER_SECRET, or
	// read from --cluster-secret-file, KREST_CLUSTER_SECRET_FILE (its
	// trailing newline dropped).
	ClusterSecret     string
	ClusterSecretFile string
	// PeerTimeout bounds a forwarded request's write and its answer:
	// longer than the longest a consumer's request may wait. Default 2m;
	// --peer-timeout, KREST_PEER_TIMEOUT.
	PeerTimeout time.Duration
	// PeerMaxConns bounds the connections to each peer. Default 64;
	// --peer-max-conns, KREST_PEER_MAX_CONNS.
	PeerMaxConns int
}

// minClusterSecretBytes is the shortest cluster secret: 256 bits.
const minClusterSecretBytes = 32

// maxConsumerWait is the longest a consumer instance's request may wait
// (the bound of consumer.request.timeout.ms, consumers.MaxRequestTimeout):
// a forwarded request must be given longer.
const maxConsumerWait = time.Minute

// defaultPeers returns the peer settings used when nothing is set.
func defaultPeers() Peers {
	return Peers{PeerTimeout: 2 * time.Minute, PeerMaxConns: 64}
}

// peerFlags registers the flags of the peer settings on fs.
func peerFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.PeerURLTemplate, "peer-url-template", c.PeerURLTemplate, "internal URL of any node, {node} for its node id, e.g. http://{node}.krest-headless:8080 (KREST_PEER_URL_TEMPLATE)")
	fs.StringVar(&c.PeerList, "peers", c.PeerList, "every node's internal URL, node=url,node=url, instead of a template (KREST_PEERS)")
	fs.StringVar(&c.ClusterSecret, "cluster-secret", c.ClusterSecret, "key nodes sign forwarded requests with; prefer the environment or a file, flags show in process lists (KREST_CLUSTER_SECRET)")
	fs.StringVar(&c.ClusterSecretFile, "cluster-secret-file", c.ClusterSecretFile, "file holding the cluster secret (KREST_CLUSTER_SECRET_FILE)")
	fs.DurationVar(&c.PeerTimeout, "peer-timeout", c.PeerTimeout, "bound on a forwarded request and its answer (KREST_PEER_TIMEOUT)")
	fs.IntVar(&c.PeerMaxConns, "peer-max-conns", c.PeerMaxConns, "connections to each peer (KREST_PEER_MAX_CONNS)")
}

// loadPeers completes the peer settings after parsing: the secret from
// its file.
func (c *Config) loadPeers() error {
	if c.ClusterSecretFile == "" {
		return nil
	}
	if c.ClusterSecret != "" {
		return fmt.Errorf("set the cluster secret or its file, not both")
	}
	b, err := os.ReadFile(c.ClusterSecretFile)
	if err != nil {
		return fmt.Errorf("cluster secret: %v", err)
	}
	c.ClusterSecret = strings.TrimRight(string(b), "\r\n")
	return nil
}

// Forwarding reports whether nodes forward requests to one another.
func (c Peers) Forwarding() bool { return c.PeerURLTemplate != "" || c.PeerList != "" }

// PeerURLs returns the static list as a map of node id to URL (nil
// without one). Validate has checked it.
func (c Peers) PeerURLs() map[string]string {
	urls, _ := parsePeerList(c.PeerList)
	return urls
}

// validatePeers reports, through bad, the peer settings that cannot work.
func (c Peers) validatePeers(bad func(string, ...any)) {
	if c.PeerURLTemplate != "" && c.PeerList != "" {
		bad("set KREST_PEER_URL_TEMPLATE or KREST_PEERS, not both")
	}
	if c.PeerURLTemplate != "" {
		if !strings.Contains(c.PeerURLTemplate, "{node}") {
			bad("peer URL template %q must contain {node}, where each node's id goes", c.PeerURLTemplate)
		} else if err := validPeerURL(strings.ReplaceAll(c.PeerURLTemplate, "{node}", "node")); err != nil {
			bad("peer URL template %q: %v", c.PeerURLTemplate, err)
		}
	}
	if _, err := parsePeerList(c.PeerList); err != nil {
		bad("peers: %v", err)
	}
	switch {
	case !c.Forwarding() && c.ClusterSecret != "":
		bad("a cluster secret is set, but no peers (KREST_PEER_URL_TEMPLATE or KREST_PEERS) to use it with")
	case c.Forwarding() && c.ClusterSecret == "":
		bad("peers need a cluster secret, the same on every node: set KREST_CLUSTER_SECRET or KREST_CLUSTER_SECRET_FILE")
	case c.Forwarding() && len(c.ClusterSecret) < minClusterSecretBytes:
		bad("the cluster secret must be at least %d bytes, not %d", minClusterSecretBytes, len(c.ClusterSecret))
	}
	if c.PeerTimeout <= maxConsumerWait {
		bad("peer timeout (%s) must be longer than the longest a consumer's request may wait (%s)", c.PeerTimeout, maxConsumerWait)
	}
	if c.PeerMaxConns < 1 {
		bad("peer max conns must be positive, not %d", c.PeerMaxConns)
	}
}

// parsePeerList parses "node=url,node=url".
func parsePeerList(s string) (map[string]string, error) {
	items := splitList(s)
	if len(items) == 0 {
		return nil, nil
	}
	urls := make(map[string]string, len(items))
	for _, item := range items {
		node, u, ok := strings.Cut(item, "=")
		node, u = strings.TrimSpace(node), strings.TrimSpace(u)
		switch {
		case !ok || node == "" || u == "":
			return nil, fmt.Errorf("%q must be node=url", item)
		case !validNodeID(node):
			return nil, fmt.Errorf("node id %q: only letters, digits, '.' and '_' are allowed", node)
		case urls[node] != "":
			return nil, fmt.Errorf("node %s is listed twice", node)
		}
		if err := validPeerURL(u); err != nil {
			return nil, fmt.Errorf("node %s: %v", node, err)
		}
		urls[node] = u
	}
	return urls, nil
}

// validNodeID reports whether id is a node id as instance ids carry it:
// letters, digits, '.' and '_'.
func validNodeID(id string) bool {
	for i := range len(id) {
		if !naming.NodeByte(id[i]) {
			return false
		}
	}
	return id != ""
}

// validPeerURL checks a node's internal URL: http or https, a host and an
// optional port, nothing more.
func validPeerURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with http:// or https://", raw)
	case u.Hostname() == "":
		return fmt.Errorf("%q has no host", raw)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
		return fmt.Errorf("%q must be a scheme, a host and an optional port only", raw)
	}
	return nil
}
