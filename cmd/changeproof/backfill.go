package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
)

// storeState keeps backfill's ETag cache and cursors in the store, so a
// re-run costs 304s and an interrupted run resumes.
type storeState struct {
	st *store.Store
	// log takes the REST responses into the evidence log; nil in a
	// process without a receiver (a rules process elsewhere), which
	// writes them to the raw log itself.
	log ingest.Log
}

func (s storeState) ETag(ctx context.Context, url string) (string, []byte, bool, error) {
	return s.st.GitHubETag(ctx, url)
}

// PutETag stores the validator and body for conditional requests, after
// appending the response to the evidence log (source "github-rest",
// delivery id "rest:<url>@<etag>", body: the Link header line, then the
// response body as GitHub sent it), so that what a backfill learned is as
// tamper-evident as a webhook delivery and can be re-derived. A response
// already logged under that id is a duplicate with no effect; an unchanged
// re-run answers 304 and logs nothing.
func (s storeState) PutETag(ctx context.Context, url, etag string, body []byte) error {
	if err := s.logResponse(ctx, "rest", "rest:"+url+"@"+etag, body); err != nil {
		return fmt.Errorf("log GitHub response %s: %w", url, err)
	}
	return s.st.PutGitHubETag(ctx, url, etag, body)
}

// LogResponse implements backfill.ResponseLog: a GraphQL response (GraphQL
// has no ETag, so no cache) goes to the evidence log like a REST one,
// source "github-rest", event "graphql", body: the request line, then the
// response as GitHub sent it; the id names the request and a hash of the
// response, so an identical re-run logs a duplicate with no effect.
func (s storeState) LogResponse(ctx context.Context, id string, body []byte) error {
	return s.logResponse(ctx, "graphql", id, body)
}

func (s storeState) logResponse(ctx context.Context, event, id string, body []byte) error {
	sum := sha256.Sum256(body)
	d := model.Delivery{Source: model.SourceGitHubREST, Event: event, DeliveryID: id, ReceivedAt: time.Now().UTC(),
		SHA256: hex.EncodeToString(sum[:]), Body: body}
	if s.log != nil {
		// A conflict (another body under the same id) is kept by the
		// pipeline as evidence of the attempt.
		_, err := s.log.Append(ctx, []model.Delivery{d})
		return err
	}
	known, err := s.st.KnownSHA(ctx, d.Source, []string{d.DeliveryID})
	if err != nil {
		return err
	}
	if _, ok := known[d.DeliveryID]; !ok {
		return s.st.Write(ctx, model.Batch{Deliveries: []model.Delivery{d}})
	}
	return nil
}

func (s storeState) Cursor(ctx context.Context, repo string) (backfill.Cursor, bool, error) {
	var c backfill.Cursor
	raw, ok, err := s.st.BackfillCursor(ctx, repo)
	if err != nil || !ok {
		return c, false, err
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return c, false, fmt.Errorf("backfill cursor of %s: %w", repo, err)
	}
	return c, true, nil
}

func (s storeState) PutCursor(ctx context.Context, repo string, c backfill.Cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.st.PutBackfillCursor(ctx, repo, string(b))
}

type repoList []string

func (r *repoList) String() string     { return fmt.Sprint(*r) }
func (r *repoList) Set(v string) error { *r = append(*r, v); return nil }

// runBackfill is `changeproof backfill github`: history from before the
// webhook was installed, through the same canonical records, then judged.
func runBackfill(args []string) error {
	if len(args) == 0 || args[0] != "github" {
		return errors.New("usage: changeproof backfill github --since YYYY-MM-DD [--repo owner/name]... [--org org]... [--config FILE] [--data-dir DIR]")
	}
	fs := flag.NewFlagSet("backfill github", flag.ContinueOnError)
	var c common
	c.register(fs)
	since := fs.String("since", "", "backfill changes since this day (YYYY-MM-DD, UTC), required")
	var repos repoList
	fs.Var(&repos, "repo", "a repository to backfill (owner/name); repeatable")
	var orgs repoList
	fs.Var(&orgs, "org", "backfill the in-scope repositories of this organisation; repeatable (default: github.orgs, else the repositories the store knows)")
	concurrency := fs.Int("concurrency", 4, "GitHub requests in flight at most")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *since == "" {
		return errors.New("--since: required")
	}
	from, err := time.Parse("2006-01-02", *since)
	if err != nil {
		return fmt.Errorf("--since: want YYYY-MM-DD, got %q", *since)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	gh, err := newGitHubReader(cfg.GitHub)
	if err != nil {
		return err
	}
	ctx := context.Background()
	// This command reads GitHub itself: a reconciliation round in the same
	// process would read the same repositories a second time.
	cfg.GitHub.ReconcileEvery = 0
	a, err := newApp(ctx, cfg, c.dataDir, zap.NewNop())
	if err != nil {
		return err
	}
	defer a.close()
	a.startRules()
	progress := newBackfillProgress(os.Stderr)
	o := gh.options(backfill.Options{Since: from, Concurrency: *concurrency,
		Progress: progress.Report, Contributors: cfg.Policy.ExcludeContributors, RequiredChecks: cfg.Policy.RequiredChecks})
	state := storeState{st: a.store, log: a.intake}
	if len(repos) == 0 && len(orgs) == 0 {
		orgs = cfg.GitHub.Orgs
	}
	if gh.app != nil {
		// A GitHub App reads what its installations hold (--org narrows
		// them to those accounts); discovery also routes each request to
		// its installation's token.
		installed, err := gh.installed(ctx, orgs)
		if err != nil {
			return err
		}
		if len(repos) == 0 {
			repos = installed
		}
	} else {
		for _, org := range orgs {
			rs, err := backfill.OrgRepos(ctx, o, state, org)
			if err != nil {
				return err
			}
			repos = append(repos, rs...)
		}
	}
	if len(repos) == 0 && gh.app == nil {
		known, err := a.store.Repos(ctx)
		if err != nil {
			return err
		}
		repos = known
	}
	var inScope []string
	for _, r := range repos {
		if cfg.Scope.InScope(r) {
			inScope = append(inScope, r)
		} else {
			fmt.Fprintf(os.Stderr, "skipping %s: not in scope.repos\n", r)
		}
	}
	if len(inScope) == 0 {
		return errors.New("no in-scope repository to backfill (give --repo, and list it in scope.repos)")
	}
	stats, err := backfill.Run(ctx, o, state, backfill.SinkFunc(func(ctx context.Context, b model.Batch) error {
		if err := a.store.Write(ctx, b); err != nil {
			return err
		}
		a.runner.Notify(b.Repos()...)
		return nil
	}), inScope)
	progress.Done()
	if werr := a.waitIdle(ctx); err == nil {
		err = werr
	}
	fmt.Printf("backfilled %d repositories: %d merged PRs, %d reviews, %d pushes (%d direct), %d protection states; %d requests (%d answered 304, %d GraphQL queries, %d merger lookups), %d retries, %d rate-limit waits\n",
		stats.Repos, stats.PRs, stats.Reviews, stats.Pushes, stats.DirectPushes, stats.Protections, stats.Requests,
		stats.NotModified, stats.GraphQLQueries, stats.MergerLookups, stats.Retries, stats.RateWaits)
	return err
}
