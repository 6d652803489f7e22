package model

import "time"

// Kinds of check result.
const (
	CheckKindRun    = "check_run" // a check run (GitHub Checks API)
	CheckKindStatus = "status"    // a commit status (Statuses API)
)

// CheckResult is one result of a check on a commit: a check run's state
// or a commit status. All are kept; the latest at or before a merge
// decides (CM-7).
type CheckResult struct {
	Repo string `json:"repo"`
	SHA  string `json:"sha"`
	Name string `json:"name"` // check run name or status context
	Kind string `json:"kind"` // CheckKind*
	// State is a completed check run's conclusion ("success", "failure",
	// "neutral", ...), "in_progress"/"queued" for a run not yet completed,
	// or a status's state ("success", "failure", "error", "pending").
	State string `json:"state"`
	// At is when the result was reached: completed_at (started_at while
	// running) or the status's updated_at.
	At         time.Time `json:"at"`
	ID         int64     `json:"id"` // check run id or status id
	URL        string    `json:"url"`
	DeliveryID string    `json:"delivery_id"`
	ReceivedAt time.Time `json:"received_at"`
}
