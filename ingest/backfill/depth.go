package backfill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/model"
)

// The newer evidence: who contributed to each merged pull request, the
// required checks on its final head commit, and the rulesets of the
// default branch.

// depth reads, for the merged pull requests prs (whose reviews are
// reviews[i]), their commits and their final head's check results, as
// policy needs them, and returns the records: each pull request's head
// record, its commits' authors and committers, and its check results.
func (r *runner) depth(ctx context.Context, owner, name, repo string, prs []*github.PullRequest, reviews [][]model.Review, now time.Time) (model.Batch, error) {
	var b model.Batch
	contribs := make([][]model.Contribution, len(prs))
	checks := make([][]model.CheckResult, len(prs))
	errs := make([]error, len(prs))
	var wg sync.WaitGroup
	for i, p := range prs {
		n := p.GetNumber()
		if p.CreatedAt != nil {
			head := p.GetHead().GetRepo().GetFullName()
			if head == "" {
				head = repo
			}
			b.Contributions = append(b.Contributions, model.Contribution{Repo: repo, PRNumber: n, HeadRepo: head,
				HeadRef: p.GetHead().GetRef(), Login: p.GetUser().GetLogin(), How: model.ContribOpened,
				At: p.CreatedAt.UTC(), DeliveryID: fmt.Sprintf("backfill:%s#%d", repo, n), ReceivedAt: now})
		}
		wantCommits := r.o.Contributors && mayCount(reviews[i], p.GetUser().GetLogin())
		wantChecks := len(r.o.RequiredChecks) > 0 && p.GetHead().GetSHA() != ""
		if !wantCommits && !wantChecks {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wantCommits {
				contribs[i], errs[i] = r.prCommits(ctx, owner, name, repo, n, now)
				if errs[i] != nil {
					return
				}
			}
			if wantChecks {
				checks[i], errs[i] = r.headChecks(ctx, owner, name, repo, p.GetHead().GetSHA(), now)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	for i := range prs {
		b.Contributions = append(b.Contributions, contribs[i]...)
		b.Checks = append(b.Checks, checks[i]...)
	}
	return b, nil
}

// mayCount reports whether some review is an approval by someone other than
// the author: only then can a contributor's approval change a verdict, so
// only then are the pull request's commits worth a request.
func mayCount(reviews []model.Review, author string) bool {
	for _, rv := range reviews {
		if rv.State == "approved" && !strings.EqualFold(rv.Reviewer, author) {
			return true
		}
	}
	return false
}

// prCommits reads GET /pulls/{n}/commits: every commit's author and
// committer login is a contributor of the pull request.
func (r *runner) prCommits(ctx context.Context, owner, name, repo string, n int, now time.Time) ([]model.Contribution, error) {
	var out []model.Contribution
	opt := &github.ListOptions{PerPage: perPage}
	for {
		cs, resp, err := r.gh.PullRequests.ListCommits(ctx, owner, name, n, opt)
		if err != nil {
			return nil, fmt.Errorf("list commits of #%d: %w", n, err)
		}
		for _, c := range cs {
			at := c.GetCommit().GetCommitter().GetDate().Time.UTC()
			for _, who := range []struct{ login, how string }{
				{c.GetAuthor().GetLogin(), model.ContribAuthored}, {c.GetCommitter().GetLogin(), model.ContribCommitted},
			} {
				if who.login == "" {
					continue
				}
				out = append(out, model.Contribution{Repo: repo, PRNumber: n, Login: who.login, How: who.how, SHA: c.GetSHA(),
					At: at, DeliveryID: fmt.Sprintf("backfill:%s#%d:%s", repo, n, c.GetSHA()), ReceivedAt: now})
			}
		}
		r.add(func(s *Stats) { s.PRCommitLists++ })
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// headChecks reads the check runs of the final head commit and, when a
// required check is not among them, its commit statuses.
func (r *runner) headChecks(ctx context.Context, owner, name, repo, sha string, now time.Time) ([]model.CheckResult, error) {
	var out []model.CheckResult
	seen := map[string]bool{}
	opt := &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: perPage}}
	for {
		res, resp, err := r.gh.Checks.ListCheckRunsForRef(ctx, owner, name, sha, opt)
		if err != nil {
			return nil, fmt.Errorf("list check runs of %s: %w", sha, err)
		}
		for _, cr := range res.CheckRuns {
			c := model.CheckResult{Repo: repo, SHA: strings.ToLower(cr.GetHeadSHA()), Name: cr.GetName(), Kind: model.CheckKindRun,
				ID: cr.GetID(), URL: cr.GetHTMLURL(), DeliveryID: fmt.Sprintf("backfill:check_run:%d", cr.GetID()), ReceivedAt: now}
			switch {
			case cr.GetConclusion() != "" && cr.CompletedAt != nil:
				c.State, c.At = strings.ToLower(cr.GetConclusion()), cr.CompletedAt.UTC()
			case cr.StartedAt != nil:
				c.State, c.At = strings.ToLower(cr.GetStatus()), cr.StartedAt.UTC()
			default:
				continue
			}
			if c.SHA == "" {
				c.SHA = sha
			}
			seen[c.Name] = true
			out = append(out, c)
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	r.add(func(s *Stats) { s.CheckLookups++ })
	if !slices.ContainsFunc(r.o.RequiredChecks, func(n string) bool { return !seen[n] }) {
		return out, nil
	}
	st, err := r.headStatuses(ctx, owner, name, repo, sha, now)
	return append(out, st...), err
}

// headStatuses reads the commit statuses of sha (GET /commits/{sha}/status).
func (r *runner) headStatuses(ctx context.Context, owner, name, repo, sha string, now time.Time) ([]model.CheckResult, error) {
	var out []model.CheckResult
	st, _, err := r.gh.Repositories.GetCombinedStatus(ctx, owner, name, sha, &github.ListOptions{PerPage: perPage})
	if err != nil {
		return nil, fmt.Errorf("get combined status of %s: %w", sha, err)
	}
	r.add(func(s *Stats) { s.CheckLookups++ })
	for _, s := range st.Statuses {
		at := s.GetUpdatedAt().Time
		if at.IsZero() {
			at = s.GetCreatedAt().Time
		}
		out = append(out, model.CheckResult{Repo: repo, SHA: strings.ToLower(sha), Name: s.GetContext(), Kind: model.CheckKindStatus,
			State: strings.ToLower(s.GetState()), At: at.UTC(), ID: s.GetID(), URL: s.GetTargetURL(),
			DeliveryID: fmt.Sprintf("backfill:status:%d", s.GetID()), ReceivedAt: now})
	}
	return out, nil
}

// rulesets records each active branch ruleset of the repository (its own
// and those it inherits) as GET /rulesets/{id} describes it, as one CM-6
// subject: the id of its record is a hash of its state, so an unchanged
// re-run adds no subject and a changed ruleset adds one. A 403 or 404
// (token without access, rulesets unavailable) is skipped.
func (r *runner) rulesets(ctx context.Context, owner, name, repo, branch string) error {
	var list []struct {
		ID          int64  `json:"id"`
		Target      string `json:"target"`
		Enforcement string `json:"enforcement"`
	}
	if err := r.getJSON(ctx, fmt.Sprintf("repos/%s/%s/rulesets?includes_parents=true", owner, name), &list); err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil &&
			(er.Response.StatusCode == http.StatusForbidden || er.Response.StatusCode == http.StatusNotFound) {
			return nil
		}
		return fmt.Errorf("list rulesets: %w", err)
	}
	var b model.Batch
	now := r.o.Now()
	for _, s := range list {
		if (s.Target != "" && s.Target != "branch") || s.Enforcement != "active" {
			continue
		}
		var raw json.RawMessage
		if err := r.getJSON(ctx, fmt.Sprintf("repos/%s/%s/rulesets/%d?includes_parents=true", owner, name, s.ID), &raw); err != nil {
			return fmt.Errorf("get ruleset %d: %w", s.ID, err)
		}
		rs, err := enrich.ParseRuleset(raw)
		if err != nil {
			return fmt.Errorf("ruleset %d: %w", s.ID, err)
		}
		rs.Repo, rs.DefaultBranch, rs.Action, rs.ReceivedAt = repo, branch, "observed", now
		rs.Org = owner
		if rs.OccurredAt.IsZero() {
			rs.OccurredAt = now.UTC()
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%v|%v|%v|%v|%d|%v|%v", rs.Name, rs.Enforcement, rs.Include, rs.Exclude,
			rs.BypassActors, rs.RequiredApprovals, rs.DismissStale, rs.HasReviewRule))
		rs.DeliveryID = fmt.Sprintf("backfill:ruleset:%s:%d:%s", repo, rs.RulesetID, hex.EncodeToString(sum[:6]))
		b.Rulesets = append(b.Rulesets, rs)
	}
	if err := r.write(ctx, b); err != nil {
		return err
	}
	r.add(func(s *Stats) { s.Rulesets += len(b.Rulesets) })
	return nil
}

func (r *runner) getJSON(ctx context.Context, path string, v any) error {
	req, err := r.gh.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	_, err = r.gh.Do(ctx, req, v)
	return err
}
