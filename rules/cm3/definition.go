// Package cm3 is control CM-3 approval-covers-final-code: the approval that
// let a pull request merge must have been given on the code that was
// merged, not on an earlier commit that was changed after review.
package cm3

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-3"
	Name = "approval-covers-final-code"
)

// Control is CM-3. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-3 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did the qualifying approvals of each merged pull request cover its final commit, so that no code was added after review?",
		Subjects: "Every pull request merged into the default branch of an in-scope repository (OWNER/REPO#N) " +
			"that passes CM-2 through approvals given before the merge. Emergency changes passed by a retro " +
			"review, and pull requests CM-2 fails or does not apply to, are not subjects. The control is " +
			"off when policy.require_approval_on_final_commit is false.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "At least policy.min_approvals people gave a qualifying approval whose commit is the " +
				"pull request's final head commit (head.sha when merged). The reason names them and the full SHA.",
			model.Fail: "Fewer than policy.min_approvals qualifying approvals were given on the final head " +
				"commit: commits were pushed after approval. The reason names each approval's commit and the " +
				"final commit, as full SHAs.",
			model.Error:  "The final head commit of the merged pull request is unknown; this is never reported as a fail.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Have a reviewer review the commits pushed after the last approval (compare the approved " +
			"commit with the final commit) and record the review. Prevent recurrence by enabling \"Dismiss " +
			"stale pull request approvals when new commits are pushed\" in branch protection, so that a " +
			"push after approval requires a new approval. An accepted exception is recorded as a waiver " +
			"naming its approver.",
		Evidence:    []control.Evidence{control.EvidencePullRequests, control.EvidenceReviews, control.EvidenceIdentities},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationChanges},
	}
}
