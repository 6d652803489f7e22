// Package cm2 is control CM-2 independent-approval: every merged pull
// request must have been approved by someone other than its author before
// it was merged, with a retro-review path for declared emergencies.
package cm2

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-2"
	Name = "independent-approval"
)

// Control is CM-2. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-2 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Was every merged pull request approved by at least policy.min_approvals people other than its author before it was merged?",
		Subjects: "Every pull request merged into the default branch of an in-scope repository (OWNER/REPO#N). " +
			"Direct pushes have no pull request and are judged by CM-1. A qualifying approval is an " +
			"\"approved\" review by someone who is not the author (after mapping logins to people, so an " +
			"author's second login does not count), not a bot, not dismissed, not followed by a changes " +
			"request from the same reviewer, not by a contributor of the pull request (someone who pushed " +
			"to its head branch or authored or committed one of its commits while it was open) when " +
			"policy.exclude_contributors is true, and submitted at or before the merge. A pull request " +
			"authored by a bot (dependency bots, AI coding agents: a [bot] login or policy.bots) needs " +
			"policy.bot_min_approvals qualifying approvals (0: policy.min_approvals).",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The pull request has at least policy.min_approvals qualifying approvals from distinct " +
				"people (reason: \"approved by ...\"); or it carries an emergency label " +
				"(policy.emergency_labels) and a non-author, non-bot reviewer approved it after the merge, " +
				"within policy.emergency_review_window (reason names the retro reviewer and time).",
			model.Fail: "Too few qualifying approvals and no emergency path applies; the reason says why each " +
				"review did not count (self-approval, bot, dismissed, superseded by changes requested, " +
				"contributor: \"approval by bob did not count: bob pushed 9f8e7d6c… to the pull request\", after " +
				"merge). A bot-authored pull request's reason counts human approvals against " +
				"policy.bot_min_approvals (\"bot-authored: 1 of 2 required human approvals\"). For an emergency pull request: no retro review arrived within the window.",
			model.Pending: "An emergency pull request without enough qualifying approvals whose retro-review " +
				"window is still open; the reason gives the time the window closes.",
			model.NotApplicable: "The author is a bot and policy.bot_changes is \"exempt\".",
			model.Error: "The merge time of the pull request is unknown, so approvals cannot be told from " +
				"retro reviews; this is never reported as a fail.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Have an independent reviewer review the merged change now and record the review. " +
			"Find out how the merge was possible without approval and prevent it with branch protection " +
			"(required approving reviews at least policy.min_approvals, dismiss stale approvals, include " +
			"administrators). Emergency changes must carry an emergency label and be reviewed within the " +
			"retro-review window. An accepted exception is recorded as a waiver naming its approver.",
		Evidence: []control.Evidence{control.EvidencePullRequests, control.EvidenceReviews,
			control.EvidenceContributors, control.EvidenceIdentities},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationChanges},
		Presents:    control.Presentation{ReviewVerdicts: true},
	}
}
