// Package control defines what a control is: a written definition next to a
// pure check over evidence. Controls live in their own folders (rules/cm1,
// rules/cm2, ...) and import only this package and model.
package control

import (
	"regexp"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Definition is a control's documentation for auditors; the README's control
// catalogue is generated from it.
type Definition struct {
	ID          string                   // e.g. "CM-1"
	Name        string                   // e.g. "change-via-pull-request"
	Question    string                   // the question the control answers
	Subjects    string                   // what it judges, and the subject format
	Outcomes    map[model.Outcome]string // when each outcome is given
	Remediation string                   // what to do about a fail
}

// Policy is the policy section of the configuration, compiled.
// Zero values are not the defaults: build it with DefaultPolicy.
type Policy struct {
	MinApprovals                 int
	RequireApprovalOnFinalCommit bool
	EmergencyLabels              []string
	EmergencyReviewWindow        time.Duration
	RequireTicket                bool
	TicketPattern                *regexp.Regexp
	Bots                         []string
	BotChanges                   string // "require_approval" | "exempt"
	DirectPushExempt             []string
	RequireAdminEnforcement      bool
}

// DefaultPolicy returns the defaults documented in controls.md.
func DefaultPolicy() Policy {
	return Policy{
		MinApprovals:                 1,
		RequireApprovalOnFinalCommit: true,
		EmergencyLabels:              []string{"emergency", "hotfix"},
		EmergencyReviewWindow:        72 * time.Hour,
		TicketPattern:                regexp.MustCompile(`[A-Z][A-Z0-9]+-[0-9]+`),
		BotChanges:                   "require_approval",
		RequireAdminEnforcement:      true,
	}
}

// Env is everything a check may consult besides the evidence.
type Env struct {
	Policy     Policy
	Identities model.Identities
	Now        time.Time // evaluation time; windows are judged against it
	// ProductionEnvironments are scope.production_environments; compare
	// case-insensitively.
	ProductionEnvironments []string
	// Systems are the in-scope production systems (access.systems).
	Systems map[string]System
	// Prior holds the findings earlier controls produced in this same
	// evaluation, waivers applied: subject -> rule -> finding. The evaluator
	// runs controls in catalogue order, so CM-5 sees CM-1..CM-3.
	Prior map[string]map[string]model.Finding
}

// System is one in-scope production system.
type System struct {
	// Authorized are identity names or logins allowed to access it; compare
	// after identity mapping.
	Authorized []string
	// BreakGlassRoles are roles whose use is judged by AC-2.
	BreakGlassRoles []string
}

// AccessControl is a control over access events. CheckAccess has the same
// contract as Control.Check: pure, deterministic, safe for concurrent use.
// A control may implement both interfaces (AC-3 judges access events and
// changes).
type AccessControl interface {
	Definition() Definition
	CheckAccess(env Env, ev *model.AccessEvidence) []model.Finding
}

// Control is one built-in control.
//
// Check must be pure and deterministic: no I/O, no clock other than env.Now,
// safe for concurrent use. It returns one finding per subject it applies to
// in ev (Rule, Subject, Outcome, Reason, Repo, OccurredAt, Evidence set;
// EvaluatedAt and waivers are the evaluator's business).
type Control interface {
	Definition() Definition
	Check(env Env, ev *model.RepoEvidence) []model.Finding
}
