package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestLoadConsumers loads the consumer instance settings from the
// environment and flags, and refuses those that cannot work.
func TestLoadConsumers(t *testing.T) {
	host, _ := os.Hostname()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want ConsumerInstances
		bad  string
	}{
		{name: "defaults", want: ConsumerInstances{NodeID: host, ConsumerInstanceTimeout: 5 * time.Minute, ConsumerMaxInstances: 1000, ConsumerRecordMetadata: true}},
		{
			name: "environment",
			env: map[string]string{"KREST_NODE_ID": "krest-0.eu west", "KREST_CONSUMER_INSTANCE_TIMEOUT": "30s",
				"KREST_CONSUMER_MAX_INSTANCES": "10", "KREST_CONSUMER_RECORD_METADATA": "false"},
			want: ConsumerInstances{NodeID: "krest-0.eu west", ConsumerInstanceTimeout: 30 * time.Second, ConsumerMaxInstances: 10},
		},
		{
			name: "flags over environment",
			args: []string{"--node-id", "n2", "--consumer-max-instances", "3"},
			env:  map[string]string{"KREST_NODE_ID": "n1"},
			want: ConsumerInstances{NodeID: "n2", ConsumerInstanceTimeout: 5 * time.Minute, ConsumerMaxInstances: 3, ConsumerRecordMetadata: true},
		},
		{name: "no instances", env: map[string]string{"KREST_CONSUMER_MAX_INSTANCES": "0"}, bad: "consumer max instances must be positive"},
		{name: "short timeout", env: map[string]string{"KREST_CONSUMER_INSTANCE_TIMEOUT": "10ms"}, bad: "consumer instance timeout must be at least 1s"},
		{name: "long node id", env: map[string]string{"KREST_NODE_ID": strings.Repeat("n", 65)}, bad: "node id must be 1 to 64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := loadCase(t, tt.args, tt.env, tt.bad)
			if !ok {
				return
			}
			if c.ConsumerInstances != tt.want {
				t.Errorf("got %+v, want %+v", c.ConsumerInstances, tt.want)
			}
		})
	}
}
