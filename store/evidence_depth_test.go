package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"

	"github.com/changeproof/changeproof/rules/change"
)

// TestDepthEvidence: contributions bind to the pull request whose head
// branch they pushed while it was open, whatever order they were written
// in; check results of the final head commit and the repository's and its
// organisation's rulesets come with the evidence, on both read paths.
func TestDepthEvidence(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	head := sha("head")
	pr := model.PullRequest{Repo: "acme/ledger", Number: 7, DeliveryID: "close", Action: "closed", State: "closed", Merged: true,
		MergedAt: at(60), MergeCommitSHA: sha("merge"), HeadSHA: head, HeadRef: "feature", BaseRef: "main", DefaultBranch: "main",
		Author: "alice", Labels: []string{}, ReceivedAt: at(61)}
	contrib := func(n int, ref, login, how, s string, min int, id string) model.Contribution {
		return model.Contribution{Repo: "acme/ledger", PRNumber: n, HeadRef: ref, Login: login, How: how, SHA: s, At: at(min),
			DeliveryID: id, ReceivedAt: at(min)}
	}
	opened := contrib(7, "feature", "alice", model.ContribOpened, "", 0, "open")
	opened.HeadRepo = "acme/ledger"
	// Written first: pushes to the branch, before the pull request is known.
	early := model.Batch{Contributions: []model.Contribution{
		contrib(0, "feature", "bob", model.ContribPushed, head, 30, "push-1"),
		contrib(0, "feature", "bob", model.ContribAuthored, sha("b1"), 30, "push-1"),
		contrib(0, "feature", "dave", model.ContribPushed, sha("old"), -10, "push-0"),    // before the PR opened
		contrib(0, "feature", "erin", model.ContribPushed, sha("late"), 90, "push-9"),    // after the merge
		contrib(0, "other", "frank", model.ContribPushed, sha("o"), 30, "push-2"),        // another branch
		contrib(0, "feature", "alice", model.ContribPushed, sha("a"), 20, "push-3"),      // the author
		contrib(7, "feature", "grace[bot]", model.ContribPushed, sha("u"), 40, "sync-1"), // synchronize sender
	}, Checks: []model.CheckResult{
		{Repo: "acme/ledger", SHA: head, Name: "ci/test", Kind: model.CheckKindRun, State: "failure", At: at(50), ID: 1, DeliveryID: "cr-1", ReceivedAt: at(50)},
		{Repo: "acme/ledger", SHA: sha("other"), Name: "ci/test", Kind: model.CheckKindRun, State: "success", At: at(50), ID: 2, DeliveryID: "cr-2", ReceivedAt: at(50)},
	}, Rulesets: []model.RulesetEvent{
		{Repo: "acme/ledger", Org: "acme", RulesetID: 42, DeliveryID: "rs-1", Action: "edited", Name: "main protection",
			Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}, BypassActors: []string{"RepositoryRole:5"}, OccurredAt: at(5), ReceivedAt: at(5)},
		{Org: "acme", RulesetID: 7, DeliveryID: "rs-2", Action: "created", Name: "org", Include: []string{}, Exclude: []string{},
			BypassActors: []string{}, OccurredAt: at(6), ReceivedAt: at(6)},
		{Org: "other", RulesetID: 8, DeliveryID: "rs-3", Action: "created", Name: "elsewhere", Include: []string{}, Exclude: []string{},
			BypassActors: []string{}, OccurredAt: at(7), ReceivedAt: at(7)},
	}}
	if err := s.Write(ctx, early); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, model.Batch{PullRequests: []model.PullRequest{pr}, Contributions: []model.Contribution{opened}}); err != nil {
		t.Fatal(err)
	}
	want := []model.Contributor{{Login: "bob", How: model.ContribAuthored, SHA: sha("b1")},
		{Login: "grace[bot]", How: model.ContribPushed, SHA: sha("u")}}
	for name, st := range map[string]*store.Store{"rowbinary": s, "json": store.New(jsonOnlyDB{storetest.DB(s)})} {
		ev, err := st.RepoEvidence(ctx, "acme/ledger")
		if err != nil {
			t.Fatal(err)
		}
		change.Derive(ev)
		if len(ev.Changes) != 1 {
			t.Fatalf("%s: changes %+v", name, ev.Changes)
		}
		c := ev.Changes[0]
		if !reflect.DeepEqual(c.Contributors, want) {
			t.Errorf("%s: contributors %+v, want %+v", name, c.Contributors, want)
		}
		if len(c.Checks) != 1 || c.Checks[0].State != "failure" || !c.Checks[0].At.Equal(at(50)) {
			t.Errorf("%s: checks %+v", name, c.Checks)
		}
		var ids []int64
		for _, r := range ev.Rulesets {
			ids = append(ids, r.RulesetID)
		}
		if !reflect.DeepEqual(ids, []int64{42, 7}) || !reflect.DeepEqual(ev.Rulesets[0].BypassActors, []string{"RepositoryRole:5"}) {
			t.Errorf("%s: rulesets %+v", name, ev.Rulesets)
		}
	}
	// The evidence bundle's reader agrees.
	key := model.ChangeKey{Repo: "acme/ledger", Number: 7}
	rec, err := s.ChangeRecordsOf(ctx, []model.ChangeKey{key})
	if err != nil {
		t.Fatal(err)
	}
	chs := change.Lookup(rec, []model.ChangeKey{key})
	if c := chs[key]; !reflect.DeepEqual(c.Contributors, want) || len(c.Checks) != 1 {
		t.Errorf("bundle change: contributors %+v checks %+v", c.Contributors, c.Checks)
	}
}
