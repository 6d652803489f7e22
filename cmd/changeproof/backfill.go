package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/spf13/cobra"
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

func newBackfillCmd() *cobra.Command {
	const usage = "changeproof backfill github --since YYYY-MM-DD [--repo owner/name]... [--org org]... [--config FILE] [--data-dir DIR]"
	cmd := &cobra.Command{
		Use:   "backfill github",
		Short: "Read history from before the webhook was installed",
		Long: `Read history from the source's API into the same canonical records as the
webhooks, then judge it. Today the source is GitHub (backfill github).`,
		Example: "  changeproof backfill github --since 2026-01-01 --repo acme/payments-api",
		RunE:    needSubcommand(usage),
	}
	gh := &cobra.Command{
		Use:   "github",
		Short: "Backfill merged pull requests, reviews, pushes and branch protection from GitHub's REST API",
		Long: `Backfill from GitHub's REST API: merged pull requests, their reviews,
commits and checks, default-branch pushes and branch protection since
--since, for --repo, the in-scope repositories of --org, else of
github.orgs, else the repositories the store knows. Every REST response is
appended to the evidence log first (tamper-evident, re-derivable), and an
interrupted run resumes where it stopped; a re-run costs 304s.

On the local data dir this opens the store (the server must be stopped).
With --server (admin token) the running server does it as a job, through
its evidence log exactly as its reconciliation does; the command follows
the job's progress and prints the same summary; interrupting the command
leaves the job running (GET /v1/admin/backfill reports it). One backfill
runs at a time.`,
		Example: `  changeproof backfill github --since 2026-01-01 --repo acme/payments-api --config changeproof.yaml
  changeproof backfill github --since 2026-01-01 --org acme --config changeproof.yaml
  changeproof backfill github --since 2026-01-01 --org acme --server https://changeproof.acme.io --token $ADMIN_TOKEN`,
		Args: cobra.NoArgs,
	}
	fs := gh.Flags()
	var s source
	s.register(fs)
	var req api.BackfillRequest
	fs.StringVar(&req.Since, "since", "", "backfill changes since this day (YYYY-MM-DD, UTC), required")
	fs.StringArrayVar(&req.Repos, "repo", nil, "a repository to backfill (owner/name); repeatable")
	fs.StringArrayVar(&req.Orgs, "org", nil, "backfill the in-scope repositories of this organisation; repeatable (default: github.orgs, else the repositories the store knows)")
	fs.IntVar(&req.Concurrency, "concurrency", 4, "GitHub requests in flight at most")
	gh.RunE = run(func(*cobra.Command, []string) error { return runBackfill(&s, req) })
	cmd.AddCommand(gh)
	return cmd
}

// runBackfill is `changeproof backfill github`: history from before the
// webhook was installed, through the same canonical records, then judged;
// here on the data dir, or as the server's job with --server.
func runBackfill(s *source, req api.BackfillRequest) error {
	if _, err := req.SinceDay("--since"); err != nil {
		return err
	}
	ctx := context.Background()
	m, err := s.backfiller(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	progress := newBackfillProgress(os.Stderr)
	res, err := m.Backfill(ctx, req, func(p api.BackfillProgress) { progress.Report(backfillProgressOf(p)) })
	progress.Done()
	for _, r := range res.OutOfScope {
		fmt.Fprintf(os.Stderr, "skipping %s: not in scope.repos\n", r)
	}
	if err != nil {
		return err
	}
	fmt.Printf("backfilled %d repositories: %d merged PRs, %d reviews, %d pushes (%d direct), %d protection states; %d requests (%d answered 304, %d GraphQL queries, %d merger lookups), %d retries, %d rate-limit waits\n",
		res.Repos, res.PRs, res.Reviews, res.Pushes, res.DirectPushes, res.Protections, res.Requests,
		res.NotModified, res.GraphQLQueries, res.MergerLookups, res.Retries, res.RateWaits)
	return nil
}

// backfiller opens what backfill works on: the server (admin token), else
// the local data dir with a whole app (evidence log, pipeline, rules), as
// serve runs it.
func (s *source) backfiller(ctx context.Context) (maintenance, error) {
	r, err := s.remote("an admin")
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r, nil
	}
	cfg, err := s.load()
	if err != nil {
		return nil, err
	}
	if why := cannotBackfill(cfg); why != "" {
		return nil, errors.New(why)
	}
	// This command reads GitHub itself: a reconciliation round in the same
	// process would read the same repositories a second time.
	cfg.GitHub.ReconcileEvery = 0
	a, err := newApp(ctx, cfg, s.dataDir, zap.NewNop())
	if err != nil {
		return nil, err
	}
	s.closer = a.close
	a.startRules()
	return localMaintenance{admin: a.newAdmin(), idle: a.waitIdle}, nil
}

// cannotBackfill says why this configuration cannot backfill from GitHub;
// "" when it can.
func cannotBackfill(cfg config.Config) string {
	if _, err := newGitHubReader(cfg.GitHub); err != nil {
		return err.Error()
	}
	return ""
}

// githubBackfill runs one backfill through a's evidence log exactly as
// reconciliation does: each REST response appended to the log (or, in a
// process without a receiver, to the raw log), the records written and
// handed to the rules. It is api.Admin's Backfill, in serve and on a data
// dir alike.
func (a *app) githubBackfill(ctx context.Context, req api.BackfillRequest, progress func(api.BackfillProgress)) (api.BackfillResult, error) {
	cfg := a.cfg
	from, err := req.SinceDay("since")
	if err != nil {
		return api.BackfillResult{}, err
	}
	concurrency := req.Concurrency
	if concurrency <= 0 {
		concurrency = 4
	}
	gh, err := newGitHubReader(cfg.GitHub)
	if err != nil {
		return api.BackfillResult{}, err
	}
	// A reconciliation round under way finishes first.
	if err := lockCtx(ctx, &a.githubReads); err != nil {
		return api.BackfillResult{}, fmt.Errorf("wait for the reconciliation round: %w", err)
	}
	defer a.githubReads.Unlock()
	o := gh.options(backfill.Options{Since: from, Concurrency: concurrency,
		Progress: func(p backfill.Progress) { progress(apiProgressOf(p)) }, Contributors: cfg.Policy.ExcludeContributors,
		RequiredChecks: cfg.Policy.RequiredChecks})
	state := storeState{st: a.store, log: a.intake}
	repos, orgs := append([]string(nil), req.Repos...), req.Orgs
	if len(repos) == 0 && len(orgs) == 0 {
		orgs = cfg.GitHub.Orgs
	}
	if gh.app != nil {
		// A GitHub App reads what its installations hold (--org narrows
		// them to those accounts); discovery also routes each request to
		// its installation's token.
		installed, err := gh.installed(ctx, orgs)
		if err != nil {
			return api.BackfillResult{}, err
		}
		if len(repos) == 0 {
			repos = installed
		}
	} else {
		for _, org := range orgs {
			rs, err := backfill.OrgRepos(ctx, o, state, org)
			if err != nil {
				return api.BackfillResult{}, err
			}
			repos = append(repos, rs...)
		}
	}
	if len(repos) == 0 && gh.app == nil {
		known, err := a.store.Repos(ctx)
		if err != nil {
			return api.BackfillResult{}, err
		}
		repos = known
	}
	var res api.BackfillResult
	var inScope []string
	for _, r := range repos {
		if cfg.Scope.InScope(r) {
			inScope = append(inScope, r)
		} else {
			res.OutOfScope = append(res.OutOfScope, r)
		}
	}
	if len(inScope) == 0 {
		return res, errors.New("no in-scope repository to backfill (give --repo, and list it in scope.repos)")
	}
	st, runner, judged := a.store, a.runner, a.roles.rules
	stats, err := backfill.Run(ctx, o, state, backfill.SinkFunc(func(ctx context.Context, b model.Batch) error {
		if err := st.Write(ctx, b); err != nil {
			return err
		}
		if judged {
			runner.Notify(b.Repos()...)
		}
		return nil
	}), inScope)
	res.Repos, res.Skipped, res.PRs, res.MergerLookups = stats.Repos, stats.Skipped, stats.PRs, stats.MergerLookups
	res.Reviews, res.Pushes, res.DirectPushes, res.Protections = stats.Reviews, stats.Pushes, stats.DirectPushes, stats.Protections
	res.Requests, res.NotModified, res.Retries, res.RateWaits = stats.Requests, stats.NotModified, stats.Retries, stats.RateWaits
	res.GraphQLQueries = stats.GraphQLQueries
	return res, err
}

func apiProgressOf(p backfill.Progress) api.BackfillProgress {
	return api.BackfillProgress{Repo: p.Repo, Phase: p.Phase, PRs: p.PRs, Requests: p.Requests, ReposDone: p.ReposDone,
		Repos: p.Repos, TotalPRs: p.TotalPRs, NotModified: p.NotModified, RateRemaining: p.RateRemaining, RateReset: p.RateReset}
}

func backfillProgressOf(p api.BackfillProgress) backfill.Progress {
	return backfill.Progress{Repo: p.Repo, Phase: p.Phase, PRs: p.PRs, Requests: p.Requests, ReposDone: p.ReposDone,
		Repos: p.Repos, TotalPRs: p.TotalPRs, NotModified: p.NotModified, RateRemaining: p.RateRemaining, RateReset: p.RateReset}
}

// lockCtx locks mu, or gives up with ctx's error when ctx ends first.
func lockCtx(ctx context.Context, mu *sync.Mutex) error {
	for !mu.TryLock() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
