package backfill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/model"
)

// The shapes of pullsQuery's answer (encoding/json matches the schema's
// camelCase names to these fields case-insensitively).
type (
	gqlActor struct {
		Typename string `json:"__typename"`
		Login    string `json:"login"`
	}
	gqlConn[T any] struct {
		TotalCount int `json:"totalCount"`
		Nodes      []T `json:"nodes"`
	}
	gqlPR struct {
		Number                               int
		Title, Body, URL                     string
		CreatedAt, UpdatedAt, MergedAt       *time.Time
		BaseRefName, HeadRefName, HeadRefOid string
		HeadRepository                       *struct{ NameWithOwner string }
		Author, MergedBy                     *gqlActor
		MergeCommit                          *struct{ Oid string }
		Labels                               gqlConn[struct{ Name string }]
		Reviews                              gqlConn[gqlReview]
		Commits                              *gqlConn[struct{ Commit gqlCommit }]
		HeadCommit                           *gqlConn[struct{ Commit gqlHead }]
	}
	gqlReview struct {
		FullDatabaseID string `json:"fullDatabaseId"` // BigInt: a string
		State, URL     string
		SubmittedAt    *time.Time
		Author         *gqlActor
		Commit         *struct{ Oid string }
	}
	gqlGitActor struct {
		Email string
		User  *struct{ Login string }
	}
	gqlCommit struct {
		Oid               string
		CommittedDate     *time.Time
		Author, Committer *gqlGitActor
	}
	gqlHead struct {
		Oid         string
		Status      *struct{ State string }
		CheckSuites gqlConn[struct{ CheckRuns gqlConn[gqlRun] }]
	}
	gqlRun struct {
		DatabaseID               int64 `json:"databaseId"`
		Name, Status, Conclusion string
		StartedAt, CompletedAt   *time.Time
		URL                      string
	}
	gqlPullsData struct {
		Repository *struct {
			PullRequests struct {
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
				Nodes []gqlPR
			}
		}
	}
)

// login is the REST login of an actor: GraphQL names a bot "dependabot"
// where REST and webhooks say "dependabot[bot]"; a deleted account (null)
// is REST's "ghost".
func (a *gqlActor) login() string {
	switch {
	case a == nil:
		return "ghost"
	case a.Typename == "Bot" && !strings.HasSuffix(a.Login, "[bot]"):
		return a.Login + "[bot]"
	}
	return a.Login
}

// login is the REST login of a commit's author or committer. GraphQL's
// GitActor.user is a User, so it is null for a bot; REST and webhooks name
// the bot that committed under its noreply address
// ("49699333+dependabot[bot]@users.noreply.github.com" is dependabot[bot]),
// so that address gives the same login here. Any other unmatched address
// is no account, as over REST.
func (g *gqlGitActor) login() string {
	switch {
	case g == nil:
		return ""
	case g.User != nil:
		return g.User.Login
	}
	return botLogin(g.Email)
}

// botLogin is the bot account a GitHub noreply address names
// ("<id>+<login>[bot]@users.noreply.github.com"), or "".
func botLogin(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 || !strings.EqualFold(email[at+1:], "users.noreply.github.com") {
		return ""
	}
	local := email[:at]
	if _, rest, found := strings.Cut(local, "+"); found {
		local = rest
	}
	if !strings.HasSuffix(local, "[bot]") || len(local) == len("[bot]") {
		return ""
	}
	return local
}

// pullsGraphQL is the pulls phase over GraphQL: page by page, newest update
// first, each page written and then recorded in the cursor (c.After), like
// the REST phase. The merger comes with each pull request, so the issue
// events are not read. Read over REST instead, per pull request: reviews
// or commits beyond the first 100, check runs beyond what one query holds
// (20 suites of 50 runs) or of a head the query did not return, and the
// commit statuses of a head that has some when a required check is not
// among its check runs.
func (r *runner) pullsGraphQL(ctx context.Context, owner, name, repo string, c *Cursor) error {
	if c.HighWaterBranch != c.DefaultBranch || c.Reads != r.o.reads() {
		// The default branch changed, or what the carried pass read: start over.
		c.HighWater, c.Newest, c.Merges = time.Time{}, time.Time{}, nil
	}
	if c.Merges == nil {
		c.Merges = map[string]Merge{}
	}
	c.HighWaterBranch, c.Reads = c.DefaultBranch, r.o.reads()
	// Pull requests updated before bound were read by the previous pass as
	// they are now (see Cursor.HighWater).
	bound := r.o.Since
	if hw := c.HighWater.Add(-highWaterOverlap); hw.After(bound) {
		bound = hw
	}
	for {
		first := graphqlPage
		if bound.After(r.o.Since) && c.After == "" {
			first = graphqlRerunPage
		}
		vars := map[string]any{"owner": owner, "name": name, "base": c.DefaultBranch, "first": first, "after": nil,
			"commits": r.o.Contributors, "checks": len(r.o.RequiredChecks) > 0}
		if c.After != "" {
			vars["after"] = c.After
		}
		var data gqlPullsData
		if err := r.graphql(ctx, gqlRequest{Query: pullsQuery, OperationName: PullsOperation, Variables: vars}, &data); err != nil {
			return fmt.Errorf("query merged pull requests: %w", err)
		}
		if data.Repository == nil {
			return fmt.Errorf("query merged pull requests: repository %s not found", repo)
		}
		c.MergersDone = true // the merger comes with each pull request
		prs := data.Repository.PullRequests
		now := r.o.Now()
		stop := false
		newest := c.Newest
		var merged []gqlPR
		for _, p := range prs.Nodes {
			if p.UpdatedAt != nil && p.UpdatedAt.Before(bound) {
				stop = true // sorted by update: everything after is older
				break
			}
			if p.UpdatedAt != nil && p.UpdatedAt.After(newest) {
				newest = *p.UpdatedAt
			}
			if p.MergedAt == nil || p.MergedAt.Before(r.o.Since) || p.BaseRefName != c.DefaultBranch {
				continue
			}
			if p.Number <= 0 {
				return fmt.Errorf("query merged pull requests: a merged pull request without a number (merged %s)", p.MergedAt.UTC().Format(time.RFC3339))
			}
			merged = append(merged, p)
		}
		b, err := r.gqlRecords(ctx, owner, name, repo, c.DefaultBranch, merged, now)
		if err != nil {
			return err
		}
		if err := r.write(ctx, b); err != nil {
			return err
		}
		for _, p := range b.PullRequests {
			if p.MergeCommitSHA != "" {
				c.Merges[p.MergeCommitSHA] = Merge{Number: p.Number, MergedAt: p.MergedAt, MergedBy: p.MergedBy}
			}
		}
		c.PRs += len(merged)
		c.Newest = newest
		r.add(func(s *Stats) { s.PRs += len(merged); s.Reviews += len(b.Reviews) })
		if stop || !prs.PageInfo.HasNextPage || prs.PageInfo.EndCursor == "" {
			c.PullsDone = true
			if c.Newest.After(c.HighWater) {
				c.HighWater = c.Newest
			}
		} else {
			c.After = prs.PageInfo.EndCursor
		}
		if err := r.st.PutCursor(ctx, repo, *c); err != nil {
			return err
		}
		r.progress(repo, "pulls", *c)
		if c.PullsDone {
			return nil
		}
	}
}

// gqlRecords turns a page of merged pull requests into the records the
// REST phase writes for them (the same ids and fields), reading over REST
// what the page does not hold.
func (r *runner) gqlRecords(ctx context.Context, owner, name, repo, branch string, prs []gqlPR, now time.Time) (model.Batch, error) {
	type out struct {
		reviews  []model.Review
		contribs []model.Contribution
		checks   []model.CheckResult
		err      error
	}
	res := make([]out, len(prs))
	var wg sync.WaitGroup
	for i, p := range prs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &res[i]
			o.reviews, o.err = r.gqlReviews(ctx, owner, name, repo, p, now)
			if o.err == nil && r.o.Contributors {
				o.contribs, o.err = r.gqlCommits(ctx, owner, name, repo, p, o.reviews, now)
			}
			if o.err == nil && len(r.o.RequiredChecks) > 0 && p.HeadRefOid != "" {
				o.checks, o.err = r.gqlChecks(ctx, owner, name, repo, p, now)
			}
		}()
	}
	wg.Wait()
	var b model.Batch
	var errs []error
	for i, p := range prs {
		if res[i].err != nil {
			errs = append(errs, fmt.Errorf("#%d: %w", p.Number, res[i].err))
			continue
		}
		b.PullRequests = append(b.PullRequests, gqlPRRecord(p, repo, branch, now))
		b.Reviews = append(b.Reviews, res[i].reviews...)
		if p.CreatedAt != nil {
			head := repo
			if p.HeadRepository != nil && p.HeadRepository.NameWithOwner != "" {
				head = p.HeadRepository.NameWithOwner
			}
			b.Contributions = append(b.Contributions, model.Contribution{Repo: repo, PRNumber: p.Number, HeadRepo: head,
				HeadRef: p.HeadRefName, Login: p.Author.login(), How: model.ContribOpened, At: p.CreatedAt.UTC(),
				DeliveryID: fmt.Sprintf("backfill:%s#%d", repo, p.Number), ReceivedAt: now})
		}
	}
	for i := range prs {
		b.Contributions = append(b.Contributions, res[i].contribs...)
		b.Checks = append(b.Checks, res[i].checks...)
	}
	if err := b.CheckTimes(); err != nil { // as enrich holds webhook times
		errs = append(errs, err)
	}
	return b, errors.Join(errs...)
}

// gqlPRRecord maps a pull request as prRecord maps a REST list item.
func gqlPRRecord(p gqlPR, repo, branch string, now time.Time) model.PullRequest {
	pr := model.PullRequest{Repo: repo, Number: p.Number, DeliveryID: fmt.Sprintf("backfill:%s#%d", repo, p.Number),
		Action: "closed", State: "closed", Merged: p.MergedAt != nil, HeadSHA: p.HeadRefOid, HeadRef: p.HeadRefName,
		BaseRef: p.BaseRefName, DefaultBranch: branch, Author: p.Author.login(), Title: p.Title, Body: p.Body, URL: p.URL,
		Labels: []string{}, ReceivedAt: now}
	if p.MergeCommit != nil {
		pr.MergeCommitSHA = p.MergeCommit.Oid
	}
	if p.MergedAt != nil {
		pr.MergedAt = p.MergedAt.UTC()
		pr.MergedBy = p.MergedBy.login()
	}
	if p.UpdatedAt != nil {
		pr.UpdatedAt = p.UpdatedAt.UTC()
	}
	for _, l := range p.Labels.Nodes {
		pr.Labels = append(pr.Labels, l.Name)
	}
	return pr
}

// gqlReviews maps the reviews as reviewRecord maps REST reviews, or reads
// them over REST when there are more than the query holds.
func (r *runner) gqlReviews(ctx context.Context, owner, name, repo string, p gqlPR, now time.Time) ([]model.Review, error) {
	if p.Reviews.TotalCount > len(p.Reviews.Nodes) {
		r.add(func(s *Stats) { s.RESTFallbacks++ })
		return r.prReviews(ctx, owner, name, repo, p.Number, now)
	}
	return gqlReviewRecords(repo, p, now), nil
}

// gqlReviewRecords maps the reviews the query returned.
func gqlReviewRecords(repo string, p gqlPR, now time.Time) []model.Review {
	var out []model.Review
	for _, rv := range p.Reviews.Nodes {
		id, err := strconv.ParseInt(rv.FullDatabaseID, 10, 64)
		if rv.SubmittedAt == nil || err != nil || id == 0 {
			continue // pending, or no REST id
		}
		rec := model.Review{Repo: repo, PRNumber: p.Number, ReviewID: id, DeliveryID: fmt.Sprintf("backfill:review:%d", id),
			Action: "submitted", Reviewer: rv.Author.login(), State: strings.ToLower(rv.State), SubmittedAt: rv.SubmittedAt.UTC(),
			URL: rv.URL, ReceivedAt: now}
		if rv.Commit != nil {
			rec.CommitID = rv.Commit.Oid
		}
		if rec.State == "dismissed" {
			rec.Action = "dismissed"
		}
		if rec.State != "pending" {
			out = append(out, rec)
		}
	}
	return out
}

// gqlCommits maps the pull request's commits as prCommits maps REST's,
// and, as the REST path, only when an approval by someone other than the
// author could count (so both paths write the same records); beyond 100
// commits they are read over REST.
func (r *runner) gqlCommits(ctx context.Context, owner, name, repo string, p gqlPR, reviews []model.Review, now time.Time) ([]model.Contribution, error) {
	if p.Commits == nil || !mayCount(reviews, p.Author.login()) {
		return nil, nil
	}
	if p.Commits.TotalCount > len(p.Commits.Nodes) {
		r.add(func(s *Stats) { s.RESTFallbacks++ })
		return r.prCommits(ctx, owner, name, repo, p.Number, now)
	}
	return gqlCommitRecords(repo, p, now), nil
}

// gqlCommitRecords maps the commits the query returned.
func gqlCommitRecords(repo string, p gqlPR, now time.Time) []model.Contribution {
	if p.Commits == nil {
		return nil
	}
	var out []model.Contribution
	for _, n := range p.Commits.Nodes {
		c := n.Commit
		var at time.Time
		if c.CommittedDate != nil {
			at = c.CommittedDate.UTC()
		}
		for _, who := range []struct{ login, how string }{
			{c.Author.login(), model.ContribAuthored}, {c.Committer.login(), model.ContribCommitted},
		} {
			if who.login == "" {
				continue
			}
			out = append(out, model.Contribution{Repo: repo, PRNumber: p.Number, Login: who.login, How: who.how, SHA: c.Oid,
				At: at, DeliveryID: fmt.Sprintf("backfill:%s#%d:%s", repo, p.Number, c.Oid), ReceivedAt: now})
		}
	}
	return out
}

// gqlChecks maps the final head's check runs as headChecks maps REST's,
// then reads the head's commit statuses over REST when it has some and a
// required check is not among the runs. When the query did not return the
// head (its last commit is not headRefOid) or truncated its runs, the
// whole lookup is REST's.
func (r *runner) gqlChecks(ctx context.Context, owner, name, repo string, p gqlPR, now time.Time) ([]model.CheckResult, error) {
	sha := strings.ToLower(p.HeadRefOid)
	var head *gqlHead
	if p.HeadCommit != nil && len(p.HeadCommit.Nodes) == 1 && strings.EqualFold(p.HeadCommit.Nodes[0].Commit.Oid, sha) {
		head = &p.HeadCommit.Nodes[0].Commit
	}
	if head == nil || head.CheckSuites.TotalCount > len(head.CheckSuites.Nodes) ||
		slices.ContainsFunc(head.CheckSuites.Nodes, func(s struct{ CheckRuns gqlConn[gqlRun] }) bool {
			return s.CheckRuns.TotalCount > len(s.CheckRuns.Nodes)
		}) {
		r.add(func(s *Stats) { s.RESTFallbacks++ })
		return r.headChecks(ctx, owner, name, repo, p.HeadRefOid, now)
	}
	out, seen := gqlRunRecords(repo, sha, head, now)
	if head.Status == nil || !slices.ContainsFunc(r.o.RequiredChecks, func(n string) bool { return !seen[n] }) {
		return out, nil
	}
	st, err := r.headStatuses(ctx, owner, name, repo, p.HeadRefOid, now)
	return append(out, st...), err
}

// gqlRunRecords maps the check runs of head (commit sha) the query
// returned; seen holds their names.
func gqlRunRecords(repo, sha string, head *gqlHead, now time.Time) (out []model.CheckResult, seen map[string]bool) {
	seen = map[string]bool{}
	for _, s := range head.CheckSuites.Nodes {
		for _, cr := range s.CheckRuns.Nodes {
			c := model.CheckResult{Repo: repo, SHA: sha, Name: cr.Name, Kind: model.CheckKindRun, ID: cr.DatabaseID, URL: cr.URL,
				DeliveryID: fmt.Sprintf("backfill:check_run:%d", cr.DatabaseID), ReceivedAt: now}
			switch {
			case cr.Conclusion != "" && cr.CompletedAt != nil:
				c.State, c.At = strings.ToLower(cr.Conclusion), cr.CompletedAt.UTC()
			case cr.StartedAt != nil:
				c.State, c.At = strings.ToLower(cr.Status), cr.StartedAt.UTC()
			default:
				continue
			}
			seen[c.Name] = true
			out = append(out, c)
		}
	}
	return out, seen
}
