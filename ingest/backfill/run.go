package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/changeproof/changeproof/internal/clock"
)

const perPage = 100

// Run backfills repos ("owner/name") into sink, resuming an interrupted
// run recorded in st. It returns the first error after the repositories in
// progress stop; finished work is kept in st, so calling Run again resumes.
func Run(ctx context.Context, o Options, st State, sink Sink, repos []string) (Stats, error) {
	o = o.withDefaults()
	var stats Stats
	client, tr, err := newClient(o, st, &stats)
	if err != nil {
		return stats, err
	}
	gen, resume, err := generation(ctx, st, repos, o.Since)
	if err != nil {
		return stats, err
	}
	r := &runner{o: o, st: st, sink: sink, gh: client, tr: tr, stats: &stats, gen: gen, resume: resume, repos: len(repos),
		hc: &http.Client{Transport: tr}}
	if r.gqlURL, err = graphqlURL(o.BaseURL); err != nil {
		return stats, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan string)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(o.Concurrency, max(len(repos), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for repo := range jobs {
				if err := r.repo(ctx, repo); err != nil {
					once.Do(func() { first = fmt.Errorf("backfill %s: %w", repo, err); cancel() })
				}
			}
		}()
	}
feed:
	for _, repo := range repos {
		select {
		case jobs <- repo:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return r.snapshot(), first
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = clock.Sleep
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 8
	}
	return o
}

func newClient(o Options, st State, stats *Stats) (*github.Client, *transport, error) {
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{base: base, token: o.Token, st: st, now: o.Now, sleep: o.Sleep,
		sem: make(chan struct{}, o.Concurrency), max: o.MaxRetries, remaining: -1, stats: stats}
	c := github.NewClient(&http.Client{Transport: tr})
	if o.BaseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(o.BaseURL, "/") + "/")
		if err != nil {
			return nil, nil, fmt.Errorf("backfill: base url: %w", err)
		}
		c.BaseURL = u
	}
	return c, tr, nil
}

// carry starts a new pass of a repository whose previous pass is prev
// (ok: there was one): what a finished GraphQL pass knew (HighWater and
// the merges it read) carries over when this pass reads the same details
// from a Since not earlier.
func (o Options) carry(prev Cursor, ok bool) Cursor {
	c := Cursor{Since: o.Since}
	if !ok || !prev.Done || prev.HighWater.IsZero() || prev.Reads != o.reads() || o.Since.Before(prev.Since) {
		return c
	}
	c.HighWater, c.HighWaterBranch, c.Reads = prev.HighWater, prev.HighWaterBranch, prev.Reads
	for sha, m := range prev.Merges {
		if !m.MergedAt.Before(o.Since) {
			if c.Merges == nil {
				c.Merges = map[string]Merge{}
			}
			c.Merges[sha] = m
		}
	}
	return c
}

// reads names the pull-request details a pass reads, so that a pass that
// reads more (contributors or required checks turned on) does not rely on
// one that read less.
func (o Options) reads() string {
	return fmt.Sprintf("contributors=%t checks=%q", o.Contributors, o.RequiredChecks)
}

// generation picks the pass: the unfinished one of an interrupted run with
// the same Since, else a new one.
func generation(ctx context.Context, st State, repos []string, since time.Time) (gen int, resume bool, err error) {
	top, open := 0, -1
	for _, repo := range repos {
		c, ok, err := st.Cursor(ctx, repo)
		if err != nil {
			return 0, false, fmt.Errorf("backfill: read cursor of %s: %w", repo, err)
		}
		if !ok {
			continue
		}
		top = max(top, c.Generation)
		if !c.Done && c.Since.Equal(since) {
			open = max(open, c.Generation)
		}
	}
	if open >= 0 {
		return open, true, nil
	}
	return top + 1, false, nil
}

type runner struct {
	o      Options
	st     State
	sink   Sink
	gh     *github.Client
	tr     *transport
	stats  *Stats
	gen    int
	resume bool
	repos  int
	// The GraphQL endpoint and a client through the same transport;
	// noGraphQL is set when the endpoint answered 404.
	hc        *http.Client
	gqlURL    string
	noGraphQL atomic.Bool
}

func (r *runner) add(f func(*Stats)) { r.tr.count(f) }

func (r *runner) snapshot() Stats {
	r.tr.mu.Lock()
	defer r.tr.mu.Unlock()
	return *r.stats
}

func (r *runner) progress(repo, phase string, c Cursor) {
	if r.o.Progress == nil {
		return
	}
	r.tr.mu.Lock()
	s := *r.stats
	rem, reset := r.tr.remaining, r.tr.reset
	r.tr.mu.Unlock()
	r.o.Progress(Progress{Repo: repo, Phase: phase, PRs: c.PRs, Requests: s.Requests, ReposDone: s.Repos + s.Skipped,
		Repos: r.repos, TotalPRs: s.PRs, NotModified: s.NotModified, RateRemaining: rem, RateReset: reset})
}

func (r *runner) repo(ctx context.Context, repo string) error {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		return fmt.Errorf("repository %q is not owner/name", repo)
	}
	c, ok, err := r.st.Cursor(ctx, repo)
	if err != nil {
		return err
	}
	if !ok || c.Generation != r.gen || !c.Since.Equal(r.o.Since) || !r.resume {
		c = r.o.carry(c, ok)
		c.Generation = r.gen
	}
	if c.Done {
		r.add(func(s *Stats) { s.Skipped++ })
		r.progress(repo, "done", c)
		return nil
	}
	if c.DefaultBranch == "" {
		info, _, err := r.gh.Repositories.Get(ctx, owner, name)
		if err != nil {
			return err
		}
		c.DefaultBranch = info.GetDefaultBranch()
		if c.DefaultBranch == "" {
			return errors.New("repository has no default branch")
		}
		if err := r.st.PutCursor(ctx, repo, c); err != nil {
			return err
		}
	}
	if !c.PullsDone && !r.o.RESTOnly && !r.noGraphQL.Load() {
		switch err := r.pullsGraphQL(ctx, owner, name, repo, &c); {
		case errors.Is(err, errNoGraphQL):
			r.noGraphQL.Store(true) // REST below
		case err != nil:
			return err
		default:
			c.MergersDone = true // the merger came with each pull request
		}
	}
	if !c.MergersDone {
		if err := r.mergers(ctx, owner, name, repo, &c); err != nil {
			return err
		}
	}
	if !c.PullsDone {
		if err := r.pulls(ctx, owner, name, repo, &c); err != nil {
			return err
		}
	}
	if !c.CommitsDone {
		if err := r.commits(ctx, owner, name, repo, &c); err != nil {
			return err
		}
	}
	if err := r.protection(ctx, owner, name, repo, c.DefaultBranch); err != nil {
		return err
	}
	if err := r.rulesets(ctx, owner, name, repo, c.DefaultBranch); err != nil {
		return err
	}
	c.Done = true
	if err := r.st.PutCursor(ctx, repo, c); err != nil {
		return err
	}
	r.add(func(s *Stats) { s.Repos++ })
	r.progress(repo, "done", c)
	return nil
}
