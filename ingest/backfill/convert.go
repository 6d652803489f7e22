package backfill

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/changeproof/changeproof/model"
)

// prRecord maps a pull-request list item as enrich maps a "closed" webhook.
func prRecord(p *github.PullRequest, repo, defaultBranch string, now time.Time) model.PullRequest {
	pr := model.PullRequest{Repo: repo, Number: p.GetNumber(), DeliveryID: fmt.Sprintf("backfill:%s#%d", repo, p.GetNumber()),
		Action: "closed", State: p.GetState(), Merged: p.MergedAt != nil, MergeCommitSHA: p.GetMergeCommitSHA(),
		HeadSHA: p.GetHead().GetSHA(), HeadRef: p.GetHead().GetRef(), BaseRef: p.GetBase().GetRef(),
		DefaultBranch: defaultBranch, Author: p.GetUser().GetLogin(), MergedBy: p.GetMergedBy().GetLogin(),
		Title: p.GetTitle(), Body: p.GetBody(), URL: p.GetHTMLURL(), Labels: []string{}, ReceivedAt: now}
	if p.MergedAt != nil {
		pr.MergedAt = p.MergedAt.UTC()
	}
	if p.UpdatedAt != nil {
		pr.UpdatedAt = p.UpdatedAt.UTC()
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	return pr
}

// reviewRecord maps a review as enrich maps pull_request_review; ok is
// false for a pending review (no submitted_at), which webhooks never send.
func reviewRecord(r *github.PullRequestReview, repo string, number int, now time.Time) (model.Review, bool) {
	if r.SubmittedAt == nil || r.GetID() == 0 || r.User == nil {
		return model.Review{}, false
	}
	rv := model.Review{Repo: repo, PRNumber: number, ReviewID: r.GetID(), DeliveryID: fmt.Sprintf("backfill:review:%d", r.GetID()),
		Action: "submitted", Reviewer: r.GetUser().GetLogin(), State: strings.ToLower(r.GetState()),
		CommitID: r.GetCommitID(), SubmittedAt: r.SubmittedAt.UTC(), URL: r.GetHTMLURL(), ReceivedAt: now}
	if rv.State == "dismissed" {
		rv.Action = "dismissed"
	}
	return rv, rv.State != "pending"
}

// protectionRecord maps GET .../protection (nil: branch not protected) to
// the record a branch_protection_rule "edited" webhook with those settings
// produces.
func protectionRecord(p *github.Protection, repo, branch string, now time.Time) model.ProtectionEvent {
	ev := model.ProtectionEvent{Repo: repo, Action: "edited", RuleName: branch, ReviewEnforcement: "off",
		OccurredAt: now.UTC(), ReceivedAt: now}
	if p != nil {
		ev.AdminEnforced = p.GetEnforceAdmins().Enabled
		if rr := p.GetRequiredPullRequestReviews(); rr != nil {
			// The REST object cannot say "non_admins" vs "everyone" other
			// than through enforce_admins, which is what the level means.
			ev.ReviewEnforcement = "non_admins"
			if ev.AdminEnforced {
				ev.ReviewEnforcement = "everyone"
			}
			ev.RequiredApprovals = rr.RequiredApprovingReviewCount
			ev.DismissStale = rr.DismissStaleReviews
		}
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%t|%t", ev.RuleName, ev.ReviewEnforcement, ev.RequiredApprovals,
		ev.DismissStale, ev.AdminEnforced))
	ev.DeliveryID = fmt.Sprintf("backfill:protection:%s:%s", repo, hex.EncodeToString(h[:8]))
	return ev
}

// pushes turns the default-branch commits (newest first, as listed) into
// one push per movement of the branch along its first-parent chain. Commits
// not on that chain came from merged branches and are not changes.
func pushes(commits []*github.RepositoryCommit, merges map[string]Merge, repo, branch string, now time.Time) []model.Push {
	if len(commits) == 0 {
		return nil
	}
	bySHA := make(map[string]*github.RepositoryCommit, len(commits))
	for _, c := range commits {
		bySHA[c.GetSHA()] = c
	}
	var chain []*github.RepositoryCommit // newest first
	for c := commits[0]; c != nil; {
		chain = append(chain, c)
		if len(c.Parents) == 0 {
			break
		}
		c = bySHA[c.Parents[0].GetSHA()]
	}
	var out []model.Push
	for i := 0; i < len(chain); {
		head := chain[i]
		group := []*github.RepositoryCommit{head}
		i++
		if _, isMerge := merges[head.GetSHA()]; isMerge && isWebFlow(head) {
			// A rebase merge: GitHub re-commits the PR's commits with one
			// committer date; they moved the branch in one push.
			at := committedAt(head)
			for i < len(chain) && isWebFlow(chain[i]) && committedAt(chain[i]).Equal(at) {
				if _, other := merges[chain[i].GetSHA()]; other {
					break
				}
				group = append(group, chain[i])
				i++
			}
		}
		p := pushRecord(group, repo, branch, now)
		if m, ok := merges[head.GetSHA()]; ok && m.MergedBy != "" {
			p.Pusher = m.MergedBy // merged on GitHub: the merger moved the branch
		}
		out = append(out, p)
	}
	// Oldest first, like the chain the controls read.
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out
}

// pushRecord builds one push from a group of chain commits, newest first.
func pushRecord(group []*github.RepositoryCommit, repo, branch string, now time.Time) model.Push {
	head, oldest := group[0], group[len(group)-1]
	p := model.Push{Repo: repo, Ref: "refs/heads/" + branch, After: head.GetSHA(), DefaultBranch: branch,
		DeliveryID: "backfill:push:" + head.GetSHA(), PushedAt: committedAt(head), URL: head.GetHTMLURL(), ReceivedAt: now}
	if len(oldest.Parents) > 0 {
		p.Before = oldest.Parents[0].GetSHA()
		// The push webhook's "compare" link, which the webhook path stores.
		if base, _, ok := strings.Cut(p.URL, "/commit/"); ok && len(p.Before) >= 12 && len(p.After) >= 12 {
			p.URL = base + "/compare/" + p.Before[:12] + "..." + p.After[:12]
		}
	}
	p.Pusher = head.GetCommitter().GetLogin()
	if p.Pusher == "" || p.Pusher == "web-flow" {
		p.Pusher = head.GetAuthor().GetLogin()
	}
	for k := len(group) - 1; k >= 0; k-- {
		p.CommitSHAs = append(p.CommitSHAs, group[k].GetSHA())
		p.Messages = append(p.Messages, group[k].GetCommit().GetMessage())
	}
	return p
}

func isWebFlow(c *github.RepositoryCommit) bool { return c.GetCommitter().GetLogin() == "web-flow" }

func committedAt(c *github.RepositoryCommit) time.Time {
	if d := c.GetCommit().GetCommitter().Date; d != nil {
		return d.UTC()
	}
	if d := c.GetCommit().GetAuthor().Date; d != nil {
		return d.UTC()
	}
	return time.Time{}
}
