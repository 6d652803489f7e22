// Package ac1 is control AC-1 access-authorized: every access to an
// in-scope production system must be by a person listed as authorized for
// that system. Break-glass access is judged by AC-2 instead.
package ac1

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "AC-1"
	Name = "access-authorized"
)

// Control is AC-1. The zero value is ready to use.
type Control struct{}

var _ control.AccessControl = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents AC-1 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Was every access to an in-scope production system made by a person authorized for that system?",
		Subjects: "Every access event of a system listed in access.systems (SYSTEM:<event id>), including failed " +
			"attempts: an unauthorized person trying to get in is itself something the auditor must see, so " +
			"attempts are judged like successful access and the reason says \"(attempt failed)\". The " +
			"principal is mapped to a person through identities, and each entry of the system's authorized " +
			"list (an identity name or a login) is mapped the same way, so any login of an authorized person " +
			"is authorized. An entry may be a glob pattern (\"*\" any run of characters, \":\" and \"/\" " +
			"included; \"?\" one; \"[ab]\" a set; case ignored), such as " +
			"\"system:serviceaccount:kube-system:*\" or \"arn:aws:sts::123456789012:assumed-role/deploy-*\": " +
			"it matches the principal as written or the name of its person. Events of systems not listed " +
			"produce no finding.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The principal's person is in the system's authorized list, or a pattern there matches " +
				"the principal or its person. The reason names the person, " +
				"the principal used when it differs (\"alice (as alice-admin)\") and the system.",
			model.Fail: "The principal's person is not in the system's authorized list; the reason names the " +
				"principal and the system.",
			model.NotApplicable: "The event used one of the system's break_glass_roles (case-insensitive); " +
				"break-glass access is judged by AC-2.",
			model.Error: "The event names no principal, so who accessed the system cannot be told; this is " +
				"never reported as a fail.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Find out who the principal is and why they accessed the system. If the access was " +
			"legitimate, add the person to the system's authorized list (an access grant that should go " +
			"through your access-request process) or map the principal to its person in identities; if not, " +
			"revoke the credential, review what was done during the session, and treat it as a security " +
			"incident. An accepted one-off exception is recorded as a waiver naming its approver.",
		Evidence:    []control.Evidence{control.EvidenceAccess, control.EvidenceIdentities},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationAccess},
	}
}
