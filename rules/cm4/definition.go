// Package cm4 is control CM-4 ticket-linked: every change must reference a
// ticket, which is where the change's business approval and purpose are
// recorded. It runs only when policy.require_ticket is true.
package cm4

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-4"
	Name = "ticket-linked"
)

// Control is CM-4. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-4 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Does every change reference a ticket matching policy.ticket_pattern?",
		Subjects: "Every change to the default branch of an in-scope repository: each merged pull request " +
			"(OWNER/REPO#N), searched in its title, head branch name and body; and each direct push " +
			"(OWNER/REPO@<full commit SHA>), searched in all its commit messages. The control is off " +
			"unless policy.require_ticket is true.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "At least one ticket key matching policy.ticket_pattern (default [A-Z][A-Z0-9]+-[0-9]+) " +
				"was found. The reason names the keys and where they were found; the evidence lists every key.",
			model.Fail:   "No text of the change matches policy.ticket_pattern. The reason names the pattern and the places searched.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Find or create the ticket that authorised the change and link it (for a pull request, " +
			"edit its title or body; the change is re-evaluated), or record a waiver naming its approver. " +
			"Prevent recurrence with a required status check or pull request template that enforces a " +
			"ticket key.",
		Evidence:    []control.Evidence{control.EvidencePullRequests, control.EvidencePushes, control.EvidenceTexts},
		Alert:       control.AlertNever,
		Populations: []control.Population{control.PopulationChanges},
	}
}
