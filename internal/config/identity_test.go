package config

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loggedIn is the environment of callers who log in (Basic), whose
// credentials passthrough passes on.
var loggedIn = map[string]string{"KREST_AUTH": "basic", "KREST_AUTH_BASIC_USERS_FILE": "/users", "KREST_HTTP_ADDR": "127.0.0.1:8080"}

// secured is the environment of a cluster krest logs in to with SASL, as
// passthrough and mapped need, and of callers who log in.
var secured = withEnv(loggedIn, map[string]string{"KREST_BROKERS": "k:9093", "KREST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
	"KREST_KAFKA_SASL_USER": "krest", "KREST_KAFKA_SASL_PASSWORD_FILE": "/pw"})

// withEnv returns base with env added.
func withEnv(base, env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// TestLoadIdentity loads each identity and authorization mode.
func TestLoadIdentity(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		env   map[string]string
		want  func(*Config)
		local bool
	}{
		{name: "defaults", env: map[string]string{}, want: func(*Config) {}, local: true},
		{
			name: "passthrough with the brokers deciding",
			env:  withEnv(secured, map[string]string{"KREST_KAFKA_IDENTITY": "Passthrough", "KREST_AUTHZ_MODE": "kafka", "KREST_KAFKA_IDENTITY_MECHANISM": "plain"}),
			want: func(c *Config) {
				c.KafkaIdentity, c.AuthzMode, c.KafkaIdentityMechanism = "passthrough", "kafka", "PLAIN"
			},
		},
		{
			name: "mapped, both deciding, by flags",
			args: []string{"--kafka-identity", "mapped", "--kafka-identity-map-file", "/map.yaml", "--authz-mode", "both", "--authz-file", "/authz.yaml",
				"--kafka-identity-pool-size", "10", "--kafka-identity-idle-timeout", "1m",
				"--kafka-identity-max-buffered-records", "100", "--kafka-identity-max-buffered-bytes", "2097152"},
			env: secured,
			want: func(c *Config) {
				c.KafkaIdentity, c.KafkaIdentityMapFile, c.AuthzMode, c.AuthzFile = "mapped", "/map.yaml", "both", "/authz.yaml"
				c.KafkaIdentityPoolSize, c.KafkaIdentityIdleTimeout = 10, time.Minute
				c.KafkaIdentityMaxBufferedRecords, c.KafkaIdentityMaxBufferedBytes = 100, 2<<20
			},
			local: true,
		},
		{
			name:  "passthrough with a map for client certificates",
			env:   withEnv(secured, map[string]string{"KREST_KAFKA_IDENTITY": "passthrough", "KREST_KAFKA_IDENTITY_MAP_FILE": "/map.yaml"}),
			want:  func(c *Config) { c.KafkaIdentity, c.KafkaIdentityMapFile = "passthrough", "/map.yaml" },
			local: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load("krest", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := Defaults()
			want.DLQTopic = "messages.dlq"
			if tt.env["KREST_BROKERS"] != "" {
				want.Brokers = []string{tt.env["KREST_BROKERS"]}
				want.KafkaSASLMechanism, want.KafkaSASLUser, want.KafkaSASLPasswordFile = "SCRAM-SHA-512", "krest", "/pw"
				want.Auth, want.AuthBasicUsersFile, want.HTTPAddr = "basic", "/users", "127.0.0.1:8080"
			}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if got.LocalAuthz() != tt.local {
				t.Errorf("LocalAuthz %v with mode %s", got.LocalAuthz(), got.AuthzMode)
			}
		})
	}
}

// TestLoadRejectsIdentity checks each identity and authorization mode
// setting Validate refuses, one line each.
func TestLoadRejectsIdentity(t *testing.T) {
	passthrough := withEnv(secured, map[string]string{"KREST_KAFKA_IDENTITY": "passthrough"})
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown identity", withEnv(secured, map[string]string{"KREST_KAFKA_IDENTITY": "impersonate"}),
			`kafka identity must be service, passthrough or mapped, not "impersonate"`},
		{"unknown mode", map[string]string{"KREST_AUTHZ_MODE": "acl"}, `authorization mode must be local, kafka or both, not "acl"`},
		{"kafka mode as the service", map[string]string{"KREST_AUTHZ_MODE": "kafka"},
			"KREST_AUTHZ_MODE=kafka has the brokers decide through each caller's own login, but KREST_KAFKA_IDENTITY is service"},
		{"both modes as the service", withEnv(loggedIn, map[string]string{"KREST_AUTHZ_MODE": "both", "KREST_AUTHZ_FILE": "/authz.yaml"}),
			"set KREST_KAFKA_IDENTITY to passthrough or mapped"},
		{"both modes without local rules", withEnv(secured, map[string]string{"KREST_AUTHZ_MODE": "both", "KREST_KAFKA_IDENTITY": "passthrough"}),
			"KREST_AUTHZ_MODE=both needs the local rules of KREST_AUTHZ_FILE"},
		{"local rules the brokers' mode ignores", withEnv(secured, map[string]string{"KREST_AUTHZ_MODE": "kafka", "KREST_KAFKA_IDENTITY": "passthrough", "KREST_AUTHZ_FILE": "/authz.yaml"}),
			"KREST_AUTHZ_FILE would be ignored"},
		{"passthrough without logins", withEnv(secured, map[string]string{"KREST_KAFKA_IDENTITY": "passthrough", "KREST_AUTH": "none", "KREST_AUTH_BASIC_USERS_FILE": ""}),
			"KREST_AUTH is none, so callers bring none"},
		{"mapped without a map", withEnv(secured, map[string]string{"KREST_KAFKA_IDENTITY": "mapped"}),
			"KREST_KAFKA_IDENTITY=mapped needs the map of principals to Kafka logins: set KREST_KAFKA_IDENTITY_MAP_FILE"},
		{"a map as the service", map[string]string{"KREST_KAFKA_IDENTITY_MAP_FILE": "/map.yaml"},
			"KREST_KAFKA_IDENTITY_MAP_FILE set, but KREST_KAFKA_IDENTITY is service"},
		{"mechanism", withEnv(passthrough, map[string]string{"KREST_KAFKA_IDENTITY_MECHANISM": "OAUTHBEARER"}),
			`kafka identity mechanism must be SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN, not "OAUTHBEARER"`},
		{"embedded broker", withEnv(loggedIn, map[string]string{"KREST_KAFKA_IDENTITY": "passthrough"}),
			"KREST_KAFKA_IDENTITY=passthrough needs KREST_BROKERS: the embedded broker knows one user"},
		{"no SASL to the brokers", withEnv(loggedIn, map[string]string{"KREST_BROKERS": "k:9093", "KREST_KAFKA_IDENTITY": "passthrough"}),
			"so their listener takes SASL: set krest's own login there too (KREST_KAFKA_SASL_MECHANISM)"},
		{"pool size", withEnv(passthrough, map[string]string{"KREST_KAFKA_IDENTITY_POOL_SIZE": "0"}), "kafka identity pool size must be positive, not 0"},
		{"idle timeout", withEnv(passthrough, map[string]string{"KREST_KAFKA_IDENTITY_IDLE_TIMEOUT": "0s"}), "kafka identity idle timeout must be positive"},
		{"buffered records", withEnv(passthrough, map[string]string{"KREST_KAFKA_IDENTITY_MAX_BUFFERED_RECORDS": "0"}),
			"kafka identity max buffered records must be positive"},
		{"buffered bytes below a body", withEnv(passthrough, map[string]string{"KREST_KAFKA_IDENTITY_MAX_BUFFERED_BYTES": "1000"}),
			"kafka identity max buffered bytes (1000) must be at least the max body bytes (1048576)"},
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
