package change

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
)

// MergedSnapshot reports whether a snapshot of a pull request records its
// merge into its repository's default branch: the only snapshots a change
// is made of. A store may read only these.
func MergedSnapshot(pr model.PullRequest) bool {
	return pr.Merged && pr.Action == "closed" && pr.BaseRef == pr.DefaultBranch
}

// MovesDefaultBranch reports whether a push moved its repository's default
// branch: a push to refs/heads/<default branch> that neither created nor
// deleted it. These pushes are the default-branch chain; a store may read
// only these.
func MovesDefaultBranch(p model.Push) bool {
	branch, ok := strings.CutPrefix(p.Ref, "refs/heads/")
	return ok && branch == p.DefaultBranch && !p.Created && !p.Deleted
}

// FromPullRequest is the change a merged pull request makes, with its
// review events (oldest first).
func FromPullRequest(pr model.PullRequest, reviews []model.Review) model.Change {
	return model.Change{
		Subject: fmt.Sprintf("%s#%d", pr.Repo, pr.Number), Kind: model.KindPullRequest, Repo: pr.Repo,
		OccurredAt: pr.MergedAt, URL: pr.URL, Number: pr.Number, Author: pr.Author, MergedBy: pr.MergedBy,
		Title: pr.Title, Body: pr.Body, HeadRef: pr.HeadRef, HeadSHA: pr.HeadSHA, MergeCommitSHA: pr.MergeCommitSHA,
		Labels: pr.Labels, Reviews: reviews,
	}
}

// FromPush is the change a direct push makes.
func FromPush(p model.Push) model.Change {
	return model.Change{
		Subject: p.Repo + "@" + p.After, Kind: model.KindDirectPush, Repo: p.Repo, OccurredAt: p.PushedAt,
		URL: p.URL, SHA: p.After, Before: p.Before, Pusher: p.Pusher, Messages: p.Messages,
	}
}

// Derive sets ev's Changes, Pushes (the default-branch chain) and
// MergeCommits from ev.Records, the rows of ev.Repo (rows of another
// repository are ignored): the merged pull requests by number, each with
// its reviews, contributors and check results, then the direct pushes by
// time and commit. It reads Records only and may be called again with the
// same result. A nil ev is left alone.
func Derive(ev *model.RepoEvidence) {
	if ev == nil {
		return
	}
	rec := &ev.Records
	prs := mergedPullRequests(rec.PullRequests, ev.Repo)
	reviews := reviewsByNumber(rec.Reviews, ev.Repo)
	checks := checksBySHA(rec.Checks, ev.Repo)
	ev.MergeCommits = make(map[string]int, len(prs))
	ev.Changes = nil
	for _, pr := range prs {
		ev.MergeCommits[pr.MergeCommitSHA] = pr.Number
		ev.Changes = append(ev.Changes, mergedChange(pr, reviews[pr.Number], rec.Contributions, checks))
	}
	ev.Pushes = chain(rec.Pushes, ev.Repo)
	for _, i := range directPushes(ev.Pushes, func(sha string) bool { _, ok := ev.MergeCommits[sha]; return ok }) {
		ev.Changes = append(ev.Changes, FromPush(ev.Pushes[i]))
	}
}

// mergedChange is pr's change with what Derive binds to it: its reviews,
// its contributors and the check results of its head commit (checks by
// SHA, of pr's repository). Derive and Lookup both build a merged pull
// request's change here, so that a change looked up for a bundle or a
// sample is the change that was judged.
func mergedChange(pr model.PullRequest, reviews []model.Review, contributions []model.Contribution,
	checks map[string][]model.CheckResult) model.Change {
	c := FromPullRequest(pr, reviews)
	c.Contributors = Contributors(contributions, c.Repo, c.Number, c.HeadRef, c.Author, c.OccurredAt)
	c.Checks = checks[c.HeadSHA]
	return c
}

// mergedPullRequests returns, of the snapshots prs of repo ("" = any),
// each pull request's first-received merged snapshot (ties: the lower
// delivery id), by repository and number.
func mergedPullRequests(prs []model.PullRequest, repo string) []model.PullRequest {
	var merged []model.PullRequest
	for _, pr := range prs {
		if MergedSnapshot(pr) && (repo == "" || pr.Repo == repo) {
			merged = append(merged, pr)
		}
	}
	slices.SortFunc(merged, func(a, b model.PullRequest) int {
		if c := cmp.Compare(a.Repo, b.Repo); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Number, b.Number); c != 0 {
			return c
		}
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.DeliveryID, b.DeliveryID)
	})
	return slices.CompactFunc(merged, func(a, b model.PullRequest) bool { return a.Repo == b.Repo && a.Number == b.Number })
}

// compareReviews orders a pull request's review events: by submission,
// review, a dismissal after the review it dismisses, then delivery.
func compareReviews(a, b model.Review) int {
	if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ReviewID, b.ReviewID); c != 0 {
		return c
	}
	if c := cmp.Compare(boolRank(a.Action == "dismissed"), boolRank(b.Action == "dismissed")); c != 0 {
		return c
	}
	return cmp.Compare(a.DeliveryID, b.DeliveryID)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reviewsByNumber groups the review events of repo by pull request, each
// group in compareReviews order.
func reviewsByNumber(rs []model.Review, repo string) map[int][]model.Review {
	return groupSorted(rs, func(r model.Review) (int, bool) { return r.PRNumber, r.Repo == repo }, compareReviews)
}

// compareChecks orders the check results of a commit: by time, name, kind
// and state.
func compareChecks(a, b model.CheckResult) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.State, b.State)
}

// checksBySHA groups the check results of repo by commit, each group in
// compareChecks order.
func checksBySHA(cs []model.CheckResult, repo string) map[string][]model.CheckResult {
	return groupSorted(cs, func(c model.CheckResult) (string, bool) { return c.SHA, c.Repo == repo }, compareChecks)
}

// groupSorted groups the xs that key keeps by their key, each group sorted
// stably by compare.
func groupSorted[K comparable, T any](xs []T, key func(T) (K, bool), compare func(a, b T) int) map[K][]T {
	out := map[K][]T{}
	for _, x := range xs {
		if k, ok := key(x); ok {
			out[k] = append(out[k], x)
		}
	}
	for _, g := range out {
		slices.SortStableFunc(g, compare)
	}
	return out
}

// comparePushes orders a default-branch chain: by time, receipt, then the
// push's key, so the order never depends on how rows were read.
func comparePushes(a, b model.Push) int {
	if c := a.PushedAt.Compare(b.PushedAt); c != 0 {
		return c
	}
	if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.After, b.After); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Before, b.Before); c != 0 {
		return c
	}
	return cmp.Compare(a.Ref, b.Ref)
}

// chain returns the pushes of repo that moved its default branch, in
// comparePushes order; nil when there are none.
func chain(ps []model.Push, repo string) []model.Push {
	var out []model.Push
	for _, p := range ps {
		if p.Repo == repo && MovesDefaultBranch(p) {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, comparePushes)
	return out
}

// directPushes returns the indexes in chain (one repository's, in
// comparePushes order) of its direct pushes: of the pushes to each commit
// that is not a merge commit, the first received (ties: the first in the
// chain), ordered by time and commit.
func directPushes(chain []model.Push, mergeCommit func(sha string) bool) []int {
	first := map[string]int{} // after -> index in chain
	var direct []int
	for i, p := range chain {
		if mergeCommit(p.After) {
			continue
		}
		if j, seen := first[p.After]; !seen {
			first[p.After] = i
			direct = append(direct, i)
		} else if p.ReceivedAt.Before(chain[j].ReceivedAt) {
			first[p.After] = i
			direct[slices.Index(direct, j)] = i
		}
	}
	slices.SortStableFunc(direct, func(a, b int) int {
		x, y := chain[a], chain[b]
		if c := x.PushedAt.Compare(y.PushedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.After, y.After)
	})
	return direct
}
