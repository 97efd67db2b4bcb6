package config

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// TestLoadPeers loads a template, a static list and a secret file.
func TestLoadPeers(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want Peers
		urls map[string]string
	}{
		{name: "defaults", env: map[string]string{}, want: defaultPeers()},
		{
			name: "template",
			env:  map[string]string{"KREST_PEER_URL_TEMPLATE": "http://{node}.krest-headless:8080", "KREST_CLUSTER_SECRET": testSecret},
			want: Peers{PeerURLTemplate: "http://{node}.krest-headless:8080", ClusterSecret: testSecret, PeerTimeout: 2 * time.Minute, PeerMaxConns: 64},
		},
		{
			name: "static list and secret file, by flags",
			args: []string{"--peers", "a=http://10.0.0.1:8080, b.2=https://10.0.0.2", "--cluster-secret-file", file,
				"--peer-timeout", "5m", "--peer-max-conns", "8"},
			want: Peers{PeerList: "a=http://10.0.0.1:8080, b.2=https://10.0.0.2", ClusterSecret: testSecret, ClusterSecretFile: file,
				PeerTimeout: 5 * time.Minute, PeerMaxConns: 8},
			urls: map[string]string{"a": "http://10.0.0.1:8080", "b.2": "https://10.0.0.2"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load("krest", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Peers, tt.want) {
				t.Errorf("got %+v\nwant %+v", got.Peers, tt.want)
			}
			if urls := got.PeerURLs(); !reflect.DeepEqual(urls, tt.urls) {
				t.Errorf("PeerURLs = %v, want %v", urls, tt.urls)
			}
			if got.Forwarding() != (tt.name != "defaults") {
				t.Errorf("Forwarding = %v", got.Forwarding())
			}
		})
	}
}

// TestLoadRejectsPeers checks each peer setting Load refuses, one line
// each.
func TestLoadRejectsPeers(t *testing.T) {
	tmpl := map[string]string{"KREST_PEER_URL_TEMPLATE": "http://{node}:8080", "KREST_CLUSTER_SECRET": testSecret}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both", withEnv(tmpl, map[string]string{"KREST_PEERS": "a=http://a:8080"}), "set KREST_PEER_URL_TEMPLATE or KREST_PEERS, not both"},
		{"template without node", withEnv(tmpl, map[string]string{"KREST_PEER_URL_TEMPLATE": "http://krest:8080"}), "must contain {node}"},
		{"template scheme", withEnv(tmpl, map[string]string{"KREST_PEER_URL_TEMPLATE": "{node}:8080"}), "must start with http:// or https://"},
		{"template path", withEnv(tmpl, map[string]string{"KREST_PEER_URL_TEMPLATE": "http://{node}:8080/api"}), "a scheme, a host and an optional port only"},
		{"list item", map[string]string{"KREST_PEERS": "a", "KREST_CLUSTER_SECRET": testSecret}, `"a" must be node=url`},
		{"list node", map[string]string{"KREST_PEERS": "a/b=http://a", "KREST_CLUSTER_SECRET": testSecret}, `node id "a/b"`},
		{"list twice", map[string]string{"KREST_PEERS": "a=http://a,a=http://b", "KREST_CLUSTER_SECRET": testSecret}, "node a is listed twice"},
		{"list url", map[string]string{"KREST_PEERS": "a=http://", "KREST_CLUSTER_SECRET": testSecret}, `node a: "http://" has no host`},
		{"no secret", map[string]string{"KREST_PEER_URL_TEMPLATE": "http://{node}:8080"}, "peers need a cluster secret"},
		{"short secret", withEnv(tmpl, map[string]string{"KREST_CLUSTER_SECRET": "short"}), "at least 32 bytes, not 5"},
		{"secret without peers", map[string]string{"KREST_CLUSTER_SECRET": testSecret}, "no peers"},
		{"secret and file", withEnv(tmpl, map[string]string{"KREST_CLUSTER_SECRET_FILE": "/secret"}), "not both"},
		{"missing file", map[string]string{"KREST_PEER_URL_TEMPLATE": "http://{node}:8080", "KREST_CLUSTER_SECRET_FILE": "/nonexistent/secret"}, "cluster secret: open"},
		{"timeout", withEnv(tmpl, map[string]string{"KREST_PEER_TIMEOUT": "1m"}), "peer timeout (1m0s) must be longer than the longest a consumer's request may wait (1m0s)"},
		{"conns", withEnv(tmpl, map[string]string{"KREST_PEER_MAX_CONNS": "0"}), "peer max conns must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("krest", nil, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("one bad setting gave %d lines:\n%v", n, err)
			}
		})
	}
}
