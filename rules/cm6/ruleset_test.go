package cm6

import (
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

func TestRulesets(t *testing.T) {
	at := time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)
	strong := func(mod ...func(*model.RulesetEvent)) model.RulesetEvent {
		r := model.RulesetEvent{Repo: "acme/pay", Org: "acme", DefaultBranch: "main", RulesetID: 42, DeliveryID: "d1",
			Action: "edited", Sender: "carol", Name: "main protection", SourceType: "Repository", Target: "branch",
			Enforcement: "active", Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}, BypassActors: []string{},
			HasReviewRule: true, RequiredApprovals: 1, DismissStale: true, OccurredAt: at}
		for _, m := range mod {
			m(&r)
		}
		return r
	}
	tests := []struct {
		name     string
		ruleset  model.RulesetEvent
		policy   func(*control.Policy)
		outcome  model.Outcome // "" = not judged
		reason   string
		settings []string
	}{
		{name: "meets policy", ruleset: strong(), outcome: model.Pass,
			reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "a bypass actor not allowed", ruleset: strong(func(r *model.RulesetEvent) { r.BypassActors = []string{"RepositoryRole:5"} }),
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) edited by carol: bypass actor RepositoryRole:5 not allowed`,
			settings: []string{"bypass actor RepositoryRole:5 not allowed"}},
		{name: "an allowed bypass actor", ruleset: strong(func(r *model.RulesetEvent) { r.BypassActors = []string{"Integration:12345"} }),
			policy:  func(p *control.Policy) { p.AllowedBypassActors = []string{"integration:12345"} },
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "deleted", ruleset: strong(func(r *model.RulesetEvent) { r.Action = "deleted" }),
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) deleted by carol`},
		{name: "enforcement no longer active", ruleset: strong(func(r *model.RulesetEvent) { r.Enforcement, r.EnforcementFrom = "evaluate", "active" }),
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) edited by carol: enforcement evaluate (was active)`,
			settings: []string{"enforcement evaluate (was active)"}},
		{name: "created disabled", ruleset: strong(func(r *model.RulesetEvent) { r.Action, r.Enforcement = "created", "disabled" }),
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) created by carol: enforcement disabled`,
			settings: []string{"enforcement disabled"}},
		{name: "review rule deleted", ruleset: strong(func(r *model.RulesetEvent) { r.HasReviewRule, r.ReviewRuleDeleted = false, true }),
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) edited by carol: pull_request rule deleted`,
			settings: []string{"pull_request rule deleted"}},
		{name: "weak review rule", ruleset: strong(func(r *model.RulesetEvent) { r.RequiredApprovals, r.DismissStale = 0, false }),
			policy:  func(p *control.Policy) { p.MinApprovals = 2 },
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) edited by carol: required_approving_review_count 0 < 2; dismiss_stale_reviews_on_push false`,
			settings: []string{"required_approving_review_count 0 < 2", "dismiss_stale_reviews_on_push false"}},
		{name: "stale approvals allowed while CM-3 is off", ruleset: strong(func(r *model.RulesetEvent) { r.DismissStale = false }),
			policy:  func(p *control.Policy) { p.RequireApprovalOnFinalCommit = false },
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "no review rule weakens nothing", ruleset: strong(func(r *model.RulesetEvent) { r.HasReviewRule, r.Action = false, "created" }),
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) created by carol weakens nothing; it holds no review rule`},
		{name: "backfilled state", ruleset: strong(func(r *model.RulesetEvent) {
			r.Action, r.Sender, r.DeliveryID, r.BypassActors = "observed", "", "backfill:ruleset/42", []string{"OrganizationAdmin:1"}
		}),
			outcome: model.Fail, reason: `ruleset "main protection" (id 42) as backfilled: bypass actor OrganizationAdmin:1 not allowed`,
			settings: []string{"bypass actor OrganizationAdmin:1 not allowed"}},
		{name: "unknown action", ruleset: strong(func(r *model.RulesetEvent) { r.Action = "renamed" }),
			outcome: model.Error, reason: `ruleset "main protection" (id 42) changed by carol with unknown action "renamed"`},
		{name: "~ALL includes the default branch", ruleset: strong(func(r *model.RulesetEvent) { r.Include = []string{"~ALL"} }),
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "the default branch by name", ruleset: strong(func(r *model.RulesetEvent) { r.Include = []string{"refs/heads/main"} }),
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "an fnmatch pattern", ruleset: strong(func(r *model.RulesetEvent) { r.Include = []string{"refs/heads/ma*"} }),
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "a ** pattern", ruleset: strong(func(r *model.RulesetEvent) {
			r.Include, r.DefaultBranch = []string{"refs/heads/**/main"}, "team/x/main"
		}),
			outcome: model.Pass, reason: `ruleset "main protection" (id 42) edited by carol meets policy`},
		{name: "another branch is not judged", ruleset: strong(func(r *model.RulesetEvent) { r.Include = []string{"refs/heads/release/*"} })},
		{name: "exclude wins", ruleset: strong(func(r *model.RulesetEvent) { r.Include, r.Exclude = []string{"~ALL"}, []string{"refs/heads/main"} })},
		{name: "tag rulesets are not judged", ruleset: strong(func(r *model.RulesetEvent) { r.Target = "tag" })},
		{name: "another organisation's ruleset is not judged", ruleset: strong(func(r *model.RulesetEvent) { r.Repo, r.Org = "", "other" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy()}
			if tc.policy != nil {
				tc.policy(&env.Policy)
			}
			got := Control{}.Check(env, &model.RepoEvidence{Repo: "acme/pay", Rulesets: []model.RulesetEvent{tc.ruleset}})
			if tc.outcome == "" {
				if len(got) != 0 {
					t.Fatalf("judged: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			if f.Rule != "CM-6" || f.Subject != "acme/pay:ruleset/42@"+tc.ruleset.DeliveryID || f.Outcome != tc.outcome || f.Reason != tc.reason {
				t.Errorf("got %s %s %s %q\nwant outcome %s reason %q", f.Rule, f.Subject, f.Outcome, f.Reason, tc.outcome, tc.reason)
			}
			if !slices.Equal(f.Evidence.Settings, tc.settings) || f.Evidence.Author != tc.ruleset.Sender {
				t.Errorf("evidence %+v, want settings %q", f.Evidence, tc.settings)
			}
		})
	}
}
