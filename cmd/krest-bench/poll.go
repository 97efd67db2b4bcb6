package main

import (
	"context"
	"errors"
	"time"
)

// errGaveUp wraps an error that polling should not retry.
type errGaveUp struct{ error }

// Unwrap returns the wrapped error.
func (e errGaveUp) Unwrap() error { return e.error }

// poll calls try every interval until it returns nil, returns an errGaveUp, ctx ends or timeout passes.
// It returns try's last error.
func poll(ctx context.Context, timeout, interval time.Duration, try func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := try()
		var gaveUp errGaveUp
		switch {
		case err == nil:
			return nil
		case errors.As(err, &gaveUp):
			return gaveUp.error
		case time.Now().After(deadline):
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
