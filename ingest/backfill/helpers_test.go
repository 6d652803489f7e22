package backfill

import (
	"context"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/githubfake"
)

var (
	since = githubfake.Since
	now0  = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

// fakeClock is Options.Now/Sleep for tests: Sleep records and advances.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}
