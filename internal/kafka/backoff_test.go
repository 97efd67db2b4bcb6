package kafka

import (
	"testing"
	"time"
)

// TestRetryBackoff checks the retry schedule: it starts at a quarter second,
// doubles up to a second, and stays within 20% of that either way.
func TestRetryBackoff(t *testing.T) {
	for _, tt := range []struct {
		tries int
		base  time.Duration
	}{
		{0, 250 * time.Millisecond},
		{1, 250 * time.Millisecond},
		{2, 500 * time.Millisecond},
		{3, time.Second},
		{4, time.Second},
		{100, time.Second},
	} {
		for range 50 {
			got := retryBackoff(tt.tries)
			if lo, hi := tt.base*8/10, tt.base*12/10; got < lo || got > hi {
				t.Fatalf("retryBackoff(%d) = %v, want within [%v, %v]", tt.tries, got, lo, hi)
			}
		}
	}
}
