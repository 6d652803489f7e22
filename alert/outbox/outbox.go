// Package outbox holds the alert outbox's types: the durable queue of
// Slack messages owed for findings. The alert package decides, renders and
// sends them; the store keeps them (store/alerts.go); both use these types,
// which import nothing but the model.
package outbox

import (
	"time"

	"github.com/changeproof/changeproof/model"
)

// State is where an alert is in the outbox.
type State string

// Alert states. Queued is the only non-terminal one: sent, cancelled and
// failed are final until an operator reopens a failed alert
// (RequeueFailedAlerts, `changeproof alerts retry`).
const (
	Queued    State = "queued"
	Sent      State = "sent"
	Cancelled State = "cancelled"
	Failed    State = "failed"
)

// Terminal reports whether the state is final.
func (s State) Terminal() bool { return s != Queued }

// Alert is one row of the alert outbox: a message owed for one outcome
// transition of one finding. ID is "RULE|SUBJECT|TRANSITION" and is the
// outbox key: an id is queued at most once.
type Alert struct {
	ID         string
	Rule       string
	Subject    string
	Transition string
	Repo       string
	CreatedAt  time.Time
	// DueAt is when the alert may be sent (CreatedAt plus any grace).
	DueAt     time.Time
	State     State
	Attempts  int
	LastError string
	SentAt    time.Time
	// ClaimedBy and ClaimedUntil are the sending lease (see the package
	// alert). Empty/zero when unclaimed.
	ClaimedBy    string
	ClaimedUntil time.Time
	// Finding is the finding the alert is about, as it was when queued.
	Finding   model.Finding
	UpdatedAt time.Time
	// Version orders the rows of one id (the alerts table's version column). Read it back and
	// pass it to UpdateAlerts unchanged: it is how a write supersedes the
	// row it was derived from.
	Version uint64
}

// Stats summarises the outbox.
type Stats struct {
	Queued, Sent, Cancelled, Failed int
	// OldestQueued is the creation time of the oldest queued alert; zero
	// when none is queued.
	OldestQueued time.Time
	// LastSent is the latest sent_at of any alert; zero when none was sent.
	LastSent time.Time
}
