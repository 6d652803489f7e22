package cm6

import (
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

var at = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// strict is a rule that meets the default policy; cases weaken it.
func strict(action string, edit func(*model.ProtectionEvent)) model.ProtectionEvent {
	p := model.ProtectionEvent{
		Repo: "acme/pay", DeliveryID: "d2b6f3a0-1a2b-11f0-8c5e-0242ac120002", Action: action, Sender: "alice",
		RuleName: "main", ReviewEnforcement: "everyone", RequiredApprovals: 1,
		DismissStale: true, AdminEnforced: true, OccurredAt: at,
	}
	if edit != nil {
		edit(&p)
	}
	return p
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		event    model.ProtectionEvent
		policy   func(*control.Policy)
		outcome  model.Outcome
		reason   string
		settings []string
	}{
		{
			name:    "created, meets policy",
			event:   strict("created", nil),
			outcome: model.Pass, reason: "branch protection rule main created by alice meets policy",
		},
		{
			name:    "edited, meets policy",
			event:   strict("edited", func(p *model.ProtectionEvent) { p.ReviewEnforcement = "non_admins"; p.RequiredApprovals = 3 }),
			outcome: model.Pass, reason: "branch protection rule main edited by alice meets policy",
		},
		{
			name: "every setting weakened",
			event: strict("edited", func(p *model.ProtectionEvent) {
				p.ReviewEnforcement, p.RequiredApprovals, p.DismissStale, p.AdminEnforced = "off", 0, false, false
			}),
			outcome: model.Fail,
			reason: "branch protection rule main weakened by alice: pull_request_reviews_enforcement_level off; " +
				"required_approving_review_count 0 < 1; dismiss_stale_reviews_on_push false; admin_enforced false",
			settings: []string{"pull_request_reviews_enforcement_level off", "required_approving_review_count 0 < 1",
				"dismiss_stale_reviews_on_push false", "admin_enforced false"},
		},
		{
			name:    "enforcement level compared case-insensitively",
			event:   strict("created", func(p *model.ProtectionEvent) { p.ReviewEnforcement = "OFF" }),
			outcome: model.Fail, reason: "branch protection rule main weakened by alice: pull_request_reviews_enforcement_level off",
			settings: []string{"pull_request_reviews_enforcement_level off"},
		},
		{
			name:    "fewer reviews than min_approvals",
			event:   strict("created", func(p *model.ProtectionEvent) { p.RuleName = "release/*" }),
			policy:  func(p *control.Policy) { p.MinApprovals = 2 },
			outcome: model.Fail, reason: "branch protection rule release/* weakened by alice: required_approving_review_count 1 < 2",
			settings: []string{"required_approving_review_count 1 < 2"},
		},
		{
			name:    "stale reviews kept while CM-3 is on",
			event:   strict("edited", func(p *model.ProtectionEvent) { p.DismissStale = false }),
			outcome: model.Fail, reason: "branch protection rule main weakened by alice: dismiss_stale_reviews_on_push false",
			settings: []string{"dismiss_stale_reviews_on_push false"},
		},
		{
			name:    "stale reviews kept while CM-3 is off",
			event:   strict("edited", func(p *model.ProtectionEvent) { p.DismissStale = false }),
			policy:  func(p *control.Policy) { p.RequireApprovalOnFinalCommit = false },
			outcome: model.Pass, reason: "branch protection rule main edited by alice meets policy",
		},
		{
			name:    "admins not enforced",
			event:   strict("edited", func(p *model.ProtectionEvent) { p.AdminEnforced = false }),
			outcome: model.Fail, reason: "branch protection rule main weakened by alice: admin_enforced false",
			settings: []string{"admin_enforced false"},
		},
		{
			name:    "admins not enforced, not required",
			event:   strict("edited", func(p *model.ProtectionEvent) { p.AdminEnforced = false }),
			policy:  func(p *control.Policy) { p.RequireAdminEnforcement = false },
			outcome: model.Pass, reason: "branch protection rule main edited by alice meets policy",
		},
		{
			name:    "deleted",
			event:   strict("deleted", nil),
			outcome: model.Fail, reason: "branch protection rule main deleted by alice",
		},
		{
			name:    "unknown action",
			event:   strict("transferred", nil),
			outcome: model.Error, reason: `branch protection rule main changed by alice with unknown action "transferred"`,
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Now: at.Add(time.Hour)}
			if tc.policy != nil {
				tc.policy(&env.Policy)
			}
			got := Control{}.Check(env, &model.RepoEvidence{Repo: "acme/pay", Protections: []model.ProtectionEvent{tc.event}})
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			if f.Rule != "CM-6" || f.Subject != "acme/pay:protection@d2b6f3a0-1a2b-11f0-8c5e-0242ac120002" ||
				f.Repo != "acme/pay" || !f.OccurredAt.Equal(at) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			e := f.Evidence
			if !slices.Equal(e.Settings, tc.settings) {
				t.Errorf("settings = %q, want %q", e.Settings, tc.settings)
			}
			if e.Author != "alice" || !slices.Equal(e.DeliveryIDs, []string{"d2b6f3a0-1a2b-11f0-8c5e-0242ac120002"}) {
				t.Errorf("evidence = %+v", e)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "CM-6" || def.Name != "protection-unchanged" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}
