// Package cm6 is control CM-6 protection-unchanged: the branch protection
// that enforces CM-1..CM-3 is itself a control, so every change to it is
// judged against policy, and weakening or deleting it is a finding.
package cm6

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-6"
	Name = "protection-unchanged"
)

// Control is CM-6. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-6 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did every change to branch protection or to a ruleset protecting the default branch leave it at least as strict as policy requires?",
		Subjects: "Every branch_protection_rule webhook (created, edited, deleted) on an in-scope repository " +
			"(OWNER/REPO:protection@<delivery id>); and every repository_ruleset webhook (created, edited, " +
			"deleted) of a repository ruleset that targets branches and whose conditions.ref_name includes " +
			"the default branch (~DEFAULT_BRANCH, ~ALL, refs/heads/<default> or an fnmatch pattern; exclude " +
			"wins), and each active ruleset backfill reads (OWNER/REPO:ruleset/<ruleset id>@<delivery id>). " +
			"An organisation ruleset's webhook (no repository in the payload) is judged once per event for " +
			"the organisation (ORG:ruleset/<ruleset id>@<delivery id>) when it protects the default branch of " +
			"an in-scope repository of the organisation: its conditions.repository_name include (names, fnmatch " +
			"patterns or ~ALL) matches the repository's name and its exclude does not, and its ref_name " +
			"conditions include that repository's default branch.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The rule or ruleset was created or edited and its resulting settings meet policy; a " +
				"ruleset without a pull_request rule that weakens nothing passes, and the reason says it holds " +
				"no review rule.",
			model.Fail: "The rule was deleted; or it was created or edited with a weakened setting: review " +
				"enforcement off, fewer required approving reviews than policy.min_approvals, stale " +
				"approvals not dismissed on push while policy.require_approval_on_final_commit is true, or " +
				"administrators not included while policy.require_admin_enforcement is true. The reason " +
				"names the rule, who changed it and every weakened setting. For a ruleset: it was deleted; " +
				"its enforcement is not active; an edit deleted its pull_request rule; its pull_request rule " +
				"requires fewer approving reviews than policy.min_approvals or keeps stale approvals while " +
				"CM-3 is enabled; or it lists a bypass actor (actor_type:actor_id) not in " +
				"policy.allowed_bypass_actors, whatever its bypass mode (reason: ruleset \"main protection\" (id 42) " +
				"edited by carol: bypass actor RepositoryRole:5 not allowed).",
			model.Error: "The event's action is not created, edited or deleted, so the change cannot be " +
				"judged; or an organisation ruleset protecting the default branch picks its repositories by " +
				"repository id or property, which the event does not resolve. Never reported as a fail.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Restore the branch protection rule to the policy settings and ask the person who changed " +
			"it why. Review every change merged while protection was weakened (CM-1..CM-3 findings for that " +
			"period). Limit who holds repository administration rights. An intended, approved change of " +
			"policy is recorded as a waiver naming its approver, and the policy configuration updated.",
		Evidence:    []control.Evidence{control.EvidenceProtection, control.EvidenceRulesets},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationChanges},
		Presents:    control.Presentation{AuthorAs: "changed by"},
	}
}
