package rules_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// digestRig is a store of scaleHistory's repositories and scaleAccess's
// events, judged by a runner whose configuration, waivers and clock the
// test moves, counting what each full evaluation reads.
type digestRig struct {
	t       *testing.T
	st      *store.Store
	cs      *countingStore
	runner  *rules.Runner
	mu      sync.Mutex
	env     control.Env
	waivers []model.Waiver
	now     time.Time
}

func newDigestRig(t *testing.T) *digestRig {
	ctx := context.Background()
	g := &digestRig{t: t, st: storetest.Open(t), env: scaleEnv(at(100)), now: at(60 * 24)}
	if err := g.st.Write(ctx, scaleHistory()); err != nil {
		t.Fatal(err)
	}
	if err := g.st.WriteAccess(ctx, scaleAccess()); err != nil {
		t.Fatal(err)
	}
	g.cs = &countingStore{Store: g.st, reads: map[string]int{}}
	ev := &rules.Evaluator{Controls: rules.Builtin(), AccessControls: rules.BuiltinAccess(), Store: g.cs,
		Env:     func() control.Env { g.mu.Lock(); defer g.mu.Unlock(); return g.env },
		Waivers: func() []model.Waiver { g.mu.Lock(); defer g.mu.Unlock(); return g.waivers },
		Now:     func() time.Time { g.mu.Lock(); defer g.mu.Unlock(); return g.now }}
	g.runner = &rules.Runner{Eval: ev, Repos: g.st.Repos, AccessSystems: g.st.AccessSystems, AccessPage: g.st.AccessEvents,
		BatchChanges: 40, Workers: 2}
	return g
}

// full runs a full evaluation and returns the repositories it read.
func (g *digestRig) full() (rules.FullReport, map[string]int) {
	g.t.Helper()
	g.cs.mu.Lock()
	g.cs.reads = map[string]int{}
	g.cs.mu.Unlock()
	rep, err := g.runner.Full(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	g.cs.mu.Lock()
	defer g.cs.mu.Unlock()
	return rep, g.cs.reads
}

func (g *digestRig) set(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn()
}

func (g *digestRig) expectJudged(what string, repos ...string) rules.FullReport {
	g.t.Helper()
	rep, reads := g.full()
	if rep.Judged != len(repos) || len(reads) != len(repos) {
		g.t.Fatalf("%s: judged %d repositories, read %v; want %q", what, rep.Judged, reads, repos)
	}
	for _, r := range repos {
		if reads[r] == 0 {
			g.t.Fatalf("%s: %s not read (read %v)", what, r, reads)
		}
	}
	return rep
}

// TestDigestSkipsUnchangedRepository: a second full evaluation with
// nothing changed reads no repository's evidence and judges no access
// system; one new review has its repository, and only it, judged again.
func TestDigestSkipsUnchangedRepository(t *testing.T) {
	g := newDigestRig(t)
	rep := g.expectJudged("from nothing", "acme/r0", "acme/r1", "acme/r2")
	if rep.Judges != rep.Systems || rep.Systems == 0 {
		t.Fatalf("from nothing: %d of %d access systems judged", rep.Judges, rep.Systems)
	}
	rep = g.expectJudged("nothing changed")
	if rep.Judges != 0 || rep.Changed != 0 {
		t.Fatalf("nothing changed: %d access systems judged, %d verdicts recorded", rep.Judges, rep.Changed)
	}
	// A new review of acme/r1#1 (dismissing nothing, approving late).
	rv := model.Review{Repo: "acme/r1", PRNumber: 1, ReviewID: 777, DeliveryID: "late-review", Action: "submitted",
		Reviewer: "bob", State: "changes_requested", CommitID: "x", SubmittedAt: at(20)}
	if err := g.st.Write(context.Background(), model.Batch{Reviews: []model.Review{rv}}); err != nil {
		t.Fatal(err)
	}
	g.expectJudged("a new review", "acme/r1")
	g.expectJudged("after it")

	// A new access event: its system, only, is judged again.
	ev := model.AccessEvent{ID: "zz-new", System: "db", Time: at(500), Principal: "eve", Action: "login", Result: "success"}
	if err := g.st.WriteAccess(context.Background(), []model.AccessEvent{ev}); err != nil {
		t.Fatal(err)
	}
	rep = g.expectJudged("a new access event")
	if rep.Judges != 1 || rep.Changed == 0 {
		t.Fatalf("a new access event: %d access systems judged, %d verdicts recorded", rep.Judges, rep.Changed)
	}
	fs, err := g.st.Findings(context.Background(), store.FindingQuery{Rule: "AC-1", Subject: "db:zz-new"})
	if err != nil || len(fs) != 1 || fs[0].Outcome != model.Fail {
		t.Fatalf("the new event's AC-1 verdict: %+v %v", fs, err)
	}
}

// TestDigestRejudgesOnConfiguration: a policy key, an identity or a waiver
// that changes has every repository judged again, with the verdicts the new
// configuration gives.
func TestDigestRejudgesOnConfiguration(t *testing.T) {
	g := newDigestRig(t)
	all := []string{"acme/r0", "acme/r1", "acme/r2"}
	g.expectJudged("from nothing", all...)
	g.expectJudged("nothing changed")

	g.set(func() { g.env.Policy.MinApprovals = 2 })
	if rep := g.expectJudged("min_approvals 2", all...); rep.Changed == 0 || rep.Judges != rep.Systems {
		t.Fatalf("min_approvals 2: %d verdicts recorded, %d access systems judged", rep.Changed, rep.Judges)
	}
	g.expectJudged("nothing changed again")

	fs, err := g.st.Findings(context.Background(), store.FindingQuery{Rule: "CM-2", Outcome: string(model.Fail)})
	if err != nil || len(fs) == 0 {
		t.Fatalf("CM-2 failures: %v %v", len(fs), err)
	}
	w := model.Waiver{Rule: "CM-2", Subject: fs[0].Subject, Reason: "accepted", ApprovedBy: "cto", Expires: g.now.Add(time.Hour)}
	g.set(func() { g.waivers = []model.Waiver{w} })
	g.expectJudged("a waiver", all...)
	got, err := g.st.Findings(context.Background(), store.FindingQuery{Rule: "CM-2", Subject: w.Subject})
	if err != nil || len(got) != 1 || got[0].Outcome != model.Waived {
		t.Fatalf("the waived finding: %+v %v", got, err)
	}
	g.expectJudged("waived, nothing changed")

	// The waiver expires: time alone changes that repository's verdict.
	g.set(func() { g.now = g.now.Add(2 * time.Hour) })
	g.expectJudged("the waiver expired", fs[0].Repo)
	got, err = g.st.Findings(context.Background(), store.FindingQuery{Rule: "CM-2", Subject: w.Subject})
	if err != nil || len(got) != 1 || got[0].Outcome != model.Fail {
		t.Fatalf("after the waiver expired: %+v %v", got, err)
	}
}

// TestDigestRejudgesWhenDeadlinePasses: a pending emergency change is not
// judged again while its window is open, and is when it closes.
func TestDigestRejudgesWhenDeadlinePasses(t *testing.T) {
	g := newDigestRig(t)
	// acme/r0#8 is an emergency (hotfix) change merged at at(80) with a
	// retro review 30 minutes later; a new one, unreviewed, is pending.
	pr := model.PullRequest{Repo: "acme/r2", Number: 500, DeliveryID: "emergency", Action: "closed", State: "closed", Merged: true,
		MergedAt: g.now.Add(-time.Hour), MergeCommitSHA: fmt.Sprintf("%040d", 500), HeadSHA: fmt.Sprintf("%039d9", 500),
		BaseRef: "main", DefaultBranch: "main", Author: "bob", MergedBy: "bob", Title: "PAY-500", Labels: []string{"hotfix"}}
	if err := g.st.Write(context.Background(), model.Batch{PullRequests: []model.PullRequest{pr}}); err != nil {
		t.Fatal(err)
	}
	all := []string{"acme/r0", "acme/r1", "acme/r2"}
	g.expectJudged("from nothing", all...)
	outcome := func() model.Outcome {
		fs, err := g.st.Findings(context.Background(), store.FindingQuery{Rule: "CM-2", Subject: "acme/r2#500"})
		if err != nil || len(fs) != 1 {
			t.Fatalf("CM-2 of acme/r2#500: %+v %v", fs, err)
		}
		return fs[0].Outcome
	}
	if o := outcome(); o != model.Pending {
		t.Fatalf("within the window: %s", o)
	}
	g.set(func() { g.now = g.now.Add(70 * time.Hour) })
	g.expectJudged("the window still open")
	if due := g.runner.Eval.DueRepos(); len(due) != 0 {
		t.Fatalf("due before the window closed: %q", due)
	}
	g.set(func() { g.now = g.now.Add(3 * time.Hour) })
	if due := g.runner.Eval.DueRepos(); len(due) != 1 || due[0] != "acme/r2" {
		t.Fatalf("due after the window closed: %q", due)
	}
	g.expectJudged("the window closed", "acme/r2")
	if o := outcome(); o != model.Fail {
		t.Fatalf("after the window: %s", o)
	}
	g.expectJudged("nothing changed")
}

// TestAccessByClassOutboxFirst: the full access evaluation in the engine
// hands the outbox (BeforeRecord) every verdict it records, before
// recording it; when the outbox fails nothing is recorded, and the next
// evaluation hands the same verdicts again.
func TestAccessByClassOutboxFirst(t *testing.T) {
	g := newDigestRig(t)
	failing := true
	var handed []model.Finding
	g.runner.Eval.BeforeRecord = func(ctx context.Context, fs []model.Finding) error {
		if failing {
			return fmt.Errorf("outbox down")
		}
		handed = append(handed, fs...)
		return nil
	}
	if _, err := g.runner.Full(context.Background()); err == nil {
		t.Fatal("the outbox failed, yet the full evaluation did not")
	}
	fs, err := g.st.Findings(context.Background(), store.FindingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Rule == "AC-1" || f.Rule == "AC-2" {
			t.Fatalf("recorded without the outbox: %+v", f)
		}
	}
	failing = false
	rep, err := g.runner.Full(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := g.st.Findings(context.Background(), store.FindingQuery{History: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(handed) != len(all) || rep.Changed != len(all) {
		t.Fatalf("%d verdicts recorded, %d reported, %d handed to the outbox", len(all), rep.Changed, len(handed))
	}
	key := func(f model.Finding) string { return f.Rule + " " + f.Subject + " " + string(f.Outcome) }
	seen := map[string]int{}
	for _, f := range handed {
		seen[key(f)]++
	}
	for _, f := range all {
		if seen[key(f)] != 1 {
			t.Fatalf("%s recorded, handed to the outbox %d times", key(f), seen[key(f)])
		}
	}
}

// TestDigestRecordedByServeStart: the evaluation a serving process starts
// with (Run: EvaluateAll, then rounds) records the digests, so that the
// next start judges nothing that did not change.
func TestDigestRecordedByServeStart(t *testing.T) {
	g := newDigestRig(t)
	g.runner.Debounce, g.runner.MaxDelay = -1, time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if err := g.runner.EvaluateAll(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { defer close(done); g.runner.Run(ctx) }()
	if err := g.runner.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	g.expectJudged("the next start")
}
