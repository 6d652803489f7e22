// Package control defines what a control is: a written definition next to a
// pure check over evidence. Controls live in their own folders (rules/cm1,
// rules/cm2, ...) and import only this package and model.
package control

import (
	"regexp"
	"time"

	"github.com/changeproof/changeproof/config"

	"github.com/changeproof/changeproof/model"
)

// Definition is everything known about a control besides its check: the
// documentation auditors read (the catalogue in README.md and
// docs/controls.md is generated from it) and what other parts of the
// product need to know about it. Alerting, the audit populations, evidence
// bundles and the evaluation order all read these fields; no package
// outside rules/ names a control, so a new control is one folder plus one
// line in the registry (rules/catalog.go).
type Definition struct {
	ID          string                   // e.g. "CM-1"
	Name        string                   // e.g. "change-via-pull-request"
	Question    string                   // the question the control answers
	Subjects    string                   // what it judges, and the subject format
	Outcomes    map[model.Outcome]string // when each outcome is given
	Remediation string                   // what to do about a fail

	// Evidence is what the control reads, in the catalogue's words.
	Evidence []Evidence
	// Alert says which of its verdicts are sent to Slack.
	Alert AlertPolicy
	// Populations are the audit populations whose members carry this
	// control's outcome as a column named by ID, in catalogue order.
	Populations []Population
	// DependsOn are the controls whose verdicts on the same evaluation it
	// reads from Env.Prior; the registry evaluates them first.
	DependsOn []string
	// Presents says how messages and evidence bundles show its findings.
	Presents Presentation
}

// Evidence names one kind of evidence a control reads.
type Evidence string

// The kinds of evidence controls read.
const (
	EvidencePullRequests  Evidence = "merged pull requests"
	EvidencePushes        Evidence = "pushes to the default branch"
	EvidenceReviews       Evidence = "reviews"
	EvidenceContributors  Evidence = "pull request contributors"
	EvidenceTexts         Evidence = "pull request titles, bodies, branches and commit messages"
	EvidenceProtection    Evidence = "branch protection events"
	EvidenceRulesets      Evidence = "rulesets"
	EvidenceChecks        Evidence = "check runs and commit statuses"
	EvidenceDeploys       Evidence = "deploys"
	EvidenceAccess        Evidence = "access events"
	EvidenceIdentities    Evidence = "identities"
	EvidencePriorVerdicts Evidence = "other controls' verdicts"
)

// AlertPolicy says which verdicts of a control are alerted. The zero value
// alerts none.
type AlertPolicy int

const (
	// AlertNever: no verdict of the control is sent.
	AlertNever AlertPolicy = iota
	// AlertOnFail: a subject's first fail is sent, once.
	AlertOnFail
	// AlertEveryJudgement: every subject the control judges (pass, fail
	// or waived; not pending, error or not_applicable, which judge
	// nothing) is sent, once.
	AlertEveryJudgement
)

// String is the policy as the catalogue shows it.
func (a AlertPolicy) String() string {
	switch a {
	case AlertOnFail:
		return "on its first fail per subject"
	case AlertEveryJudgement:
		return "every judged subject (pass, fail or waived)"
	}
	return "never"
}

// Population is the name of an audit population.
type Population string

// The audit populations.
const (
	PopulationChanges Population = "changes" // merged pull requests and direct pushes
	PopulationDeploys Population = "deploys" // production deploys
	PopulationAccess  Population = "access"  // access events to in-scope systems
)

// Presentation says how a control's findings are shown beyond their
// reason. The zero value shows nothing special.
type Presentation struct {
	// AuthorAs is how a message names Evidence.Author ("changed by" for a
	// settings change); empty means "author".
	AuthorAs string
	// ReviewVerdicts: its findings' Evidence.Reviews are the change's
	// review verdicts (why each approval did or did not count), shown in
	// the change's evidence bundle. The first such control in catalogue
	// order is the one shown.
	ReviewVerdicts bool
	// Shipments: it judges deploys and its findings list the changes each
	// shipped (Evidence.Shipped); a change's bundle shows the deploys that
	// shipped it with this verdict.
	Shipments bool
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
	// ExcludeContributors: an approval by a contributor of the pull
	// request (someone who pushed or wrote code on it) does not count.
	ExcludeContributors bool
	// BotMinApprovals is the qualifying approvals a bot-authored pull
	// request needs; 0 means MinApprovals.
	BotMinApprovals int
	// AllowedBypassActors are ruleset bypass actors ("RepositoryRole:5",
	// "Integration:12345") that do not weaken CM-6; compare
	// case-insensitively.
	AllowedBypassActors []string
	// RequiredChecks are the check run names and commit status contexts
	// CM-7 requires; none means CM-7 is not evaluated.
	RequiredChecks []string
	// ChecksAllowNeutral: neutral and skipped check runs count as passed.
	ChecksAllowNeutral bool
}

// DefaultPolicy returns the configuration's default policy
// (config.Default), compiled; docs/configuration.md lists each default.
func DefaultPolicy() Policy {
	return PolicyOf(config.Default().Policy)
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

	memo *memo // see WithMemo
}

// memo keeps analyses the controls of one evaluation share.
type memo struct {
	approvals map[approvalsKey]Approvals
	deadline  time.Time // the earliest deadline Open found still open
}

// WithMemo returns env with an empty memo of the analyses several controls
// make of one change (AnalyzeApprovals: CM-2 and CM-3 both need it), so that
// each is made once per evaluation. The memo belongs to one evaluation of
// one repository: an Env with a memo must not be used concurrently.
func (env Env) WithMemo() Env {
	env.memo = &memo{approvals: map[approvalsKey]Approvals{}}
	return env
}

// Open reports whether deadline has not passed at env.Now: a window that
// is still open. A check whose verdict changes when a deadline passes asks
// through Open, never by comparing with env.Now itself, so that the
// evaluator learns (NextDeadline) when to judge again without new evidence.
func (env Env) Open(deadline time.Time) bool {
	if env.Now.After(deadline) {
		return false
	}
	if m := env.memo; m != nil && (m.deadline.IsZero() || deadline.Before(m.deadline)) {
		m.deadline = deadline
	}
	return true
}

// NextDeadline is the earliest deadline Open found still open with this
// env's memo (WithMemo), or zero: after it, time alone may change a
// verdict.
func (env Env) NextDeadline() time.Time {
	if env.memo == nil {
		return time.Time{}
	}
	return env.memo.deadline
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
//
// Each event is judged on its own (its findings do not depend on the other
// events of ev), from its ID, System, Time, Principal, Role, Ticket and
// Result only: full evaluations read no other field of millions of stored
// events, and judge events that agree on Principal, Role, Ticket and Result
// once when their findings depend on ID and Time only through Subject and
// OccurredAt (checked, not assumed).
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

// Definer is anything with a control's Definition: every Control and
// AccessControl.
type Definer interface {
	Definition() Definition
}
