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
}

// WithMemo returns env with an empty memo of the analyses several controls
// make of one change (AnalyzeApprovals: CM-2 and CM-3 both need it), so that
// each is made once per evaluation. The memo belongs to one evaluation of
// one repository: an Env with a memo must not be used concurrently.
func (env Env) WithMemo() Env {
	env.memo = &memo{approvals: map[approvalsKey]Approvals{}}
	return env
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
