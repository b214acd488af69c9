// Package wait holds the one context-aware sleep of the module, shared by
// the client (its default [optimist.WithClock] sleep) and the mock server
// (its latency, job durations and callback delays).
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, with ctx's error. Its timer is stopped
// either way; a d of zero or less returns at once, with ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
