package model

import "time"

// EvaluationState is what a full evaluation remembers of one unit it judged
// (a repository, or an access system), beside the verdicts it recorded, so
// that the next full evaluation can leave the unit alone when nothing its
// verdicts depend on has changed.
//
// Digest identifies the stored evidence the verdicts were judged from,
// Fingerprint the configuration and the controls that judged it. NextDeadline
// is the earliest time at which time alone can change a verdict (a review
// window closing, a waiver expiring); zero means none. Due, when true, means
// the unit must be judged again whatever its digest: its verdicts depend on
// time in a way no deadline records, or they were judged without a digest
// (on notice of new evidence).
type EvaluationState struct {
	Scope        string // ScopeRepo or ScopeAccess
	Name         string // the repository or the access system
	Digest       uint64
	Fingerprint  uint64
	NextDeadline time.Time
	Due          bool
	EvaluatedAt  time.Time
}

// The scopes of an EvaluationState.
const (
	ScopeRepo   = "repo"
	ScopeAccess = "access"
)
