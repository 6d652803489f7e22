// Package clock holds the one context-aware wait the background loops share
// (retries, backoffs, rate-limit waits, debounce), so that each stops
// waiting the moment its context ends and leaves no timer behind.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends, whichever is first. It returns nil
// after the full wait and ctx's error otherwise; d <= 0 returns at once
// (ctx's error if it has ended).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
