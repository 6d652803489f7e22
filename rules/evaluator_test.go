package rules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

var (
	t0   = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	base = strings.Repeat("a", 40)
	head = strings.Repeat("b", 40)
	mrg  = strings.Repeat("c", 40)
)

func selfApprovedPR() model.Batch {
	return model.Batch{
		PullRequests: []model.PullRequest{{Repo: "acme/api", Number: 5, DeliveryID: "pr", Action: "closed", State: "closed",
			Merged: true, MergedAt: t0, MergeCommitSHA: mrg, HeadSHA: head, HeadRef: "x", BaseRef: "main",
			DefaultBranch: "main", Author: "alice", MergedBy: "alice", Title: "t"}},
		Reviews: []model.Review{{Repo: "acme/api", PRNumber: 5, ReviewID: 1, DeliveryID: "rv", Action: "submitted",
			Reviewer: "alice", State: "approved", CommitID: head, SubmittedAt: t0.Add(-time.Hour)}},
	}
}

func evaluator(st *store.Store, now *time.Time, waivers []model.Waiver) *rules.Evaluator {
	return &rules.Evaluator{
		Controls: rules.Builtin(),
		Env:      func() control.Env { return control.Env{Policy: control.DefaultPolicy()} },
		Waivers:  func() []model.Waiver { return waivers },
		Store:    st,
		Now:      func() time.Time { return *now },
	}
}

func current(t *testing.T, st *store.Store, rule, subject string) model.Finding {
	t.Helper()
	fs, err := st.Findings(context.Background(), store.FindingQuery{Rule: rule, Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("%s %s: %d current findings", rule, subject, len(fs))
	}
	return fs[0]
}

func TestWaiverAppliesUntilItExpires(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	if err := st.Write(ctx, selfApprovedPR()); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(24 * time.Hour)
	w := model.Waiver{Rule: "CM-2", Subject: "acme/api#5", Reason: "pair-programmed", ApprovedBy: "cto",
		Expires: t0.Add(48 * time.Hour)}
	ev := evaluator(st, &now, []model.Waiver{w})
	if _, err := ev.EvaluateRepo(ctx, "acme/api"); err != nil {
		t.Fatal(err)
	}
	f := current(t, st, "CM-2", "acme/api#5")
	want := "approved only by the author (alice); waived by cto until 2026-03-04T10:00:00Z: pair-programmed"
	if f.Outcome != model.Waived || f.Reason != want || f.Waiver == nil || f.Waiver.ApprovedBy != "cto" {
		t.Fatalf("before expiry: %s %q %+v", f.Outcome, f.Reason, f.Waiver)
	}
	// Re-evaluating with nothing new records nothing.
	if changed, err := ev.EvaluateRepo(ctx, "acme/api"); err != nil || len(changed) != 0 {
		t.Fatalf("idempotent re-evaluation changed %v (%v)", changed, err)
	}
	now = t0.Add(49 * time.Hour)
	if _, err := ev.EvaluateRepo(ctx, "acme/api"); err != nil {
		t.Fatal(err)
	}
	f = current(t, st, "CM-2", "acme/api#5")
	if f.Outcome != model.Fail || f.Reason != "approved only by the author (alice)" || f.Waiver != nil {
		t.Fatalf("after expiry: %s %q %+v", f.Outcome, f.Reason, f.Waiver)
	}
	hist, _ := st.Findings(ctx, store.FindingQuery{Rule: "CM-2", Subject: "acme/api#5", History: true})
	if len(hist) != 2 || hist[0].Outcome != model.Waived || hist[1].Outcome != model.Fail {
		t.Fatalf("history = %+v", hist)
	}
}

func TestLatePullRequestWithdrawsDirectPush(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	push := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: base, After: mrg, DeliveryID: "push",
		DefaultBranch: "main", Pusher: "alice", PushedAt: t0}
	if err := st.Write(ctx, model.Batch{Pushes: []model.Push{push}}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	ev := evaluator(st, &now, nil)
	if _, err := ev.EvaluateRepo(ctx, "acme/api"); err != nil {
		t.Fatal(err)
	}
	subject := "acme/api@" + mrg
	if f := current(t, st, "CM-1", subject); f.Outcome != model.Fail || f.Reason != "direct push of "+mrg+" by alice" {
		t.Fatalf("provisional: %s %q", f.Outcome, f.Reason)
	}
	if err := st.Write(ctx, selfApprovedPR()); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.EvaluateRepo(ctx, "acme/api"); err != nil {
		t.Fatal(err)
	}
	f := current(t, st, "CM-1", subject)
	if f.Outcome != model.NotApplicable || f.Reason != "merge of acme/api#5" || f.Evidence.MergeOf != "acme/api#5" {
		t.Fatalf("withdrawn: %s %q %+v", f.Outcome, f.Reason, f.Evidence)
	}
	if f := current(t, st, "CM-1", "acme/api#5"); f.Outcome != model.Pass {
		t.Fatalf("PR CM-1: %s %q", f.Outcome, f.Reason)
	}
	hist, _ := st.Findings(ctx, store.FindingQuery{Subject: subject, Rule: "CM-1", History: true})
	if len(hist) != 2 {
		t.Fatalf("withdrawn subject keeps its history, got %+v", hist)
	}
	// Stable: evaluating again changes nothing.
	if changed, _ := ev.EvaluateRepo(ctx, "acme/api"); len(changed) != 0 {
		t.Fatalf("re-evaluation changed %+v", changed)
	}
}

type brokenStore struct{ *store.Store }

func (brokenStore) RepoEvidence(context.Context, string) (*model.RepoEvidence, error) {
	return nil, context.DeadlineExceeded
}

func TestUnreadableEvidenceIsErrorNotFail(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	now := t0
	ev := evaluator(st, &now, nil)
	ev.Store = brokenStore{st}
	changed, err := ev.EvaluateRepo(ctx, "acme/api")
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(rules.Builtin()) {
		t.Fatalf("want one error finding per control, got %+v", changed)
	}
	for _, f := range changed {
		if f.Outcome != model.Error || f.Reason != "could not read evidence of acme/api: context deadline exceeded" {
			t.Fatalf("got %s %q", f.Outcome, f.Reason)
		}
	}
}
