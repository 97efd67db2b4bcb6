package config

import (
	"testing"
	"time"
)

// TestLoadSSE loads the Server-Sent Events settings from the environment
// and flags, and refuses those that cannot work.
func TestLoadSSE(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
		bad  string
	}{
		{name: "default", want: 15 * time.Second},
		{name: "environment", env: map[string]string{"KREST_SSE_HEARTBEAT": "30s"}, want: 30 * time.Second},
		{name: "flag over environment", args: []string{"--sse-heartbeat", "5s"}, env: map[string]string{"KREST_SSE_HEARTBEAT": "30s"}, want: 5 * time.Second},
		{name: "too short", env: map[string]string{"KREST_SSE_HEARTBEAT": "10ms"}, bad: "sse heartbeat must be from 1s to 10m0s, not 10ms"},
		{name: "too long", args: []string{"--sse-heartbeat", "1h"}, bad: "sse heartbeat must be from 1s to 10m0s, not 1h0m0s"},
		{name: "not a duration", env: map[string]string{"KREST_SSE_HEARTBEAT": "often"}, bad: "KREST_SSE_HEARTBEAT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := loadCase(t, tt.args, tt.env, tt.bad)
			if !ok {
				return
			}
			if c.SSEHeartbeat != tt.want {
				t.Errorf("heartbeat %s, want %s", c.SSEHeartbeat, tt.want)
			}
		})
	}
}
