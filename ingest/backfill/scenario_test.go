package backfill

import (
	"fmt"
	"time"

	"github.com/changeproof/changeproof/internal/fixture"
)

var (
	since = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now0  = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

// scenario builds a repository with merged PRs after since (squash merges
// by web-flow), one direct push after every directEvery-th merge, a few
// closed unmerged PRs, and history from before since.
func scenario(full string, merged, directEvery int) *fakeRepo {
	r := &fakeRepo{full: full, branch: "main", reviews: map[int][]fixture.ReviewEvent{}, protected: true}
	repo := fixture.Repo{FullName: full, DefaultBranch: "main"}
	var chain []fakeCommit // oldest first
	parent := fixture.SHA(full + "root")
	add := func(c fakeCommit) {
		c.parent = parent
		chain = append(chain, c)
		parent = c.sha
	}
	// History before since: two old PRs and an old direct push.
	for i := 1; i <= 2; i++ {
		at := since.Add(-time.Duration(48*i) * time.Hour)
		p := fixture.PR{Repo: repo, Number: 9000 + i, Author: "alice", Title: "old", HeadRef: "old", HeadSHA: fixture.SHA(fmt.Sprint(full, "oh", i)),
			MergeCommitSHA: fixture.SHA(fmt.Sprint(full, "om", i)), Merged: true, CreatedAt: at.Add(-time.Hour), MergedAt: at}
		r.prs = append(r.prs, p)
		add(fakeCommit{sha: p.MergeCommitSHA, message: "old", author: "alice", committer: "web-flow", at: at})
	}
	for i := 1; i <= merged; i++ {
		at := since.Add(time.Duration(i) * time.Hour)
		n := i
		p := fixture.PR{Repo: repo, Number: n, Author: "alice", Title: fmt.Sprintf("LEDGER-%d change %d", i, i),
			Body: "body", HeadRef: fmt.Sprintf("feature-%d", i), HeadSHA: fixture.SHA(fmt.Sprint(full, "h", i)),
			MergeCommitSHA: fixture.SHA(fmt.Sprint(full, "m", i)), Merged: true, CreatedAt: at.Add(-2 * time.Hour), MergedAt: at}
		if i%9 == 0 {
			p.Labels = []string{"hotfix", "backend"}
		}
		r.prs = append(r.prs, p)
		rv := []fixture.ReviewEvent{{PR: p, ReviewID: int64(100000 + i), Reviewer: "bob", State: "approved", SubmittedAt: at.Add(-time.Hour)}}
		if i%7 == 0 {
			rv = append(rv, fixture.ReviewEvent{PR: p, ReviewID: int64(200000 + i), Reviewer: "erin", State: "changes_requested",
				CommitID: fixture.SHA(fmt.Sprint("old", i)), SubmittedAt: at.Add(-90 * time.Minute)})
		}
		if i%10 == 0 {
			rv = append(rv, fixture.ReviewEvent{PR: p, ReviewID: int64(300000 + i), Reviewer: "dave", State: "dismissed", SubmittedAt: at.Add(-80 * time.Minute)})
		}
		r.reviews[n] = rv
		add(fakeCommit{sha: p.MergeCommitSHA, message: p.Title + fmt.Sprintf(" (#%d)", n), author: "alice", committer: "web-flow", at: at})
		if directEvery > 0 && i%directEvery == 0 {
			add(fakeCommit{sha: fixture.SHA(fmt.Sprint(full, "d", i)), message: fmt.Sprintf("hotfix %d", i), author: "carol", committer: "carol",
				at: at.Add(30 * time.Minute)})
		}
	}
	for i := 1; i <= 5; i++ { // closed without merging
		at := since.Add(time.Duration(i*7) * time.Hour)
		r.prs = append(r.prs, fixture.PR{Repo: repo, Number: 5000 + i, Author: "mallory", Title: "abandoned", HeadRef: "x",
			HeadSHA: fixture.SHA(fmt.Sprint(full, "x", i)), CreatedAt: at.Add(-time.Hour), ClosedAt: at})
	}
	for i := len(chain) - 1; i >= 0; i-- {
		r.commits = append(r.commits, chain[i])
	}
	return r
}
