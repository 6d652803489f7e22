// Package ac3 is control AC-3 no-access-after-termination: a person whose
// employment ended must not access production systems, nor author, merge,
// review or push code, after their termination time. It judges both access
// events and a repository's changes, so it implements both
// control.AccessControl and control.Control.
package ac3

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "AC-3"
	Name = "no-access-after-termination"
)

// Control is AC-3. The zero value is ready to use.
type Control struct{}

var (
	_ control.AccessControl = Control{}
	_ control.Control       = Control{}
)

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents AC-3 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did anyone access a production system, or author, merge, review or push code, after their termination time?",
		Subjects: "Only people whose identity has a terminated_at produce AC-3 findings; logins and principals " +
			"are mapped to people through identities, so every login of a terminated person counts. The " +
			"subjects are: every access event of a system listed in access.systems by such a person " +
			"(SYSTEM:<event id>), failed attempts included and marked \"(attempt failed)\", since a " +
			"terminated person's credential being tried at all must be seen; every merged pull request whose " +
			"author or merger is such a person (OWNER/REPO#N), judged by its merge time; every review by such " +
			"a person on a merged pull request (OWNER/REPO#N/review/<review id>, one finding per review however " +
			"often it was edited or dismissed), judged by its submission time; and, beyond the minimum the " +
			"specification asks, every direct push by such a person (OWNER/REPO@<full SHA>), judged by its " +
			"push time. Review events without a review id cannot be named as a subject and are not judged.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The event happened at or before the person's termination time; the reason gives both " +
				"times (RFC 3339, UTC).",
			model.Fail: "The event happened after the person's termination time; the reason names the person " +
				"(and the login or principal used, when it differs), what they did and both times. For a pull " +
				"request it names each terminated author or merger whose termination preceded the merge.",
			model.Error: "The event has no time (access time, merge time, review submission time or push " +
				"time), so it cannot be compared with the termination; this is never reported as a fail.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Treat it as a security incident: disable every account and credential of the person " +
			"(including shared and break-glass credentials they knew), review what was accessed or changed, " +
			"and have any code they authored, merged, reviewed or pushed after termination reviewed again by " +
			"someone else. Fix the offboarding process so that access is revoked no later than the " +
			"termination time. Correct terminated_at if it was recorded wrongly.",
		Evidence: []control.Evidence{control.EvidenceAccess, control.EvidencePullRequests, control.EvidenceReviews,
			control.EvidenceIdentities},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationAccess},
	}
}
