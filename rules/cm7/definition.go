// Package cm7 is control CM-7 checks-passed: the checks an organisation
// requires (CI, tests, scanners) concluded successfully on the exact code
// that was merged, before it was merged.
package cm7

import (
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-7"
	Name = "checks-passed"
)

// Control is CM-7. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-7 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did every required check pass on a pull request's final commit before it was merged?",
		Subjects: "Every pull request merged into the default branch of an in-scope repository (OWNER/REPO#N), " +
			"when policy.required_checks (check run names or commit status contexts) is set; with none set " +
			"CM-7 is not evaluated. Evidence: check_run and status webhooks, or the check runs and combined " +
			"status of the final head commit read by backfill. For each required check, the latest result on " +
			"the final head commit at or before the merge decides; a check run and a commit status of the same " +
			"name are one check. Emergency pull requests are judged the same way.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "Every required check concluded success (check runs also neutral or skipped while " +
				"policy.checks_allow_neutral is true); the reason lists them.",
			model.Fail: "A required check has no result on the final head commit before the merge, was still " +
				"running (queued, in progress, pending) at the merge, or concluded anything else (failure, " +
				"cancelled, timed_out, action_required, stale; statuses failure, error); the reason names each " +
				"check and its state (\"required check \\\"ci/test\\\" concluded failure on 9f8e7d6c…\").",
			model.Error: "The final head commit or the merge time of the pull request is unknown, so its " +
				"checks cannot be found; this is never reported as a fail.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "Run the failed or missing checks on the merged commit and record the result; find out " +
			"how the merge was possible without them and require them in branch protection or the ruleset " +
			"(required status checks, strict). An accepted exception is recorded as a waiver naming its approver.",
		Evidence:    []control.Evidence{control.EvidencePullRequests, control.EvidenceChecks},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationChanges},
	}
}
