package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/changeproof/changeproof/model"
)

// pulls reads the merged PRs page by page, newest update first, with their
// reviews; each page is written and then recorded in the cursor, so a
// resumed run starts at the first unfinished page.
func (r *runner) pulls(ctx context.Context, owner, name, repo string, c *Cursor) error {
	if c.Merges == nil {
		c.Merges = map[string]Merge{}
	}
	page := max(c.NextPage, 1)
	for {
		opt := &github.PullRequestListOptions{State: "closed", Base: c.DefaultBranch, Sort: "updated", Direction: "desc",
			ListOptions: github.ListOptions{Page: page, PerPage: perPage}}
		prs, resp, err := r.gh.PullRequests.List(ctx, owner, name, opt)
		if err != nil {
			return err
		}
		now := r.o.Now()
		stop := false
		var merged []*github.PullRequest
		for _, p := range prs {
			if p.UpdatedAt != nil && p.UpdatedAt.Before(r.o.Since) {
				stop = true // sorted by update: everything after is older
				break
			}
			if p.MergedAt == nil || p.MergedAt.Before(r.o.Since) || p.GetBase().GetRef() != c.DefaultBranch {
				continue
			}
			merged = append(merged, p)
		}
		var b model.Batch
		reviews, err := r.reviews(ctx, owner, name, repo, merged, now)
		if err != nil {
			return err
		}
		if err := r.lookupMergers(ctx, owner, name, merged, c); err != nil {
			return err
		}
		depth, err := r.depth(ctx, owner, name, repo, merged, reviews, now)
		if err != nil {
			return err
		}
		b.Contributions, b.Checks = depth.Contributions, depth.Checks
		for i, p := range merged {
			rec := prRecord(p, repo, c.DefaultBranch, now)
			if rec.MergedBy == "" {
				rec.MergedBy = c.Mergers[p.GetNumber()]
			}
			b.PullRequests = append(b.PullRequests, rec)
			b.Reviews = append(b.Reviews, reviews[i]...)
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
		r.add(func(s *Stats) { s.PRs += len(merged); s.Reviews += len(b.Reviews) })
		if stop || resp.NextPage == 0 {
			c.PullsDone = true
		} else {
			page = resp.NextPage
			c.NextPage = page
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

// mergers reads who merged each PR from the repository's issue events
// ("merged" events; their actor is the merger), newest first, until a
// page ends before Since: the pull-request list omits merged_by, and
// fetching every PR would double the cost per PR, while a page of 100
// events covers many PRs.
func (r *runner) mergers(ctx context.Context, owner, name, repo string, c *Cursor) error {
	if c.Mergers == nil {
		c.Mergers = map[int]string{}
	}
	opt := &github.ListOptions{PerPage: perPage}
	for {
		evs, resp, err := r.gh.Issues.ListRepositoryEvents(ctx, owner, name, opt)
		if err != nil {
			return fmt.Errorf("list issue events: %w", err)
		}
		older := len(evs) > 0
		for _, e := range evs {
			at := e.GetCreatedAt().Time
			if at.Before(r.o.Since) {
				continue
			}
			older = false
			n := e.GetIssue().GetNumber()
			if e.GetEvent() == "merged" && n != 0 && e.GetActor().GetLogin() != "" {
				if _, seen := c.Mergers[n]; !seen { // newest first: keep the latest merge
					c.Mergers[n] = e.GetActor().GetLogin()
				}
			}
		}
		if older || resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	c.MergersDone = true
	if err := r.st.PutCursor(ctx, repo, *c); err != nil {
		return err
	}
	r.progress(repo, "mergers", *c)
	return nil
}

// lookupMergers reads, one request each, the merged PRs of prs whose merger
// the issue events did not name (an event list cut short, a deleted event).
func (r *runner) lookupMergers(ctx context.Context, owner, name string, prs []*github.PullRequest, c *Cursor) error {
	if c.Mergers == nil {
		c.Mergers = map[int]string{}
	}
	for _, p := range prs {
		n := p.GetNumber()
		if p.GetMergedBy().GetLogin() != "" || c.Mergers[n] != "" {
			continue
		}
		full, _, err := r.gh.PullRequests.Get(ctx, owner, name, n)
		if err != nil {
			return fmt.Errorf("get pull request #%d: %w", n, err)
		}
		if login := full.GetMergedBy().GetLogin(); login != "" {
			c.Mergers[n] = login
		}
		r.add(func(s *Stats) { s.MergerLookups++ })
	}
	return nil
}

// reviews fetches the reviews of prs concurrently (the transport caps
// requests in flight); out[i] belongs to prs[i].
func (r *runner) reviews(ctx context.Context, owner, name, repo string, prs []*github.PullRequest, now time.Time) ([][]model.Review, error) {
	out := make([][]model.Review, len(prs))
	errs := make([]error, len(prs))
	var wg sync.WaitGroup
	for i, p := range prs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = r.prReviews(ctx, owner, name, repo, p.GetNumber(), now)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (r *runner) prReviews(ctx context.Context, owner, name, repo string, n int, now time.Time) ([]model.Review, error) {
	var out []model.Review
	opt := &github.ListOptions{PerPage: perPage}
	for {
		rs, resp, err := r.gh.PullRequests.ListReviews(ctx, owner, name, n, opt)
		if err != nil {
			return nil, err
		}
		for _, rv := range rs {
			if rec, ok := reviewRecord(rv, repo, n, now); ok {
				out = append(out, rec)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// commits reads the default branch's history since Since and writes one
// push per movement of the branch.
func (r *runner) commits(ctx context.Context, owner, name, repo string, c *Cursor) error {
	var all []*github.RepositoryCommit
	// The listing asks from the start of Since's UTC day: reconciliation
	// moves Since every round, and a listing URL that changed every round
	// never matched its stored ETag, so an unchanged history cost a full
	// listing per repository each time. The day's commits before Since are
	// dropped below, so what is written is what Since asks for.
	since := r.o.Since.UTC().Truncate(24 * time.Hour)
	opt := &github.CommitsListOptions{SHA: c.DefaultBranch, Since: since, ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		cs, resp, err := r.gh.Repositories.ListCommits(ctx, owner, name, opt)
		if err != nil {
			var er *github.ErrorResponse
			if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusConflict {
				break // empty repository
			}
			return err
		}
		for _, rc := range cs {
			if !rc.GetCommit().GetCommitter().GetDate().Time.Before(r.o.Since) {
				all = append(all, rc)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	ps := pushes(all, c.Merges, repo, c.DefaultBranch, r.o.Now())
	direct := 0
	for _, p := range ps {
		if _, ok := c.Merges[p.After]; !ok {
			direct++
		}
	}
	if err := r.write(ctx, model.Batch{Pushes: ps}); err != nil {
		return err
	}
	r.add(func(s *Stats) { s.Pushes += len(ps); s.DirectPushes += direct })
	c.CommitsDone = true
	if err := r.st.PutCursor(ctx, repo, *c); err != nil {
		return err
	}
	r.progress(repo, "commits", *c)
	return nil
}

// protection records the default branch's protection as a CM-6 subject.
// The list of protected branches comes first: it carries an ETag, so an
// unchanged re-run costs a 304 where the protection probe of an unprotected
// branch would cost a 404 every time. Only a protected default branch is
// probed. A 404 there means "not protected"; a 403 (token without admin
// rights) is skipped.
func (r *runner) protection(ctx context.Context, owner, name, repo, branch string) error {
	protected, err := r.protectedBranch(ctx, owner, name, branch)
	if err != nil {
		return err
	}
	var p *github.Protection
	if protected {
		p, _, err = r.gh.Repositories.GetBranchProtection(ctx, owner, name, branch)
	}
	var er *github.ErrorResponse
	switch {
	case errors.Is(err, github.ErrBranchNotProtected):
		p = nil
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden:
		return nil
	case err != nil:
		return err
	}
	ev := protectionRecord(p, repo, branch, r.o.Now())
	if err := r.write(ctx, model.Batch{Protections: []model.ProtectionEvent{ev}}); err != nil {
		return err
	}
	r.add(func(s *Stats) { s.Protections++ })
	return nil
}

// protectedBranch reports whether branch is among the repository's
// protected branches (GET /branches?protected=true, paged).
func (r *runner) protectedBranch(ctx context.Context, owner, name, branch string) (bool, error) {
	opt := &github.BranchListOptions{Protected: github.Bool(true), ListOptions: github.ListOptions{PerPage: 100}}
	for {
		bs, resp, err := r.gh.Repositories.ListBranches(ctx, owner, name, opt)
		if err != nil {
			return false, fmt.Errorf("list protected branches of %s/%s: %w", owner, name, err)
		}
		for _, b := range bs {
			if b.GetName() == branch {
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			return false, nil
		}
		opt.Page = resp.NextPage
	}
}

func (r *runner) write(ctx context.Context, b model.Batch) error {
	if len(b.PullRequests)+len(b.Reviews)+len(b.Pushes)+len(b.Protections)+len(b.Contributions)+len(b.Checks)+len(b.Rulesets) == 0 || r.sink == nil {
		return nil
	}
	return r.sink.Write(ctx, b)
}
