package model

import "time"

// Deploy is one deployment of a service, from CI/CD (POST /v1/deploys,
// `changeproof ingest deploy`) or from a GitHub deployment_status webhook.
type Deploy struct {
	ID          string    `json:"id"`     // unique per Source; a repeated id is the same deploy
	Source      string    `json:"source"` // "api" (CI/CD) or "github" (deployment_status)
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	SHA         string    `json:"sha"`  // 40 hex, lower case
	Repo        string    `json:"repo"` // owner/name, given or mapped from the service
	Status      string    `json:"status"`
	Actor       string    `json:"actor"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Pipeline    string    `json:"pipeline,omitempty"`
	URL         string    `json:"url,omitempty"`
	Version     string    `json:"version,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`
	// Raw is the deploy's object as received (its evidence bytes) and Line
	// the input line it started on; neither is a column of the record.
	Raw  string `json:"-"`
	Line int    `json:"-"`
}

// Deploy statuses (docs/http.md, "Ingest endpoints").
const (
	DeploySuccess    = "success"
	DeployFailure    = "failure"
	DeployInProgress = "in_progress"
)

// OccurredAt is the deploy's event time: when it finished, else when it
// started. "Previous deploy" is judged by it, never by receipt.
func (d Deploy) OccurredAt() time.Time {
	if !d.FinishedAt.IsZero() {
		return d.FinishedAt
	}
	return d.StartedAt
}

// Subject is the deploy's finding subject: SERVICE@ENVIRONMENT@<id>.
func (d Deploy) Subject() string { return d.Service + "@" + d.Environment + "@" + d.ID }

// AccessEvent is one access to a production system.
type AccessEvent struct {
	ID         string    `json:"id"` // unique per System
	System     string    `json:"system"`
	Time       time.Time `json:"time"`
	Principal  string    `json:"principal"`
	Action     string    `json:"action"`
	Result     string    `json:"result"` // success | failure
	Role       string    `json:"role,omitempty"`
	Ticket     string    `json:"ticket,omitempty"`
	SourceIP   string    `json:"source_ip,omitempty"`
	Source     string    `json:"source,omitempty"` // the log it came from, as given
	Format     string    `json:"format"`           // generic | k8s-audit | sshd
	Raw        string    `json:"raw"`              // the bytes that made the event, as received
	ReceivedAt time.Time `json:"received_at"`
	Line       int       `json:"-"` // the input line it came from (1-based; 0 = unknown), for answers only
}

// Subject is the event's finding subject: SYSTEM:<event id>.
func (e AccessEvent) Subject() string { return e.System + ":" + e.ID }

// AccessEvidence is a set of access events of one system, judged together.
type AccessEvidence struct {
	System string
	Events []AccessEvent
}
