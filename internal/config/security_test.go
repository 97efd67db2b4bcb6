package config

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestLoadSecurity loads each way of securing the connections to Kafka and
// the embedded broker.
func TestLoadSecurity(t *testing.T) {
	cluster := map[string]string{"KREST_BROKERS": "k:9093"}
	with := func(env map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range cluster {
			out[k] = v
		}
		for k, v := range env {
			out[k] = v
		}
		return out
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
	}{
		{
			name: "mutual TLS and SCRAM from a file",
			env: with(map[string]string{"KREST_KAFKA_TLS": "true", "KREST_KAFKA_TLS_CA_FILE": "/ca.pem",
				"KREST_KAFKA_TLS_CERT_FILE": "/c.pem", "KREST_KAFKA_TLS_KEY_FILE": "/k.pem", "KREST_KAFKA_TLS_SERVER_NAME": "kafka",
				"KREST_KAFKA_SASL_MECHANISM": "scram-sha-512", "KREST_KAFKA_SASL_USER": "krest", "KREST_KAFKA_SASL_PASSWORD_FILE": "/pw"}),
			want: func(c *Config) {
				c.KafkaTLS, c.KafkaTLSCAFile, c.KafkaTLSCertFile, c.KafkaTLSKeyFile, c.KafkaTLSServerName = true, "/ca.pem", "/c.pem", "/k.pem", "kafka"
				c.KafkaSASLMechanism, c.KafkaSASLUser, c.KafkaSASLPasswordFile = "SCRAM-SHA-512", "krest", "/pw"
			},
		},
		{
			name: "PLAIN by flags",
			args: []string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"},
			env:  cluster,
			want: func(c *Config) { c.KafkaSASLMechanism, c.KafkaSASLUser, c.KafkaSASLPassword = "PLAIN", "u", "p" },
		},
		{
			name: "OAuth client credentials",
			env: with(map[string]string{"KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KREST_KAFKA_OAUTH_TOKEN_URL": "https://idp/token",
				"KREST_KAFKA_OAUTH_CLIENT_ID": "krest", "KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE": "/secret", "KREST_KAFKA_OAUTH_SCOPE": "kafka produce",
				"KREST_KAFKA_OAUTH_EXTENSIONS": "logicalCluster=lkc-1,identityPoolId=pool-2"}),
			want: func(c *Config) {
				c.KafkaSASLMechanism, c.KafkaOAuthTokenURL, c.KafkaOAuthClientID = "OAUTHBEARER", "https://idp/token", "krest"
				c.KafkaOAuthClientSecretFile, c.KafkaOAuthScope = "/secret", "kafka produce"
				c.KafkaOAuthExtensions = "logicalCluster=lkc-1,identityPoolId=pool-2"
			},
		},
		{
			name: "OAuth token file",
			env:  with(map[string]string{"KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KREST_KAFKA_OAUTH_TOKEN_FILE": "/token"}),
			want: func(c *Config) { c.KafkaSASLMechanism, c.KafkaOAuthTokenFile = "OAUTHBEARER", "/token" },
		},
		{
			name: "AWS MSK IAM",
			env: with(map[string]string{"KREST_KAFKA_TLS": "true", "KREST_KAFKA_SASL_MECHANISM": "AWS_MSK_IAM",
				"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session"}),
			want: func(c *Config) {
				c.KafkaTLS, c.KafkaSASLMechanism = true, "AWS_MSK_IAM"
				c.AWSAccessKeyID, c.AWSSecretAccessKey, c.AWSSessionToken = "AKID", "secret", "session"
			},
		},
		{
			name: "embedded broker with SASL beyond loopback",
			env: map[string]string{"KREST_EMBEDDED_ADDR": "0.0.0.0:9093", "KREST_EMBEDDED_ADVERTISED_ADDR": "kafka.lan:0",
				"KREST_EMBEDDED_SASL_MECHANISM": "SCRAM-SHA-256", "KREST_EMBEDDED_SASL_USER": "admin", "KREST_EMBEDDED_SASL_PASSWORD": "pw",
				"KREST_EMBEDDED_TLS_CERT": "/c.pem", "KREST_EMBEDDED_TLS_KEY": "/k.pem"},
			want: func(c *Config) {
				c.EmbeddedAddr, c.EmbeddedAdvertisedAddr = "0.0.0.0:9093", "kafka.lan:0"
				c.EmbeddedSASLMechanism, c.EmbeddedSASLUser, c.EmbeddedSASLPassword = "SCRAM-SHA-256", "admin", "pw"
				c.EmbeddedTLSCert, c.EmbeddedTLSKey = "/c.pem", "/k.pem"
			},
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
			}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestLoadRejectsSecurity checks each security setting Validate refuses,
// and that no message repeats a password.
func TestLoadRejectsSecurity(t *testing.T) {
	const password = "pa55word"
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "unknown mechanism", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "GSSAPI"},
			want: `SASL mechanism must be PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM, not "GSSAPI"`},
		{name: "SCRAM without a user", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KREST_KAFKA_SASL_PASSWORD": password},
			want: "SASL SCRAM-SHA-256 needs a user"},
		{name: "PLAIN without a password", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "PLAIN", "KREST_KAFKA_SASL_USER": "u"},
			want: "SASL PLAIN needs a password"},
		{name: "password twice", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "PLAIN", "KREST_KAFKA_SASL_USER": "u",
			"KREST_KAFKA_SASL_PASSWORD": password, "KREST_KAFKA_SASL_PASSWORD_FILE": "/pw"}, want: "are both set: set one"},
		{name: "user without a mechanism", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_USER": "u", "KREST_KAFKA_SASL_PASSWORD": password},
			want: "KREST_KAFKA_SASL_USER, KREST_KAFKA_SASL_PASSWORD set, but the SASL mechanism (KREST_KAFKA_SASL_MECHANISM) is none"},
		{name: "password with OAuth", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
			"KREST_KAFKA_OAUTH_TOKEN_FILE": "/t", "KREST_KAFKA_SASL_PASSWORD": password}, want: "is OAUTHBEARER, which does not use them"},
		{name: "OAuth without a source", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
			"KREST_KAFKA_OAUTH_TOKEN_URL": "https://idp/token"}, want: "SASL OAUTHBEARER needs KREST_KAFKA_OAUTH_TOKEN_FILE, or KREST_KAFKA_OAUTH_TOKEN_URL with"},
		{name: "OAuth from two sources", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
			"KREST_KAFKA_OAUTH_TOKEN_FILE": "/t", "KREST_KAFKA_OAUTH_CLIENT_ID": "c"}, want: "KREST_KAFKA_OAUTH_TOKEN_FILE and KREST_KAFKA_OAUTH_CLIENT_ID are both set"},
		{name: "OAuth token URL", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
			"KREST_KAFKA_OAUTH_TOKEN_URL": "idp/token", "KREST_KAFKA_OAUTH_CLIENT_ID": "c", "KREST_KAFKA_OAUTH_CLIENT_SECRET_FILE": "/s"},
			want: `OAuth token URL "idp/token" must be an https://`},
		{name: "OAuth extension", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "OAUTHBEARER",
			"KREST_KAFKA_OAUTH_TOKEN_FILE": "/t", "KREST_KAFKA_OAUTH_EXTENSIONS": "lkc"}, want: `OAuth extension "lkc" must be key=value`},
		{name: "AWS without keys", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "AWS_SECRET_ACCESS_KEY": password},
			want: "needs the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{name: "TLS file without TLS", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_TLS_CA_FILE": "/ca.pem"},
			want: "KREST_KAFKA_TLS_CA_FILE set, but KREST_KAFKA_TLS is not true"},
		{name: "client cert without key", env: map[string]string{"KREST_BROKERS": "k:1", "KREST_KAFKA_TLS": "true", "KREST_KAFKA_TLS_CERT_FILE": "/c.pem"},
			want: "KREST_KAFKA_TLS_CERT_FILE and KREST_KAFKA_TLS_KEY_FILE go together"},
		{name: "cluster security on the embedded broker", env: map[string]string{"KREST_KAFKA_SASL_MECHANISM": "PLAIN", "KREST_KAFKA_SASL_USER": "u",
			"KREST_KAFKA_SASL_PASSWORD": password}, want: "set without KREST_BROKERS: the Kafka security settings are for a cluster"},
		{name: "embedded mechanism", env: map[string]string{"KREST_EMBEDDED_SASL_MECHANISM": "OAUTHBEARER"},
			want: `embedded SASL mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, not "OAUTHBEARER"`},
		{name: "embedded SASL without a password", env: map[string]string{"KREST_EMBEDDED_SASL_MECHANISM": "PLAIN", "KREST_EMBEDDED_SASL_USER": "u"},
			want: "embedded SASL mechanism PLAIN needs KREST_EMBEDDED_SASL_USER and KREST_EMBEDDED_SASL_PASSWORD"},
		{name: "embedded password without a mechanism", env: map[string]string{"KREST_EMBEDDED_SASL_PASSWORD": password},
			want: "KREST_EMBEDDED_SASL_PASSWORD set without KREST_EMBEDDED_SASL_MECHANISM"},
		{name: "embedded cert without key", env: map[string]string{"KREST_EMBEDDED_TLS_CERT": "/c.pem"},
			want: "KREST_EMBEDDED_TLS_CERT and KREST_EMBEDDED_TLS_KEY go together"},
		{name: "embedded beyond loopback with TLS alone", env: map[string]string{"KREST_EMBEDDED_ADDR": "0.0.0.0:9093",
			"KREST_EMBEDDED_TLS_CERT": "/c.pem", "KREST_EMBEDDED_TLS_KEY": "/k.pem"}, want: "set KREST_EMBEDDED_SASL_MECHANISM"},
		{name: "embedded advertised address", env: map[string]string{"KREST_EMBEDDED_ADVERTISED_ADDR": ":9093"},
			want: `embedded advertised address ":9093" needs a host`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("krest", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("one bad setting gave %d lines:\n%v", n, err)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

// TestHelpHidesSecrets checks that -h, which prints each flag's default,
// does not print a password set in the environment.
func TestHelpHidesSecrets(t *testing.T) {
	var out strings.Builder
	env := map[string]string{"KREST_KAFKA_SASL_PASSWORD": "pa55word", "KREST_EMBEDDED_SASL_PASSWORD": "pa55word"}
	if _, err := Load("krest", []string{"-h"}, func(k string) string { return env[k] }, &out); err != ErrHelp {
		t.Fatalf("got %v, want ErrHelp", err)
	}
	if !strings.Contains(out.String(), "KREST_KAFKA_SASL_PASSWORD_FILE") || strings.Contains(out.String(), "pa55word") {
		t.Errorf("help:\n%s", out.String())
	}
}

// TestOAuthLists checks the scope and extension lists.
func TestOAuthLists(t *testing.T) {
	c := Config{KafkaOAuthScope: "kafka, produce  admin", KafkaOAuthExtensions: "a=1, b=x=y"}
	if got := c.OAuthScopes(); !reflect.DeepEqual(got, []string{"kafka", "produce", "admin"}) {
		t.Errorf("scopes %q", got)
	}
	if got := c.OAuthExtensions(); !reflect.DeepEqual(got, map[string]string{"a": "1", "b": "x=y"}) {
		t.Errorf("extensions %v", got)
	}
}
