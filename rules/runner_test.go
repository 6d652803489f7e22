package rules_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// countingStore counts evidence reads by repository.
type countingStore struct {
	rules.Store
	mu    sync.Mutex
	reads map[string]int
}

func (s *countingStore) RepoEvidence(ctx context.Context, repo string) (*model.RepoEvidence, error) {
	s.mu.Lock()
	s.reads[repo]++
	s.mu.Unlock()
	return s.Store.RepoEvidence(ctx, repo)
}

func (s *countingStore) RepoEvidences(ctx context.Context, repos []string) (map[string]*model.RepoEvidence, error) {
	s.mu.Lock()
	for _, repo := range repos {
		s.reads[repo]++
	}
	s.mu.Unlock()
	return s.Store.RepoEvidences(ctx, repos)
}

func (s *countingStore) count(repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[repo]
}

// TestTickJudgesWhatTimeChanges: between full evaluations, the periodic
// round judges again the repository whose emergency window is open when
// the window ends (its deadline), not before, and leaves the others alone.
func TestTickJudgesWhatTimeChanges(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	emergency := model.PullRequest{Repo: "acme/hot", Number: 1, DeliveryID: "hot", Action: "closed", State: "closed", Merged: true,
		MergedAt: t0, MergeCommitSHA: mrg, HeadSHA: head, BaseRef: "main", DefaultBranch: "main", Author: "alice",
		MergedBy: "alice", Title: "PAY-1", Labels: []string{"hotfix"}}
	calm := selfApprovedPR()
	calm.PullRequests[0].Repo, calm.Reviews[0].Repo = "acme/calm", "acme/calm"
	if err := st.Write(ctx, model.Batch{PullRequests: append([]model.PullRequest{emergency}, calm.PullRequests...), Reviews: calm.Reviews}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := t0.Add(time.Hour)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cs := &countingStore{Store: st, reads: map[string]int{}}
	ev := &rules.Evaluator{Controls: rules.Builtin(), Env: func() control.Env { return control.Env{Policy: control.DefaultPolicy()} },
		Store: cs, Now: clock}
	r := &rules.Runner{Eval: ev, Repos: st.Repos, Interval: 20 * time.Millisecond, Debounce: -1, MaxDelay: time.Millisecond}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	outcome := func() model.Outcome {
		fs, err := st.Findings(ctx, store.FindingQuery{Rule: "CM-2", Subject: "acme/hot#1"})
		if err != nil || len(fs) != 1 {
			return ""
		}
		return fs[0].Outcome
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the pending verdict", func() bool { return outcome() == model.Pending })
	if got := ev.TimedRepos(); len(got) != 1 || got[0] != "acme/hot" {
		t.Fatalf("timed repositories = %q", got)
	}
	calmReads := cs.count("acme/calm")
	hotReads := cs.count("acme/hot")
	time.Sleep(10 * r.Interval) // rounds over the open window
	if n := cs.count("acme/hot"); n != hotReads {
		t.Errorf("acme/hot was read %d more times before its window closed", n-hotReads)
	}

	mu.Lock()
	now = t0.Add(73 * time.Hour) // the 72h window has closed
	mu.Unlock()
	waitFor("the window to close", func() bool { return outcome() == model.Fail })
	if len(ev.TimedRepos()) != 0 {
		t.Errorf("still timed: %q", ev.TimedRepos())
	}
	if n := cs.count("acme/calm"); n != calmReads {
		t.Errorf("acme/calm, with nothing time can change, was read %d more times", n-calmReads)
	}
}

// TestNotifyOrgs: an organisation-level change has every in-scope
// repository of that organisation judged again (matched without regard to
// case), and no other.
func TestNotifyOrgs(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	var b model.Batch
	for _, repo := range []string{"acme/a", "acme/b", "acme/sandbox", "other/c"} {
		pr := selfApprovedPR()
		pr.PullRequests[0].Repo, pr.Reviews[0].Repo = repo, repo
		b.PullRequests, b.Reviews = append(b.PullRequests, pr.PullRequests...), append(b.Reviews, pr.Reviews...)
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st, reads: map[string]int{}}
	ev := &rules.Evaluator{Controls: rules.Builtin(), Env: func() control.Env { return control.Env{Policy: control.DefaultPolicy()} },
		Store: cs, Now: func() time.Time { return t0.Add(time.Hour) }}
	r := &rules.Runner{Eval: ev, Repos: st.Repos, InScope: func(repo string) bool { return repo != "acme/sandbox" },
		Interval: time.Hour, Debounce: -1, MaxDelay: time.Millisecond}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); cs.count("acme/a") == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no first evaluation")
		}
	}
	if err := r.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	before := map[string]int{}
	for _, repo := range []string{"acme/a", "acme/b", "acme/sandbox", "other/c"} {
		before[repo] = cs.count(repo)
	}
	r.NotifyOrgs("ACME")
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := r.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]int{"acme/a": 1, "acme/b": 1, "acme/sandbox": 0, "other/c": 0} {
		if got := cs.count(repo) - before[repo]; got != want {
			t.Errorf("%s judged %d more times, want %d", repo, got, want)
		}
	}
}
