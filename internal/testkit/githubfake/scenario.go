package githubfake

import (
	"fmt"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// Since is the start of every Scenario's backfill window: its history has
// a few changes before it, which a backfill from Since must not learn.
var Since = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Scenario builds a repository with merged PRs after Since (squash merges
// by web-flow; every fourth merged by "carol" rather than its author), one
// single-commit direct push by "carol" after every directEvery-th merge
// (0: none), a few closed unmerged PRs, and history from before Since.
// Reviews: an approval by "bob" on every PR, a stale "changes requested"
// by "erin" on every 7th, a dismissed approval by "dave" on every 10th; every
// 11th is approved only by its author (a self-approval).
func Scenario(full string, merged, directEvery int) *Repo {
	repo := fixture.Repo{FullName: full, DefaultBranch: "main"}
	r := &Repo{FullName: full, Branch: "main", Reviews: map[int][]fixture.ReviewEvent{}, Protected: true,
		PRCommits: map[int][]Commit{}, CheckRuns: map[string][]fixture.CheckRunEvent{}, Statuses: map[string][]fixture.StatusEvent{},
		Rulesets: []fixture.RulesetEvent{{Repo: repo, Action: "created", ID: 42, Name: "main protection",
			Review:    &fixture.ReviewRule{RequiredApprovals: 1, DismissStale: true},
			Bypass:    []fixture.BypassActor{{Type: "RepositoryRole", ID: 5}},
			UpdatedAt: Since.Add(-24 * time.Hour)}}}
	var chain []Commit // oldest first
	parent := fixture.SHA(full + "root")
	add := func(c Commit) {
		c.Parent = parent
		chain = append(chain, c)
		parent = c.SHA
	}
	// History before Since: two old PRs.
	for i := 1; i <= 2; i++ {
		at := Since.Add(-time.Duration(48*i) * time.Hour)
		p := fixture.PR{Repo: repo, Number: 9000 + i, Author: "alice", Title: "old", HeadRef: "old", HeadSHA: fixture.SHA(fmt.Sprint(full, "oh", i)),
			MergeCommitSHA: fixture.SHA(fmt.Sprint(full, "om", i)), Merged: true, CreatedAt: at.Add(-time.Hour), MergedAt: at}
		r.PRs = append(r.PRs, p)
		add(Commit{SHA: p.MergeCommitSHA, Message: "old", Author: "alice", Committer: "web-flow", At: at})
	}
	for i := 1; i <= merged; i++ {
		at := Since.Add(time.Duration(i) * time.Hour)
		n := i
		p := fixture.PR{Repo: repo, Number: n, Author: "alice", Title: fmt.Sprintf("LEDGER-%d change %d", i, i),
			Body: "body", HeadRef: fmt.Sprintf("feature-%d", i), HeadSHA: fixture.SHA(fmt.Sprint(full, "h", i)),
			MergeCommitSHA: fixture.SHA(fmt.Sprint(full, "m", i)), Merged: true, CreatedAt: at.Add(-2 * time.Hour), MergedAt: at}
		if i%4 == 0 {
			p.MergedBy = "carol"
		}
		if i%9 == 0 {
			p.Labels = []string{"hotfix", "backend"}
		}
		r.PRs = append(r.PRs, p)
		approver := "bob"
		if i%11 == 0 {
			approver = "alice"
		}
		rv := []fixture.ReviewEvent{{PR: p, ReviewID: int64(100000 + i), Reviewer: approver, State: "approved", SubmittedAt: at.Add(-time.Hour)}}
		if i%7 == 0 {
			rv = append(rv, fixture.ReviewEvent{PR: p, ReviewID: int64(200000 + i), Reviewer: "erin", State: "changes_requested",
				CommitID: fixture.SHA(fmt.Sprint("old", i)), SubmittedAt: at.Add(-90 * time.Minute)})
		}
		if i%10 == 0 {
			rv = append(rv, fixture.ReviewEvent{PR: p, ReviewID: int64(300000 + i), Reviewer: "dave", State: "dismissed", SubmittedAt: at.Add(-80 * time.Minute)})
		}
		r.Reviews[n] = rv
		// The pull request's commits: alice's, and on every fifth (not
		// tenth, whose dismissed review the REST API tells differently)
		// bob's fix-up as the final head, pushed before he approves: his
		// approval then does not count, he is a contributor.
		created := p.CreatedAt
		if i%5 == 0 && i%10 != 0 {
			r.PRCommits[n] = []Commit{
				{SHA: fixture.SHA(fmt.Sprint(full, "c", i)), Message: "work", Author: "alice", Committer: "alice", At: created.Add(10 * time.Minute)},
				{SHA: p.HeadSHA, Message: "fix-up", Author: "bob", Committer: "bob", At: created.Add(30 * time.Minute)},
			}
		} else {
			r.PRCommits[n] = []Commit{{SHA: p.HeadSHA, Message: "work", Author: "alice", Committer: "alice", At: created.Add(10 * time.Minute)}}
		}
		// ci/test on the final head: a check run (failed on every sixth),
		// or on every eighth a commit status.
		done := at.Add(-30 * time.Minute)
		if i%8 == 0 {
			r.Statuses[p.HeadSHA] = []fixture.StatusEvent{{Repo: repo, ID: int64(400000 + i), SHA: p.HeadSHA, Context: "ci/test",
				State: "success", UpdatedAt: done}}
		} else {
			conclusion := "success"
			if i%6 == 0 {
				conclusion = "failure"
			}
			r.CheckRuns[p.HeadSHA] = []fixture.CheckRunEvent{{Repo: repo, ID: int64(500000 + i), Name: "ci/test", HeadSHA: p.HeadSHA,
				Conclusion: conclusion, StartedAt: done.Add(-5 * time.Minute), CompletedAt: done}}
		}
		add(Commit{SHA: p.MergeCommitSHA, Message: p.Title + fmt.Sprintf(" (#%d)", n), Author: "alice", Committer: "web-flow", At: at})
		if directEvery > 0 && i%directEvery == 0 {
			add(Commit{SHA: fixture.SHA(fmt.Sprint(full, "d", i)), Message: fmt.Sprintf("hotfix %d", i), Author: "carol", Committer: "carol",
				At: at.Add(30 * time.Minute)})
		}
	}
	for i := 1; i <= 5; i++ { // closed without merging
		at := Since.Add(time.Duration(i*7) * time.Hour)
		r.PRs = append(r.PRs, fixture.PR{Repo: repo, Number: 5000 + i, Author: "mallory", Title: "abandoned", HeadRef: "x",
			HeadSHA: fixture.SHA(fmt.Sprint(full, "x", i)), CreatedAt: at.Add(-time.Hour), ClosedAt: at})
	}
	for i := len(chain) - 1; i >= 0; i-- {
		r.Commits = append(r.Commits, chain[i])
	}
	return r
}
