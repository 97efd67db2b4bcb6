package config

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

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
		{name: "bad level", env: map[string]string{"KREST_LOG_LEVEL": "loud"}, want: "log level"},
		{name: "bad format", args: []string{"--log-format", "xml"}, want: "log format"},
		{name: "dlq equals topic", args: []string{"--dlq-topic", "messages"}, want: "dead-letter topic"},
		{name: "partitions", args: []string{"--partitions", "0"}, want: "partitions"},
		{name: "replication", args: []string{"--replication-factor", "0"}, want: "replication factor"},
		{name: "batch entries", env: map[string]string{"KREST_BATCH_MAX_ENTRIES": "0"}, want: "batch max entries must be positive"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected argument"},
		{name: "unknown flag", args: []string{"--nope"}, want: "flag provided but not defined"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("krest", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
