package config

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadCase loads the settings args and env give. With bad set, it checks
// that loading fails saying bad, and reports false; otherwise it fails t
// on an error and returns the settings.
func loadCase(t *testing.T, args []string, env map[string]string, bad string) (Config, bool) {
	t.Helper()
	c, err := Load("krest", args, func(k string) string { return env[k] }, io.Discard)
	if bad != "" {
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Fatalf("error %v, want one saying %q", err, bad)
		}
		return Config{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return c, true
}

func TestLoad(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
	}{
		{name: "defaults", want: func(c *Config) { c.DLQTopic = "messages.dlq" }},
		{
			name: "env",
			env:  map[string]string{"KREST_BROKERS": "a:1, b:2", "KREST_TOPIC": "t", "KREST_CONSUMER": "false", "KREST_PRODUCE_TIMEOUT": "3s"},
			want: func(c *Config) {
				c.Brokers = []string{"a:1", "b:2"}
				c.Topic, c.DLQTopic, c.Consumer, c.ProduceTimeout = "t", "t.dlq", false, 3*time.Second
			},
		},
		{
			name: "flags win over env",
			args: []string{"--http-addr", ":9", "--dlq-topic", "dead"},
			env:  map[string]string{"KREST_HTTP_ADDR": ":1", "KREST_DLQ_TOPIC": "x"},
			want: func(c *Config) { c.HTTPAddr, c.DLQTopic = ":9", "dead" },
		},
		{
			name: "produce settings",
			args: []string{"--batch-max-entries", "10"},
			env:  map[string]string{"KREST_AUTO_CREATE_TOPICS": "true", "KREST_BATCH_MAX_ENTRIES": "5"},
			want: func(c *Config) { c.DLQTopic, c.AutoCreateTopics, c.BatchMaxEntries = "messages.dlq", true, 10 },
		},
		{
			name: "admin bounds and memory",
			args: []string{"--max-request-partitions", "100", "--memory-limit", "768MiB"},
			env:  map[string]string{"KREST_MAX_LIST_ITEMS": "50", "KREST_EMBEDDED_ADDR": "0.0.0.0:9092", "KREST_EMBEDDED_ALLOW_REMOTE": "true"},
			want: func(c *Config) {
				c.DLQTopic, c.MaxRequestPartitions, c.MaxListItems, c.MemoryLimit = "messages.dlq", 100, 50, 768<<20
				c.EmbeddedAddr, c.EmbeddedAllowRemote = "0.0.0.0:9092", true
			},
		},
		{
			name: "limits at their bounds",
			args: []string{"--session-timeout", "6s", "--linger", "1s", "--partitions", "4096", "--replication-factor", "1"},
			want: func(c *Config) {
				c.DLQTopic, c.SessionTimeout, c.Linger, c.Partitions, c.ReplicationFactor = "messages.dlq", 6*time.Second, time.Second, 4096, 1
			},
		},
		{
			name: "replication on a cluster",
			args: []string{"--brokers", "k1:9092,k2:9092,k3:9092", "--replication-factor", "3", "--session-timeout", "30m"},
			want: func(c *Config) {
				c.DLQTopic, c.Brokers, c.ReplicationFactor, c.SessionTimeout = "messages.dlq", []string{"k1:9092", "k2:9092", "k3:9092"}, 3, 30*time.Minute
			},
		},
		{
			name: "localhost and IPv6 loopback",
			args: []string{"--embedded-addr", "[::1]:0", "--http-addr", "localhost:0"},
			want: func(c *Config) { c.DLQTopic, c.EmbeddedAddr, c.HTTPAddr = "messages.dlq", "[::1]:0", "localhost:0" },
		},
		{
			name: "consumer settings",
			args: []string{"--dlq-failure-policy", "skip", "--log-content-bytes", "64"},
			env: map[string]string{"KREST_DLQ_FAILURE_POLICY": "pause", "KREST_DLQ_RETRY_TIMEOUT": "5s", "KREST_DLQ_PAUSE_RETRY": "0",
				"KREST_COMMIT_INTERVAL": "250ms", "KREST_LOG_FLUSH_INTERVAL": "1s"},
			want: func(c *Config) {
				c.DLQTopic, c.DLQFailurePolicy, c.DLQRetryTimeout, c.DLQPauseRetry = "messages.dlq", "skip", 5*time.Second, 0
				c.CommitInterval, c.LogContentBytes, c.LogFlushInterval = 250*time.Millisecond, 64, time.Second
			},
		},
		{
			name: "REST Proxy switches",
			args: []string{"--api-v3=false"},
			env:  map[string]string{"KREST_API_V2": "false", "KREST_API_V3": "true"},
			want: func(c *Config) { c.DLQTopic, c.APIV2, c.APIV3 = "messages.dlq", false, false },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load("krest", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := Defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestLoadRejects checks each setting Validate refuses, with the sentence
// that says why.
func TestLoadRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "bad duration env", env: map[string]string{"KREST_PRODUCE_TIMEOUT": "soon"}, want: "KREST_PRODUCE_TIMEOUT"},
		{name: "zero timeout", args: []string{"--produce-timeout", "0s"}, want: "produce timeout must be positive"},
		{name: "bad broker", args: []string{"--brokers", "nohost"}, want: `broker "nohost"`},
		{name: "bad embedded addr", args: []string{"--embedded-addr", "127.0.0.1:99999"}, want: "embedded address"},
		{name: "embedded addr nonsense", args: []string{"--embedded-addr", "nonsense"}, want: `embedded address "nonsense": missing port in address`},
		{name: "embedded addr with brokers", args: []string{"--brokers", "k:9092", "--embedded-addr", "nonsense"}, want: `embedded address "nonsense"`},
		{name: "http addr nonsense", args: []string{"--http-addr", "nonsense"}, want: `http address "nonsense": missing port in address`},
		{name: "http addr empty", env: map[string]string{"KREST_HTTP_ADDR": " "}, want: `http address " "`},
		{name: "http port not a number", args: []string{"--http-addr", ":http"}, want: `port "http" is not a number`},
		{name: "mgmt addr nonsense", args: []string{"--mgmt-addr", "6060"}, want: `management address "6060"`},
		{name: "mgmt on the http port", args: []string{"--mgmt-addr", "127.0.0.1:8080"}, want: "management address \"127.0.0.1:8080\" must differ from the http address"},
		{name: "TLS cert without key", args: []string{"--tls-cert", "c.pem"}, want: "TLS needs both a certificate and a key"},
		{name: "client auth without TLS", args: []string{"--tls-client-auth", "require", "--tls-client-ca", "ca.pem"}, want: "client certificates need TLS"},
		{name: "client auth without CA", args: []string{"--tls-cert", "c", "--tls-key", "k", "--tls-client-auth", "require"}, want: "client auth require needs a client CA file"},
		{name: "TLS 1.1", args: []string{"--tls-min-version", "1.1"}, want: "TLS min version must be 1.2 or 1.3"},
		{name: "embedded on the http port", args: []string{"--embedded-addr", "127.0.0.1:8080"}, want: "must differ from the http address"},
		{name: "embedded on every interface", args: []string{"--embedded-addr", ":9092"}, want: `embedded address ":9092" is not a loopback address`},
		{name: "embedded on a LAN address", args: []string{"--embedded-addr", "192.168.1.10:9092"}, want: "KREST_EMBEDDED_ALLOW_REMOTE=true"},
		{name: "embedded on a host name", args: []string{"--embedded-addr", "kafka.internal:9092"}, want: "not a loopback address"},
		{name: "bad level", env: map[string]string{"KREST_LOG_LEVEL": "loud"}, want: "log level"},
		{name: "bad format", args: []string{"--log-format", "xml"}, want: "log format"},
		{name: "topic name", args: []string{"--topic", "my topic"}, want: `topic: topic name "my topic" contains ' '`},
		{name: "topic name non-ASCII", args: []string{"--topic", "été"}, want: `contains 'é'`},
		{name: "topic too long", args: []string{"--topic", strings.Repeat("t", 250)}, want: "topic: topic name is 250 characters long"},
		{name: "dlq topic name", args: []string{"--dlq-topic", "dead/letters"}, want: `dead-letter topic: topic name "dead/letters" contains '/'`},
		{name: "default dlq of a long topic", args: []string{"--topic", strings.Repeat("t", 246)}, want: "dead-letter topic: topic name is 250 characters long"},
		{name: "dlq equals topic", args: []string{"--dlq-topic", "messages"}, want: "dead-letter topic must differ"},
		{name: "group empty", env: map[string]string{"KREST_GROUP": ""}, args: []string{"--group", ""}, want: "consumer group: consumer group id is empty"},
		{name: "partitions", args: []string{"--partitions", "0"}, want: "partitions must be from 1 to 2147483647, not 0"},
		{name: "partitions past int32", args: []string{"--partitions", "4294967297", "--max-request-partitions", "2147483647"}, want: "partitions must be from 1 to 2147483647, not 4294967297"},
		{name: "partitions past the request bound", args: []string{"--partitions", "5000"}, want: "partitions (5000) must not exceed max request partitions (4096)"},
		{name: "replication", args: []string{"--replication-factor", "0"}, want: "replication factor must be -1 or from 1 to 32767, not 0"},
		{name: "replication past int16", args: []string{"--brokers", "k:9092", "--replication-factor", "65537"}, want: "replication factor must be -1 or from 1 to 32767, not 65537"},
		{name: "replication on the embedded broker", args: []string{"--replication-factor", "3"}, want: "replication factor 3 needs 3 brokers, and the embedded broker is one"},
		{name: "max request partitions", args: []string{"--max-request-partitions", "0"}, want: "max request partitions must be from 1"},
		{name: "max list items", args: []string{"--max-list-items", "0"}, want: "max list items must be positive"},
		{name: "session timeout too short", args: []string{"--session-timeout", "1s"}, want: "session timeout must be from 6s to 30m0s"},
		{name: "session timeout too long", args: []string{"--session-timeout", "1h"}, want: "not 1h0m0s"},
		{name: "negative linger", args: []string{"--linger", "-1ms"}, want: "linger must be from 0 to 1s"},
		{name: "absurd linger", args: []string{"--linger", "10s"}, want: "linger must be from 0 to 1s, not 10s"},
		{name: "linger past the produce timeout", args: []string{"--linger", "500ms", "--produce-timeout", "200ms"}, want: "linger (500ms) must be shorter than the produce timeout (200ms)"},
		{name: "unknown compression", args: []string{"--compression", "brotli"}, want: `compression must be one of none, gzip, snappy, lz4, zstd, not "brotli"`},
		{name: "memory limit", args: []string{"--memory-limit", "1.5GiB"}, want: `"1.5GiB" is not a size`},
		{name: "memory limit unit", env: map[string]string{"KREST_MEMORY_LIMIT": "1GB"}, want: "KREST_MEMORY_LIMIT"},
		{name: "batch entries", env: map[string]string{"KREST_BATCH_MAX_ENTRIES": "0"}, want: "batch max entries must be positive"},
		{name: "dlq policy", env: map[string]string{"KREST_DLQ_FAILURE_POLICY": "drop"}, want: "dead-letter failure policy must be pause or skip"},
		{name: "dlq retry timeout", args: []string{"--dlq-retry-timeout", "0s"}, want: "dead-letter retry timeout must be positive"},
		{name: "dlq pause retry", args: []string{"--dlq-pause-retry", "-1s"}, want: "dead-letter pause retry must not be negative"},
		{name: "commit interval", args: []string{"--commit-interval", "10ms"}, want: "commit interval must be at least 100ms"},
		{name: "log content bytes", args: []string{"--log-content-bytes", "0"}, want: "log content bytes must be positive"},
		{name: "log flush interval", args: []string{"--log-flush-interval", "0s"}, want: "log flush interval must be positive"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected argument"},
		{name: "unknown flag", args: []string{"--nope"}, want: "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("krest", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("one bad setting gave %d lines:\n%v", n, err)
			}
		})
	}
}

// TestLoadRejectsEach checks that Validate reports every bad setting, each
// on its own line, not only the first.
func TestLoadRejectsEach(t *testing.T) {
	args := []string{"--http-addr", "nonsense", "--embedded-addr", "0.0.0.0:9092", "--partitions", "4294967297", "--linger", "2s"}
	env := map[string]string{"KREST_SESSION_TIMEOUT": "1s", "KREST_TOPIC": "a b"}
	_, err := Load("krest", args, func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("Load accepted six bad settings")
	}
	want := []string{
		`http address "nonsense": missing port in address`,
		`embedded address "0.0.0.0:9092" is not a loopback address`,
		`topic: topic name "a b" contains ' '`,
		"partitions must be from 1 to 2147483647, not 4294967297",
		"linger must be from 0 to 1s, not 2s",
		"session timeout must be from 6s to 30m0s",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i+1, lines[i], w)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"512B", 512, true},
		{"64KiB", 64 << 10, true},
		{"768MiB", 768 << 20, true},
		{"2GiB", 2 << 30, true},
		{"1TiB", 1 << 40, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"1GB", 0, false},
		{"8388608TiB", 0, false}, // 2^63 bytes
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseByteSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseByteSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}
