package githubfake

import (
	"sort"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// Deliveries returns the webhook deliveries GitHub would have sent for the
// part of r's history at or after since, in the order it happened: each
// review as submitted (a dismissed one also as submitted "approved" first,
// as GitHub sends it), each merged PR's "closed" event, and one push per
// movement of the default branch (the merge's push by its merger, a direct
// push by its committer). Branch protection is left out: the REST API has
// its current state only, not the history the webhooks carry.
func (r *Repo) Deliveries(since time.Time) []fixture.Delivery {
	type timed struct {
		at time.Time
		d  fixture.Delivery
	}
	var out []timed
	repo := fixture.Repo{FullName: r.FullName, DefaultBranch: r.Branch}
	mergers := map[string]string{}
	for _, p := range r.PRs {
		if !p.Merged || p.MergedAt.Before(since) {
			continue
		}
		merger := p.MergedBy
		if merger == "" {
			merger = p.Author
		}
		mergers[p.MergeCommitSHA] = merger
		out = append(out, timed{p.MergedAt, fixture.Delivery{Event: "pull_request", ID: fixture.DeliveryID(r.FullName + "closed" + p.MergeCommitSHA),
			Body: fixture.PullRequest("closed", p)}})
		for _, rv := range r.Reviews[p.Number] {
			id := fixture.DeliveryID(r.FullName + "review" + p.MergeCommitSHA + rv.Reviewer + rv.State)
			if rv.State == "dismissed" {
				sub := rv
				sub.State = "approved"
				out = append(out, timed{rv.SubmittedAt, fixture.Delivery{Event: "pull_request_review", ID: id + "-s",
					Body: fixture.PullRequestReview("submitted", sub)}})
				out = append(out, timed{rv.SubmittedAt.Add(time.Minute), fixture.Delivery{Event: "pull_request_review", ID: id,
					Body: fixture.PullRequestReview("dismissed", rv)}})
				continue
			}
			out = append(out, timed{rv.SubmittedAt, fixture.Delivery{Event: "pull_request_review", ID: id,
				Body: fixture.PullRequestReview("submitted", rv)}})
		}
	}
	for _, p := range r.PRs {
		if !p.Merged || p.MergedAt.Before(since) {
			continue
		}
		// Each commit of the pull request reached its head branch as a
		// push by its committer; the check results of the final head
		// arrived as check_run and status webhooks.
		before := fixture.SHA(r.FullName + "base" + p.HeadRef)
		for _, c := range r.PRCommits[p.Number] {
			e := fixture.PushEvent{Repo: repo, Ref: "refs/heads/" + p.HeadRef, Before: before, After: c.SHA, Pusher: c.Committer,
				PushedAt: c.At, Commits: []fixture.Commit{{SHA: c.SHA, Message: c.Message, Author: c.Author, Committer: c.Committer, Timestamp: c.At}}}
			out = append(out, timed{c.At, fixture.Delivery{Event: "push", ID: fixture.DeliveryID(r.FullName + "branch push" + c.SHA), Body: fixture.Push(e)}})
			before = c.SHA
		}
		for _, c := range r.CheckRuns[p.HeadSHA] {
			out = append(out, timed{c.CompletedAt, fixture.Delivery{Event: "check_run", ID: fixture.DeliveryID(r.FullName + "check" + strconv.FormatInt(c.ID, 10)),
				Body: fixture.CheckRun(c)}})
		}
		for _, st := range r.Statuses[p.HeadSHA] {
			out = append(out, timed{st.UpdatedAt, fixture.Delivery{Event: "status", ID: fixture.DeliveryID(r.FullName + "status" + strconv.FormatInt(st.ID, 10)),
				Body: fixture.Status(st)}})
		}
	}
	for _, c := range r.Commits {
		if c.At.Before(since) {
			continue
		}
		pusher, ok := mergers[c.SHA]
		if !ok {
			pusher = c.Committer
		}
		e := fixture.PushEvent{Repo: repo, Before: c.Parent, After: c.SHA, Pusher: pusher, PushedAt: c.At,
			Commits: []fixture.Commit{{SHA: c.SHA, Message: c.Message, Author: c.Author, Committer: c.Committer, Timestamp: c.At}}}
		out = append(out, timed{c.At, fixture.Delivery{Event: "push", ID: fixture.DeliveryID(r.FullName + "push" + c.SHA), Body: fixture.Push(e)}})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	ds := make([]fixture.Delivery, len(out))
	for i, t := range out {
		ds[i] = t.d
	}
	return ds
}
