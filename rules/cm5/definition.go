// Package cm5 is control CM-5 deploy-traceable: every successful production
// deploy must ship only code that reached the default branch through
// changes that passed change review (CM-1, CM-2, CM-3 and, when checks are required, CM-7). It is the link
// between "the change was reviewed" and "the reviewed change is what runs in
// production".
package cm5

import (
	"slices"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// ID and Name identify the control in findings, waivers and alerts.
const (
	ID   = "CM-5"
	Name = "deploy-traceable"
)

// Control is CM-5. The zero value is ready to use.
type Control struct{}

var _ control.Control = Control{}

// Definition documents the control.
func (Control) Definition() control.Definition { return Definition() }

// Definition documents CM-5 for auditors.
func Definition() control.Definition {
	return control.Definition{
		ID:       ID,
		Name:     Name,
		Question: "Did every production deploy ship only code from the default branch, and did every change it shipped pass change review (CM-1, CM-2, CM-3, CM-7)?",
		Subjects: "Every successful production deploy (SERVICE@ENVIRONMENT@<deploy id>): a deploy with status " +
			"\"success\" whose environment is one of scope.production_environments (case-insensitive). Failed, " +
			"in-progress and non-production deploys are not judged. The changes a deploy of commit X ships are " +
			"read from the default-branch chain of pushes (each moving the branch from one commit to the next): " +
			"every change whose push lies after the commit of the service's previous successful production " +
			"deploy (by deploy time, ties broken by deploy id; a previous deploy whose commit is not on the " +
			"default branch is skipped), up to and including the push that moved the branch to X. A push that " +
			"is a pull request's merge ships that pull request (OWNER/REPO#N); any other push ships a direct " +
			"push (OWNER/REPO@<full SHA>). The first recorded production deploy of a service ships only the " +
			"change whose push moved the branch to X: history from before tracking began is never attributed " +
			"to it. The evidence lists every shipped change in chain order (oldest first) and those that " +
			"failed review.",
		Outcomes: map[model.Outcome]string{
			model.Pass: "The deployed commit is on the default branch and no shipped change has a CM-1, CM-2, CM-3 or " +
				"CM-7 fail (a waived fail does not count as a fail; the reason then names the waived changes). " +
				"The reason lists the shipped changes (the first 10, then how many more). A redeploy of the " +
				"commit the previous deploy shipped, or a rollback to a commit that precedes it on the chain, " +
				"ships no new changes and passes; the reason says which.",
			model.Fail: "The deployed commit (full SHA) is not the result of any recorded push to the default " +
				"branch: unknown or unmerged code reached production. Or at least one shipped change has a CM-1, " +
				"CM-2, CM-3 or CM-7 fail that is not waived; the reason lists those changes with the controls they " +
				"failed, in chain order.",
			model.Pending: "No shipped change failed, but at least one has a CM-2 or CM-3 finding that is still " +
				"pending (an emergency change inside its retro-review window); the reason names them.",
			model.Error: "The changes shipped could not be determined or judged, which is never reported as a " +
				"fail: the deploy names no commit; or the chain of pushes from the previous deploy's commit to " +
				"the deployed commit has a gap (a push is missing from the evidence); or a shipped change has no " +
				"CM-1 finding, or a CM-1, CM-2, CM-3 or CM-7 error.",
			model.Waived: "A fail covered by an unexpired waiver; the finding keeps the waiver's reason and approver.",
		},
		Remediation: "For a commit not on the default branch: find who deployed it and from where, get the " +
			"deployed code merged through a reviewed pull request (or roll back), and restrict production " +
			"deploys to commits of the default branch in the pipeline. For shipped changes that failed review: " +
			"remediate each listed change under its own control (after-the-fact review, recorded exception " +
			"as a waiver) and gate production deploys on those controls. For an error: supply the missing " +
			"push or deploy evidence (for example with `changeproof backfill github`), then re-evaluate.",
		Evidence: []control.Evidence{control.EvidenceDeploys, control.EvidencePullRequests, control.EvidencePushes,
			control.EvidencePriorVerdicts},
		Alert:       control.AlertOnFail,
		Populations: []control.Population{control.PopulationChanges, control.PopulationDeploys},
		DependsOn:   slices.Clone(reviewRules),
		Presents:    control.Presentation{Shipments: true},
	}
}
