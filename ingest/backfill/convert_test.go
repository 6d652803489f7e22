package backfill

import (
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func commit(sha, parent, committer string, at time.Time, extraParents ...string) *github.RepositoryCommit {
	c := &github.RepositoryCommit{SHA: github.String(sha), Committer: &github.User{Login: github.String(committer)},
		Author: &github.User{Login: github.String("alice")},
		Commit: &github.Commit{Message: github.String(sha), Committer: &github.CommitAuthor{Date: &github.Timestamp{Time: at}}}}
	for _, p := range append([]string{parent}, extraParents...) {
		c.Parents = append(c.Parents, &github.Commit{SHA: github.String(p)})
	}
	return c
}

// A rebase merge (three web-flow commits, one committer date) is one push,
// like the webhook's; a merge commit's second-parent branch is no change.
func TestPushGrouping(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	list := []*github.RepositoryCommit{ // newest first, as /commits lists them
		commit("m2", "r3", "web-flow", t0.Add(2*time.Hour), "f1"), // merge commit of PR 2
		commit("f1", "r3", "alice", t0.Add(90*time.Minute)),       // PR 2's branch commit
		commit("r3", "r2", "web-flow", t0.Add(time.Hour)),         // rebase merge of PR 1
		commit("r2", "r1", "web-flow", t0.Add(time.Hour)),
		commit("r1", "d1", "web-flow", t0.Add(time.Hour)),
		commit("d1", "base", "carol", t0), // direct push
	}
	merges := map[string]Merge{"r3": {Number: 1}, "m2": {Number: 2}}
	ps := pushes(list, merges, "acme/x", "main", t0)
	if len(ps) != 3 {
		t.Fatalf("%d pushes: %+v", len(ps), ps)
	}
	if ps[0].After != "d1" || ps[0].Before != "base" || ps[0].Pusher != "carol" {
		t.Errorf("direct push %+v", ps[0])
	}
	if ps[1].After != "r3" || ps[1].Before != "d1" || len(ps[1].CommitSHAs) != 3 || ps[1].CommitSHAs[0] != "r1" {
		t.Errorf("rebase merge %+v", ps[1])
	}
	if ps[2].After != "m2" || ps[2].Before != "r3" || ps[2].Pusher != "alice" {
		t.Errorf("merge %+v", ps[2])
	}
}
