// Package cm1 is control CM-1 change-via-pull-request: every change to an
// in-scope default branch must arrive through a merged pull request, the
// only path on which review can happen before the code lands.
package cm1

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-1"
	Name = "change-via-pull-request"
)

// Control is CM-1. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-1 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did every change to the default branch go through a pull request, rather than being pushed directly?",
		Subjects: "Every change to the default branch of an in-scope repository: each merged pull request " +
			"(OWNER/REPO#N) and each direct push (OWNER/REPO@<full commit SHA>), i.e. a push whose " +
			"resulting commit is not the merge commit of any merged pull request.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The change is a pull request merged into the default branch. " +
				"The reason names the pull request number and who merged it.",
			model.Fail: "The change is a direct push to the default branch. " +
				"The reason names the pushed commit (full SHA) and the pusher.",
			model.NotApplicable: "The direct push was made by a login listed in policy.direct_push_exempt " +
				"(compared after identity mapping); or the push later turned out to be the merge of a " +
				"pull request (reason \"merge of OWNER/REPO#N\"), which is then judged as that pull request.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Ask the pusher why the default branch was changed without a pull request, have the " +
			"pushed commit reviewed after the fact, and record the outcome (for an accepted exception, a " +
			"waiver naming the approver). Prevent recurrence with branch protection that requires a pull " +
			"request before merging and does not allow administrators to bypass it. Automation that must " +
			"push directly belongs in policy.direct_push_exempt, where it is visible to the auditor.",
		Evidence:    []control.Evidence{control.EvidencePullRequests, control.EvidencePushes, control.EvidenceIdentities},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationChanges},
	}
}
