// Package ac2 is control AC-2 break-glass-justified: every use of a
// break-glass role on an in-scope production system must carry a ticket or
// justification that links it to a recorded reason. Every break-glass use
// is alerted, pass or fail, so that someone looks at each one.
package ac2

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "AC-2"
	Name = "break-glass-justified"
)

// Control is AC-2. The zero value is ready to use.
type Control struct{}

var _ control.AccessControl = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents AC-2 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did every use of a break-glass role on an in-scope production system carry a ticket justifying it?",
		Subjects: "Every access event of a system listed in access.systems whose role is one of that system's " +
			"break_glass_roles, compared case-insensitively (SYSTEM:<event id>). Failed attempts are judged " +
			"too, and the reason says \"(attempt failed)\": reaching for emergency access needs a reason " +
			"whether or not it worked. Events of systems not listed produce no finding.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The event's ticket/justification contains a key matching policy.ticket_pattern; the " +
				"reason names the person, the role and the ticket key(s), which the evidence also records.",
			model.Fail: "The event has no ticket, or its justification contains nothing matching " +
				"policy.ticket_pattern; the reason names the person, the role, the pattern and the " +
				"justification given, if any.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Ask the person who used the break-glass role for the incident or change it served, " +
			"record it in a ticket, and have the session reviewed by someone else. Make the break-glass " +
			"procedure require a ticket key before the role is granted (for example in the access broker's " +
			"request form). A justified exception is recorded as a waiver naming its approver.",
		Evidence:    []control.Evidence{control.EvidenceAccess, control.EvidenceIdentities},
		Alert:       control.AlertEveryJudgement,
		Populations: []control.Population{control.PopulationAccess},
	}
}
