package cm6

import (
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// TestOrgRulesets: an organisation ruleset (a webhook without a
// repository) is a subject of each repository of its organisation that it
// targets by name and whose default branch its ref_name conditions
// include, with the reason text of a repository ruleset.
func TestOrgRulesets(t *testing.T) {
	at := time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)
	org := func(mod ...func(*model.RulesetEvent)) model.RulesetEvent {
		r := model.RulesetEvent{Org: "acme", RulesetID: 7, DeliveryID: "d7", Action: "edited", Sender: "carol",
			Name: "org main", SourceType: "Organization", Target: "branch", Enforcement: "active",
			Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}, BypassActors: []string{"RepositoryRole:5"},
			HasReviewRule: true, RequiredApprovals: 1, DismissStale: true, OccurredAt: at,
			RepoTargeting: "name", RepoInclude: []string{"~ALL"}, RepoExclude: []string{}}
		for _, m := range mod {
			m(&r)
		}
		return r
	}
	const fail = `ruleset "org main" (id 7) edited by carol: bypass actor RepositoryRole:5 not allowed`
	tests := []struct {
		name    string
		ruleset model.RulesetEvent
		repo    string // default acme/pay
		branch  string // the repository's default branch as its pushes say; default main
		outcome model.Outcome
		reason  string
	}{
		{name: "~ALL repositories, ~DEFAULT_BRANCH", ruleset: org(), outcome: model.Fail, reason: fail},
		{name: "the repository by name", ruleset: org(func(r *model.RulesetEvent) { r.RepoInclude = []string{"ledger", "pay"} }),
			outcome: model.Fail, reason: fail},
		{name: "names match case-insensitively", ruleset: org(func(r *model.RulesetEvent) { r.RepoInclude = []string{"Pay"} }),
			outcome: model.Fail, reason: fail},
		{name: "an fnmatch pattern", ruleset: org(func(r *model.RulesetEvent) { r.RepoInclude = []string{"pa*"} }),
			outcome: model.Fail, reason: fail},
		{name: "another repository is not judged", ruleset: org(func(r *model.RulesetEvent) { r.RepoInclude = []string{"ledger"} })},
		{name: "exclude wins", ruleset: org(func(r *model.RulesetEvent) { r.RepoExclude = []string{"pay"} })},
		{name: "meets policy", ruleset: org(func(r *model.RulesetEvent) { r.BypassActors = []string{} }),
			outcome: model.Pass, reason: `ruleset "org main" (id 7) edited by carol meets policy`},
		{name: "deleted", ruleset: org(func(r *model.RulesetEvent) { r.Action = "deleted" }),
			outcome: model.Fail, reason: `ruleset "org main" (id 7) deleted by carol`},
		{name: "ref_name against this repository's default branch", ruleset: org(func(r *model.RulesetEvent) { r.Include = []string{"refs/heads/trunk"} }),
			branch: "trunk", outcome: model.Fail, reason: fail},
		{name: "a branch that is not this repository's default", ruleset: org(func(r *model.RulesetEvent) { r.Include = []string{"refs/heads/trunk"} })},
		{name: "by repository id: cannot be resolved", ruleset: org(func(r *model.RulesetEvent) { r.RepoTargeting, r.RepoInclude = "id", nil }),
			outcome: model.Error, reason: `ruleset "org main" (id 7) edited by carol targets repositories by repository_id, which the event does not resolve: cannot tell which repositories it protects`},
		{name: "by property: cannot be resolved", ruleset: org(func(r *model.RulesetEvent) { r.RepoTargeting, r.RepoInclude = "property", nil }),
			outcome: model.Error, reason: `ruleset "org main" (id 7) edited by carol targets repositories by repository_property, which the event does not resolve: cannot tell which repositories it protects`},
		{name: "by id, not the default branch: not judged", ruleset: org(func(r *model.RulesetEvent) {
			r.RepoTargeting, r.Include = "id", []string{"refs/heads/release/*"}
		})},
		{name: "another organisation's", ruleset: org(func(r *model.RulesetEvent) { r.Org = "other" })},
		{name: "tag rulesets are not judged", ruleset: org(func(r *model.RulesetEvent) { r.Target = "tag" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, branch := tc.repo, tc.branch
			if repo == "" {
				repo = "acme/pay"
			}
			if branch == "" {
				branch = "main"
			}
			ev := &model.RepoEvidence{Repo: repo, Rulesets: []model.RulesetEvent{tc.ruleset},
				Pushes: []model.Push{{Repo: repo, Ref: "refs/heads/" + branch, DefaultBranch: branch, After: "a1", PushedAt: at}}}
			got := Control{}.Check(control.Env{Policy: control.DefaultPolicy()}, ev)
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
			if f.Rule != "CM-6" || f.Subject != "acme:ruleset/7@d7" || f.Repo != repo || f.Outcome != tc.outcome || f.Reason != tc.reason {
				t.Errorf("got %s %s %s %s %q\nwant outcome %s reason %q", f.Rule, f.Subject, f.Repo, f.Outcome, f.Reason, tc.outcome, tc.reason)
			}
			if !slices.Equal(f.Evidence.DeliveryIDs, []string{"d7"}) || f.Evidence.Author != "carol" {
				t.Errorf("evidence %+v", f.Evidence)
			}
		})
	}
}
