package enrich_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// The story of one repository, as GitHub reports it.
var (
	orderRepo = fixture.Repo{FullName: "acme/orders", DefaultBranch: "main"}
	o0        = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// PR #1 by alice: opened on a first head, pushed to, approved by bob
	// on the final head, merged by alice; its merge reaches main as a push.
	pr1FirstHead = fixture.SHA("orders #1 first head")
	pr1Head      = fixture.SHA("orders #1 final head")
	pr1Merge     = fixture.SHA("orders #1 merge")
	pr1Base      = fixture.SHA("orders main before #1")
	pr1Merged    = o0.Add(3 * time.Hour)

	// PR #2 by carol: approved only by carol herself, 30 minutes before
	// the merge; that review is delivered after the merge event.
	pr2Head   = fixture.SHA("orders #2 head")
	pr2Merge  = fixture.SHA("orders #2 merge")
	pr2Merged = o0.Add(5 * time.Hour)

	// mallory pushes straight to main.
	directSHA = fixture.SHA("orders direct")
	directAt  = o0.Add(6 * time.Hour)
)

// orderStep is one delivery of the story.
type orderStep struct {
	name string
	d    model.Delivery
}

func orderSteps() []orderStep {
	pr1 := fixture.PR{Repo: orderRepo, Number: 1, Author: "alice", Title: "ORD-1 totals", HeadRef: "totals",
		HeadSHA: pr1FirstHead, BaseSHA: pr1Base, CreatedAt: o0}
	pr1Closed := pr1
	pr1Closed.HeadSHA, pr1Closed.MergeCommitSHA, pr1Closed.Merged, pr1Closed.MergedAt, pr1Closed.MergedBy =
		pr1Head, pr1Merge, true, pr1Merged, "alice"
	pr1Reviewed := pr1
	pr1Reviewed.HeadSHA = pr1Head

	pr2 := fixture.PR{Repo: orderRepo, Number: 2, Author: "carol", Title: "speed up", HeadRef: "fast",
		HeadSHA: pr2Head, BaseSHA: pr1Merge, MergeCommitSHA: pr2Merge, Merged: true, MergedAt: pr2Merged,
		MergedBy: "carol", CreatedAt: o0.Add(4 * time.Hour)}
	pr2Open := pr2
	pr2Open.Merged, pr2Open.MergedAt, pr2Open.MergeCommitSHA, pr2Open.MergedBy = false, time.Time{}, "", ""

	step := func(name, event string, body []byte) orderStep {
		d := delivery(event, fixture.DeliveryID("order "+name), body)
		return orderStep{name, d}
	}
	return []orderStep{
		step("open#1", "pull_request", fixture.PullRequest("opened", pr1)),
		step("approve#1", "pull_request_review", fixture.PullRequestReview("submitted", fixture.ReviewEvent{
			PR: pr1Reviewed, ReviewID: 101, Reviewer: "bob", State: "approved", CommitID: pr1Head,
			SubmittedAt: pr1Merged.Add(-time.Hour)})),
		step("merge#1", "pull_request", fixture.PullRequest("closed", pr1Closed)),
		step("push#1", "push", fixture.Push(fixture.PushEvent{Repo: orderRepo, Before: pr1Base, After: pr1Merge,
			Pusher: "alice", PushedAt: pr1Merged.Add(2 * time.Second), Commits: []fixture.Commit{{SHA: pr1Merge,
				Message: "Merge pull request #1 from acme/totals\n\nORD-1 totals", Author: "alice",
				Committer: "web-flow", Timestamp: pr1Merged}}})),
		step("merge#2", "pull_request", fixture.PullRequest("closed", pr2)),
		step("selfapprove#2", "pull_request_review", fixture.PullRequestReview("submitted", fixture.ReviewEvent{
			PR: pr2Open, ReviewID: 201, Reviewer: "carol", State: "approved", CommitID: pr2Head,
			SubmittedAt: pr2Merged.Add(-30 * time.Minute)})),
		step("direct", "push", fixture.Push(fixture.PushEvent{Repo: orderRepo, Before: pr2Merge, After: directSHA,
			Pusher: "mallory", PushedAt: directAt, Commits: []fixture.Commit{{SHA: directSHA,
				Message: "quick fix", Author: "mallory", Timestamp: directAt.Add(-time.Minute)}}})),
	}
}

// verdict is what the test compares of a finding.
type verdict struct {
	Rule, Subject string
	Outcome       model.Outcome
	Reason        string
	OccurredAt    time.Time
}

func (v verdict) String() string {
	return fmt.Sprintf("%s %s %s %q @%s", v.Rule, v.Subject, v.Outcome, v.Reason, v.OccurredAt.UTC().Format(time.RFC3339))
}

func expectedVerdicts() []verdict {
	r := orderRepo.FullName
	return []verdict{
		{"CM-1", r + "#1", model.Pass, "merged via pull request #1 by alice", pr1Merged},
		{"CM-1", r + "#2", model.Pass, "merged via pull request #2 by carol", pr2Merged},
		{"CM-1", r + "@" + directSHA, model.Fail, "direct push of " + directSHA + " by mallory", directAt},
		{"CM-2", r + "#1", model.Pass, "approved by bob", pr1Merged},
		{"CM-2", r + "#2", model.Fail, "approved only by the author (carol)", pr2Merged},
		{"CM-3", r + "#1", model.Pass, "approval by bob covers final commit " + pr1Head, pr1Merged},
	}
}

// orders are the arrival orders tried: the named ones the spec calls out,
// then a fixed random sample of the 5040 permutations.
func orders(steps []orderStep) map[string][]int {
	idx := map[string]int{}
	for i, s := range steps {
		idx[s.name] = i
	}
	named := map[string][]string{
		"chronological":               {"open#1", "approve#1", "merge#1", "push#1", "selfapprove#2", "merge#2", "direct"},
		"reviews after merges":        {"open#1", "merge#1", "approve#1", "push#1", "merge#2", "selfapprove#2", "direct"},
		"push before PR":              {"push#1", "open#1", "approve#1", "direct", "merge#1", "merge#2", "selfapprove#2"},
		"push before PR, review last": {"push#1", "direct", "merge#1", "open#1", "merge#2", "selfapprove#2", "approve#1"},
		"reverse":                     {"direct", "selfapprove#2", "merge#2", "push#1", "merge#1", "approve#1", "open#1"},
		"opened after merge":          {"merge#2", "selfapprove#2", "push#1", "approve#1", "merge#1", "direct", "open#1"},
	}
	out := map[string][]int{}
	seen := map[string]bool{}
	for name, seq := range named {
		var p []int
		for _, s := range seq {
			i, ok := idx[s]
			if !ok {
				panic("unknown step " + s)
			}
			p = append(p, i)
		}
		if len(p) != len(steps) {
			panic("order " + name + " misses a step")
		}
		out[name] = p
		seen[fmt.Sprint(p)] = true
	}
	rng := rand.New(rand.NewPCG(20260302, 7))
	for len(out) < len(named)+8 {
		p := rng.Perm(len(steps))
		if seen[fmt.Sprint(p)] {
			continue
		}
		seen[fmt.Sprint(p)] = true
		out[fmt.Sprintf("sample %v", p)] = p
	}
	return out
}

func TestFindingsIndependentOfArrivalOrder(t *testing.T) {
	steps := orderSteps()
	want := expectedVerdicts()
	env := func() control.Env { return control.Env{Policy: control.DefaultPolicy()} }
	var first []verdict
	var firstOrder string

	names := make([]string, 0)
	all := orders(steps)
	for name := range all {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		perm := all[name]
		var seq []string
		for _, i := range perm {
			seq = append(seq, steps[i].name)
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t)
			pipe := &pipeline.Deriver{Store: st}
			eval := &rules.Evaluator{Controls: rules.Builtin(), Env: env, Store: st}
			for _, i := range perm {
				res, err := pipe.Process(ctx, []model.Delivery{steps[i].d})
				if err != nil {
					t.Fatalf("%v: Process(%s): %v", seq, steps[i].name, err)
				}
				if res.Stored != 1 || res.Dead != 0 || !slices.Equal(res.Repos, []string{orderRepo.FullName}) {
					t.Fatalf("%v: Process(%s) = %+v", seq, steps[i].name, res)
				}
				for _, repo := range res.Repos {
					if _, err := eval.EvaluateRepo(ctx, repo); err != nil {
						t.Fatalf("%v: evaluate after %s: %v", seq, steps[i].name, err)
					}
				}
			}
			// Evaluating again without new evidence changes nothing.
			if changed, err := eval.EvaluateRepo(ctx, orderRepo.FullName); err != nil || len(changed) != 0 {
				t.Fatalf("%v: re-evaluation changed %+v (err %v)", seq, changed, err)
			}

			got, merges := currentVerdicts(t, st)
			if lines(got) != lines(want) {
				t.Errorf("order %v: findings\n%s\nwant\n%s", seq, lines(got), lines(want))
			}
			if first == nil {
				first, firstOrder = got, name
			} else if lines(got) != lines(first) {
				t.Errorf("order %q and %q disagree:\n%s\nvs\n%s", name, firstOrder, lines(got), lines(first))
			}

			// The merge push is judged provisionally as a direct push only
			// when it arrives before PR #1's merge event; then its finding
			// is withdrawn as the merge of #1, with the history kept.
			pushFirst := slices.Index(seq, "push#1") < slices.Index(seq, "merge#1")
			mergeSubject := orderRepo.FullName + "@" + pr1Merge
			for _, m := range merges {
				if m.Outcome != model.NotApplicable || m.Reason != "merge of acme/orders#1" || m.Subject != mergeSubject {
					t.Errorf("order %v: withdrawn finding %v, want not_applicable merge of acme/orders#1 on %s", seq, m, mergeSubject)
				}
			}
			wantMerges := 0
			if pushFirst {
				wantMerges = 1 // CM-1 only: CM-4 is off by default
			}
			if len(merges) != wantMerges {
				t.Errorf("order %v: %d withdrawn merge findings %v, want %d", seq, len(merges), merges, wantMerges)
			}
			if pushFirst {
				hist, err := st.Findings(ctx, store.FindingQuery{Rule: "CM-1", Subject: mergeSubject, History: true})
				if err != nil {
					t.Fatal(err)
				}
				var outcomes []string
				for _, f := range hist {
					outcomes = append(outcomes, string(f.Outcome)+": "+f.Reason)
				}
				wantHist := []string{"fail: direct push of " + pr1Merge + " by alice", "not_applicable: merge of acme/orders#1"}
				if !slices.Equal(outcomes, wantHist) {
					t.Errorf("order %v: history of %s = %q, want %q", seq, mergeSubject, outcomes, wantHist)
				}
			}

			// The population of changes does not depend on the order either.
			rows, err := st.Changes(ctx, store.ChangeQuery{Repo: orderRepo.FullName})
			if err != nil {
				t.Fatal(err)
			}
			var subjects []string
			for _, r := range rows {
				subjects = append(subjects, r.Kind+" "+r.Subject)
			}
			wantSubjects := []string{"pull_request acme/orders#1", "pull_request acme/orders#2", "direct_push acme/orders@" + directSHA}
			if !slices.Equal(subjects, wantSubjects) {
				t.Errorf("order %v: changes %v, want %v", seq, subjects, wantSubjects)
			}
		})
	}
}

// currentVerdicts returns the current findings of the story's repository,
// sorted, apart from the withdrawn provisional direct-push subjects, which
// it returns separately.
func currentVerdicts(t *testing.T, st *store.Store) (kept, merges []verdict) {
	t.Helper()
	fs, err := st.CurrentFindings(context.Background(), orderRepo.FullName)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		v := verdict{f.Rule, f.Subject, f.Outcome, f.Reason, f.OccurredAt.UTC()}
		if strings.HasPrefix(f.Reason, "merge of ") {
			merges = append(merges, v)
			continue
		}
		kept = append(kept, v)
	}
	slices.SortFunc(kept, func(a, b verdict) int { return strings.Compare(a.Rule+" "+a.Subject, b.Rule+" "+b.Subject) })
	return kept, merges
}

func lines(vs []verdict) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("  " + v.String() + "\n")
	}
	return b.String()
}

// TestDismissalIndependentOfArrivalOrder tries arrival orders of a
// pull request whose approval on the final commit was dismissed and whose
// only other approval, on an earlier commit, may arrive after the merge.
func TestDismissalIndependentOfArrivalOrder(t *testing.T) {
	repo := fixture.Repo{FullName: "acme/refunds", DefaultBranch: "main"}
	head, oldHead, merge := fixture.SHA("refunds #3 head"), fixture.SHA("refunds #3 old head"), fixture.SHA("refunds #3 merge")
	merged := o0.Add(8 * time.Hour)
	open := fixture.PR{Repo: repo, Number: 3, Author: "alice", Title: "refund fees", HeadRef: "fees", HeadSHA: head, CreatedAt: o0}
	closed := open
	closed.Merged, closed.MergedAt, closed.MergeCommitSHA, closed.MergedBy = true, merged, merge, "alice"
	bobAt := merged.Add(-2 * time.Hour)
	steps := []orderStep{
		{"merge#3", delivery("pull_request", "refunds-merge", fixture.PullRequest("closed", closed))},
		{"bob approves", delivery("pull_request_review", "refunds-bob", fixture.PullRequestReview("submitted",
			fixture.ReviewEvent{PR: open, ReviewID: 301, Reviewer: "bob", State: "approved", SubmittedAt: bobAt}))},
		{"bob dismissed", delivery("pull_request_review", "refunds-bob-dismissed", fixture.PullRequestReview("dismissed",
			fixture.ReviewEvent{PR: open, ReviewID: 301, Reviewer: "bob", SubmittedAt: bobAt, Sender: "alice"}))},
		{"dave approves", delivery("pull_request_review", "refunds-dave", fixture.PullRequestReview("submitted",
			fixture.ReviewEvent{PR: open, ReviewID: 302, Reviewer: "dave", State: "approved", CommitID: oldHead,
				SubmittedAt: merged.Add(-3 * time.Hour)}))},
	}
	want := []verdict{
		{"CM-1", "acme/refunds#3", model.Pass, "merged via pull request #3 by alice", merged},
		{"CM-2", "acme/refunds#3", model.Pass, "approved by dave", merged},
		{"CM-3", "acme/refunds#3", model.Fail, "approval by dave was for " + oldHead + ", final commit is " + head, merged},
	}
	env := func() control.Env { return control.Env{Policy: control.DefaultPolicy()} }
	// Eight of the 24 orders (each database costs ~0.5 s): the dismissal
	// before and after the approval it dismisses, each step first and
	// last, and dave's pre-merge approval delivered after the merge.
	idx := map[string]int{}
	for i, s := range steps {
		idx[s.name] = i
	}
	var perms [][]int
	for _, seq := range [][]string{
		{"dave approves", "bob approves", "bob dismissed", "merge#3"},
		{"merge#3", "bob approves", "bob dismissed", "dave approves"},
		{"bob dismissed", "bob approves", "dave approves", "merge#3"},
		{"bob dismissed", "merge#3", "dave approves", "bob approves"},
		{"bob approves", "merge#3", "dave approves", "bob dismissed"},
		{"merge#3", "dave approves", "bob dismissed", "bob approves"},
		{"dave approves", "bob dismissed", "merge#3", "bob approves"},
		{"bob approves", "dave approves", "merge#3", "bob dismissed"},
	} {
		var p []int
		for _, name := range seq {
			p = append(p, idx[name])
		}
		perms = append(perms, p)
	}
	for _, perm := range perms {
		var seq []string
		for _, i := range perm {
			seq = append(seq, steps[i].name)
		}
		t.Run(strings.Join(seq, ", "), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t)
			pipe := &pipeline.Deriver{Store: st}
			eval := &rules.Evaluator{Controls: rules.Builtin(), Env: env, Store: st}
			for _, i := range perm {
				res, err := pipe.Process(ctx, []model.Delivery{steps[i].d})
				if err != nil || res.Stored != 1 || !slices.Equal(res.Repos, []string{"acme/refunds"}) {
					t.Fatalf("Process(%s) = %+v, %v", steps[i].name, res, err)
				}
				if _, err := eval.EvaluateRepo(ctx, "acme/refunds"); err != nil {
					t.Fatal(err)
				}
			}
			fs, err := st.CurrentFindings(ctx, "acme/refunds")
			if err != nil {
				t.Fatal(err)
			}
			var got []verdict
			for _, f := range fs {
				got = append(got, verdict{f.Rule, f.Subject, f.Outcome, f.Reason, f.OccurredAt.UTC()})
			}
			if lines(got) != lines(want) {
				t.Errorf("findings\n%s\nwant\n%s", lines(got), lines(want))
			}
		})
	}
}
