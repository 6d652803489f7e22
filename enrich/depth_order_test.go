package enrich_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
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

// The depth story: PR #5 by alice, where bob pushed a fix-up to the head
// branch and erin pushed a commit of her own, both then approving; its
// required check failed on the final commit, and that result is delivered
// after the merge. PR #6 by dependabot[bot] with one human approval where
// policy wants two. carol edits the ruleset protecting main to let a
// repository role bypass it.
var (
	depthRepo   = fixture.Repo{FullName: "acme/depth", DefaultBranch: "main"}
	depth5Head  = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
	depthErin   = fixture.SHA("depth erin's commit")
	depth5First = fixture.SHA("depth #5 first head")
	depth5Merge = fixture.SHA("depth #5 merge")
	depth6Head  = fixture.SHA("depth #6 head")
	depth6Merge = fixture.SHA("depth #6 merge")
	depth5At    = o0.Add(3 * time.Hour)
	depth6At    = o0.Add(5 * time.Hour)
)

func depthSteps() []orderStep {
	pr5 := fixture.PR{Repo: depthRepo, Number: 5, Author: "alice", Title: "DEP-5 totals", HeadRef: "totals",
		HeadSHA: depth5First, CreatedAt: o0}
	pr5Final := pr5
	pr5Final.HeadSHA = depth5Head
	pr5Closed := pr5Final
	pr5Closed.MergeCommitSHA, pr5Closed.Merged, pr5Closed.MergedAt, pr5Closed.MergedBy = depth5Merge, true, depth5At, "alice"
	pr6 := fixture.PR{Repo: depthRepo, Number: 6, Author: "dependabot[bot]", Title: "Bump x", HeadRef: "dependabot/x",
		HeadSHA: depth6Head, CreatedAt: o0.Add(4 * time.Hour)}
	pr6Closed := pr6
	pr6Closed.MergeCommitSHA, pr6Closed.Merged, pr6Closed.MergedAt, pr6Closed.MergedBy = depth6Merge, true, depth6At, "carol"
	step := func(name, event string, body []byte) orderStep {
		return orderStep{name, delivery(event, fixture.DeliveryID("depth "+name), body)}
	}
	return []orderStep{
		step("open#5", "pull_request", fixture.PullRequest("opened", pr5)),
		step("erin-push", "push", fixture.Push(fixture.PushEvent{Repo: depthRepo, Ref: "refs/heads/totals",
			Before: depth5First, After: depthErin, Pusher: "erin", PushedAt: o0.Add(time.Hour),
			Commits: []fixture.Commit{{SHA: depthErin, Message: "erin's part", Author: "erin", Timestamp: o0.Add(time.Hour)}}})),
		step("bob-sync", "pull_request", fixture.Synchronize(pr5, "bob", depthErin, depth5Head)),
		step("bob-approves", "pull_request_review", fixture.PullRequestReview("submitted", fixture.ReviewEvent{
			PR: pr5Final, ReviewID: 501, Reviewer: "bob", State: "approved", SubmittedAt: depth5At.Add(-time.Hour)})),
		step("erin-approves", "pull_request_review", fixture.PullRequestReview("submitted", fixture.ReviewEvent{
			PR: pr5Final, ReviewID: 502, Reviewer: "erin", State: "approved", SubmittedAt: depth5At.Add(-50 * time.Minute)})),
		step("merge#5", "pull_request", fixture.PullRequest("closed", pr5Closed)),
		step("check#5", "check_run", fixture.CheckRun(fixture.CheckRunEvent{Repo: depthRepo, ID: 9005, Name: "ci/test",
			HeadSHA: depth5Head, Conclusion: "failure", CompletedAt: depth5At.Add(-30 * time.Minute)})),
		step("merge#6", "pull_request", fixture.PullRequest("closed", pr6Closed)),
		step("carol-approves#6", "pull_request_review", fixture.PullRequestReview("submitted", fixture.ReviewEvent{
			PR: pr6, ReviewID: 601, Reviewer: "carol", State: "approved", SubmittedAt: depth6At.Add(-time.Hour)})),
		step("status#6", "status", fixture.Status(fixture.StatusEvent{Repo: depthRepo, ID: 9006, SHA: depth6Head,
			Context: "ci/test", State: "success", UpdatedAt: depth6At.Add(-2 * time.Hour)})),
		step("ruleset", "repository_ruleset", fixture.RepositoryRuleset(fixture.RulesetEvent{Repo: depthRepo, Action: "edited",
			ID: 42, Name: "main protection", Sender: "carol", Review: &fixture.ReviewRule{RequiredApprovals: 1, DismissStale: true},
			Bypass: []fixture.BypassActor{{Type: "RepositoryRole", ID: 5}}, UpdatedAt: o0.Add(30 * time.Minute)})),
	}
}

func depthVerdicts() []verdict {
	r := depthRepo.FullName
	return []verdict{
		{"CM-1", r + "#5", model.Pass, "merged via pull request #5 by alice", depth5At},
		{"CM-1", r + "#6", model.Pass, "merged via pull request #6 by carol", depth6At},
		{"CM-2", r + "#5", model.Fail, "no qualifying approval: approval by bob did not count: bob pushed 9f8e7d6c… to the pull request; " +
			"approval by erin did not count: erin authored " + depthErin[:8] + "… on the pull request", depth5At},
		{"CM-2", r + "#6", model.Fail, "bot-authored: 1 of 2 required human approvals", depth6At},
		{"CM-6", r + ":ruleset/42@" + fixture.DeliveryID("depth ruleset"), model.Fail,
			`ruleset "main protection" (id 42) edited by carol: bypass actor RepositoryRole:5 not allowed`, o0.Add(30 * time.Minute)},
		{"CM-7", r + "#5", model.Fail, `required check "ci/test" concluded failure on 9f8e7d6c…`, depth5At},
		{"CM-7", r + "#6", model.Pass, "required checks passed on " + depth6Head[:8] + "…: ci/test (success)", depth6At},
	}
}

// TestDepthIndependentOfArrivalOrder: contributors, check results and
// rulesets give the same findings whatever order their webhooks arrive in:
// the review before the co-author's push, the check result after the
// merge event, the branch push before the pull request is known.
func TestDepthIndependentOfArrivalOrder(t *testing.T) {
	steps := depthSteps()
	idx := map[string]int{}
	for i, s := range steps {
		idx[s.name] = i
	}
	perms := map[string][]string{
		"chronological": {"open#5", "ruleset", "erin-push", "bob-sync", "bob-approves", "erin-approves", "check#5", "merge#5",
			"status#6", "carol-approves#6", "merge#6"},
		"reviews before pushes, checks after merges": {"bob-approves", "erin-approves", "open#5", "merge#5", "bob-sync",
			"erin-push", "check#5", "carol-approves#6", "merge#6", "status#6", "ruleset"},
		"reverse": {"ruleset", "status#6", "carol-approves#6", "merge#6", "check#5", "merge#5", "erin-approves",
			"bob-approves", "bob-sync", "erin-push", "open#5"},
	}
	orders := map[string][]int{}
	for name, seq := range perms {
		for _, s := range seq {
			orders[name] = append(orders[name], idx[s])
		}
		if len(orders[name]) != len(steps) {
			t.Fatalf("order %s misses a step", name)
		}
	}
	rng := rand.New(rand.NewPCG(20261207, 17))
	for i := 0; i < 4; i++ {
		p := rng.Perm(len(steps))
		orders[fmt.Sprintf("sample %v", p)] = p
	}
	env := func() control.Env {
		p := control.DefaultPolicy()
		p.RequiredChecks, p.BotMinApprovals = []string{"ci/test"}, 2
		return control.Env{Policy: p}
	}
	want := lines(depthVerdicts())
	for name, perm := range orders {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t)
			pipe := &pipeline.Deriver{Store: st}
			eval := &rules.Evaluator{Controls: rules.Builtin(), Env: env, Store: st}
			for _, i := range perm {
				res, err := pipe.Process(ctx, []model.Delivery{steps[i].d})
				if err != nil || res.Dead != 0 {
					t.Fatalf("Process(%s) = %+v, %v", steps[i].name, res, err)
				}
				for _, repo := range res.Repos {
					if _, err := eval.EvaluateRepo(ctx, repo); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := depthCurrent(t, st)
			if g := lines(got); g != want {
				t.Errorf("findings\n%s\nwant\n%s", g, want)
			}
		})
	}
}

func depthCurrent(t *testing.T, st *store.Store) []verdict {
	t.Helper()
	fs, err := st.CurrentFindings(context.Background(), depthRepo.FullName)
	if err != nil {
		t.Fatal(err)
	}
	var out []verdict
	for _, f := range fs {
		// A subject withdrawn when later evidence arrived (CM-3 judged
		// #5 while bob's approval still counted) keeps a not_applicable
		// finding, by design: that history depends on the order.
		if f.Outcome == model.NotApplicable && f.Reason == "no longer a subject of "+f.Rule {
			continue
		}
		out = append(out, verdict{f.Rule, f.Subject, f.Outcome, f.Reason, f.OccurredAt.UTC()})
	}
	slices.SortFunc(out, func(a, b verdict) int {
		if a.Rule != b.Rule {
			return compareStr(a.Rule, b.Rule)
		}
		return compareStr(a.Subject, b.Subject)
	})
	return out
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
