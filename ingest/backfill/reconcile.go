package backfill

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Reconciler runs backfill on a schedule, from the last reconciled point,
// so that the deliveries GitHub never retried (it does not retry, and keeps
// redelivery for three days) are found. The zero value is not usable: set
// Options (Token, BaseURL), State, Sink, Repos and Every.
type Reconciler struct {
	Options Options // Since is set per round
	State   State
	Sink    Sink
	// Repos lists the in-scope repositories to reconcile.
	Repos func(ctx context.Context) ([]string, error)
	// Known reports which of the merged pull requests of repo the store
	// already had before this round. A change it did not know was first
	// learned by reconciliation: a webhook was lost.
	Known func(ctx context.Context, repo string, numbers []int) (map[int]bool, error)
	// Learned is told of those changes (metrics, logs). Optional.
	Learned func(repo string, numbers []int)
	// Every is the schedule; the first round runs at once.
	Every time.Duration
	// Overlap reaches back before the previous round's start, for
	// clocks and GitHub's own lag. Zero = 10 minutes.
	Overlap time.Duration
	// OnError is told of a failed round (the next round retries from the
	// same point). Optional.
	OnError func(error)
	// Exclusive, when set, is held for each round. Whatever else in the
	// process reads the same history from GitHub (a backfill started
	// through the API) holds it too, so the two never spend the rate
	// limit on the same pages at once. Optional.
	Exclusive sync.Locker

	wakeOnce sync.Once
	wake     chan struct{}
}

// Wake asks Run for a round at once rather than at the next tick (a
// GitHub App installation gained repositories). It never blocks; wakes
// that arrive while a round is already due count once. Safe for
// concurrent use.
func (r *Reconciler) Wake() {
	select {
	case r.wakeCh() <- struct{}{}:
	default:
	}
}

func (r *Reconciler) wakeCh() chan struct{} {
	r.wakeOnce.Do(func() { r.wake = make(chan struct{}, 1) })
	return r.wake
}

// Round reconciles every repository once, from since. It waits for
// Exclusive, if set.
func (r *Reconciler) Round(ctx context.Context, since time.Time) (Stats, error) {
	if r.Exclusive != nil {
		r.Exclusive.Lock()
		defer r.Exclusive.Unlock()
	}
	repos, err := r.Repos(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("reconcile: list repositories: %w", err)
	}
	if len(repos) == 0 {
		return Stats{}, nil
	}
	sink := SinkFunc(func(ctx context.Context, b model.Batch) error {
		merged := map[string][]int{}
		for _, p := range b.PullRequests {
			if p.Merged {
				merged[p.Repo] = append(merged[p.Repo], p.Number)
			}
		}
		unknown := map[string][]int{}
		for repo, numbers := range merged {
			known, err := r.Known(ctx, repo, numbers)
			if err != nil {
				return err
			}
			for _, n := range numbers {
				if !known[n] {
					unknown[repo] = append(unknown[repo], n)
				}
			}
		}
		if err := r.Sink.Write(ctx, b); err != nil {
			return err
		}
		if r.Learned != nil {
			for repo, ns := range unknown {
				sort.Ints(ns)
				r.Learned(repo, ns)
			}
		}
		return nil
	})
	o := r.Options
	o.Since = since
	return Run(ctx, o, r.State, sink, repos)
}

// Run reconciles until ctx ends: a round at once, then one every Every,
// each from the start of the last successful round (less Overlap); the
// first from one period back.
func (r *Reconciler) Run(ctx context.Context) error {
	if r.Every <= 0 {
		return fmt.Errorf("reconcile: Every must be positive, got %s", r.Every)
	}
	overlap := r.Overlap
	if overlap <= 0 {
		overlap = 10 * time.Minute
	}
	now := time.Now
	if r.Options.Now != nil {
		now = r.Options.Now
	}
	from := now().Add(-r.Every)
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		start := now()
		if _, err := r.Round(ctx, from.Add(-overlap)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if r.OnError != nil {
				r.OnError(err)
			}
		} else {
			from = start
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.wakeCh():
		}
	}
}
