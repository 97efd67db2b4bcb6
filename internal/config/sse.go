package config

import (
	"flag"
	"time"
)

// ServerSentEvents are the settings of the records:stream route, a
// topic's records as Server-Sent Events: see sse.go, which registers
// their flags and checks them.
type ServerSentEvents struct {
	// SSEHeartbeat is the interval of a stream's heartbeat comment
	// (": ping"), which keeps proxies from closing an idle stream and
	// finds a client gone: from 1s to 10m. Default 15s; --sse-heartbeat,
	// KREST_SSE_HEARTBEAT.
	SSEHeartbeat time.Duration
}

// Bounds of SSEHeartbeat.
const (
	minSSEHeartbeat = time.Second
	maxSSEHeartbeat = 10 * time.Minute
)

// sseDefaults returns the Server-Sent Events settings' defaults.
func sseDefaults() ServerSentEvents { return ServerSentEvents{SSEHeartbeat: 15 * time.Second} }

// sseFlags registers the flags of the Server-Sent Events settings on fs.
func sseFlags(fs *flag.FlagSet, c *Config) {
	fs.DurationVar(&c.SSEHeartbeat, "sse-heartbeat", c.SSEHeartbeat, "interval of the heartbeat comment of a records:stream (KREST_SSE_HEARTBEAT)")
}

// validateSSE reports, through bad, Server-Sent Events settings that
// cannot work.
func (c Config) validateSSE(bad func(string, ...any)) {
	if c.SSEHeartbeat < minSSEHeartbeat || c.SSEHeartbeat > maxSSEHeartbeat {
		bad("sse heartbeat must be from %s to %s, not %s", minSSEHeartbeat, maxSSEHeartbeat, c.SSEHeartbeat)
	}
}
