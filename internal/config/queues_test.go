package config

import (
	"testing"
	"time"
)

// TestLoadQueues loads the work queue settings from the environment and
// flags, and refuses those that cannot work.
func TestLoadQueues(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want Queues
		bad  string
	}{
		{name: "defaults", want: Queues{ShareMaxMembers: 256, ShareIdleTimeout: time.Minute, ShareMaxLease: 5 * time.Minute,
			ShareMaxDeliveries: 4, ShareAutoOffsetReset: "earliest", ShareDeadLetters: "krest"}},
		{
			name: "environment",
			env: map[string]string{"KREST_SHARE_MAX_MEMBERS": "8", "KREST_SHARE_IDLE_TIMEOUT": "30s", "KREST_SHARE_MAX_LEASE": "1s",
				"KREST_SHARE_MAX_DELIVERIES": "1", "KREST_SHARE_AUTO_OFFSET_RESET": "latest", "KREST_SHARE_DEAD_LETTERS": "broker"},
			want: Queues{ShareMaxMembers: 8, ShareIdleTimeout: 30 * time.Second, ShareMaxLease: time.Second,
				ShareMaxDeliveries: 1, ShareAutoOffsetReset: "latest", ShareDeadLetters: "broker"},
		},
		{
			name: "flags over environment",
			args: []string{"--share-max-members", "3", "--share-dead-letters", "krest"},
			env:  map[string]string{"KREST_SHARE_MAX_MEMBERS": "9", "KREST_SHARE_DEAD_LETTERS": "broker"},
			want: Queues{ShareMaxMembers: 3, ShareIdleTimeout: time.Minute, ShareMaxLease: 5 * time.Minute,
				ShareMaxDeliveries: 4, ShareAutoOffsetReset: "earliest", ShareDeadLetters: "krest"},
		},
		{name: "no members", env: map[string]string{"KREST_SHARE_MAX_MEMBERS": "0"}, bad: "share max members must be positive"},
		{name: "short idle timeout", env: map[string]string{"KREST_SHARE_IDLE_TIMEOUT": "10ms"}, bad: "share idle timeout must be at least 1s"},
		{name: "short lease", env: map[string]string{"KREST_SHARE_MAX_LEASE": "999ms"}, bad: "share max lease must be at least 1s"},
		{name: "no deliveries", env: map[string]string{"KREST_SHARE_MAX_DELIVERIES": "0"}, bad: "share max deliveries must be at least 1"},
		{name: "offset reset", env: map[string]string{"KREST_SHARE_AUTO_OFFSET_RESET": "none"}, bad: `share auto offset reset must be earliest or latest, not "none"`},
		{name: "dead letters", env: map[string]string{"KREST_SHARE_DEAD_LETTERS": "both"}, bad: `share dead letters must be krest or broker, not "both"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := loadCase(t, tt.args, tt.env, tt.bad)
			if !ok {
				return
			}
			if c.Queues != tt.want {
				t.Errorf("got %+v, want %+v", c.Queues, tt.want)
			}
		})
	}
}
