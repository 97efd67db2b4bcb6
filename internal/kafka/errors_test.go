package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestWrap(t *testing.T) {
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	err := fmt.Errorf("produce: %w", kerr.UnknownTopicOrPartition)
	got := Wrap(err)
	if !errors.Is(got, ErrTopicNotFound) || !errors.Is(got, kerr.UnknownTopicOrPartition) {
		t.Errorf("Wrap(%v) = %v: want both the sentinel and the broker's error", err, got)
	}
	if again := Wrap(got); again != got {
		t.Errorf("wrapping twice: %v, want %v", again, got)
	}
	if Wrap(context.Canceled) != context.Canceled {
		t.Error("an error no sentinel fits is not returned as is")
	}
}
