package alert

import (
	"context"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/model"
)

// Outbox is the durable queue alerts go through. The store implements it
// (store/alerts.go documents each method; cmd wires it); tests may fake it.
//
// Methods block on the store and must be safe for concurrent use.
type Outbox interface {
	// EnqueueAlerts queues the alerts whose ids are new and returns how
	// many it queued; known ids, in any state, are left alone.
	EnqueueAlerts(ctx context.Context, as []outbox.Alert) (int, error)
	// DueAlerts returns up to limit queued alerts due at now, in send
	// order, leased ones included.
	DueAlerts(ctx context.Context, now time.Time, limit int) ([]outbox.Alert, error)
	// Alerts returns the current rows of ids.
	Alerts(ctx context.Context, ids []string) ([]outbox.Alert, error)
	// UpdateAlerts writes new states of rows read from the outbox and sets
	// each element's Version to what it wrote.
	UpdateAlerts(ctx context.Context, as []outbox.Alert, now time.Time) error
	// AlertStats counts alerts by state.
	AlertStats(ctx context.Context) (outbox.Stats, error)
	// FindingsFor returns the current findings of the subjects.
	FindingsFor(ctx context.Context, subjects []string) ([]model.Finding, error)
}

// Transport delivers one message to Slack. *slack.Webhook and
// *slack.PostMessage implement it (slack.New picks one from the
// configuration); the slack package documents the errors, and
// slack.Retryable classifies them.
type Transport interface {
	Post(ctx context.Context, m slack.Message) error
}
