package model

import "time"

// Delivery is one accepted event exactly as it arrived. It is stored
// unchanged in the append-only raw table; everything else is derived from it.
type Delivery struct {
	Source     string    `json:"source"`      // "github", "deploy", "access"
	Event      string    `json:"event"`       // X-GitHub-Event, e.g. "pull_request"
	DeliveryID string    `json:"delivery_id"` // X-GitHub-Delivery; unique per Source
	ReceivedAt time.Time `json:"received_at"`
	SHA256     string    `json:"sha256"` // hex SHA-256 of Body
	Body       []byte    `json:"-"`
}

// DeadLetter is an accepted delivery that enrichment could not use, kept with
// the reason so that nothing accepted is silently dropped.
type DeadLetter struct {
	Source     string    `json:"source"`
	Event      string    `json:"event"`
	DeliveryID string    `json:"delivery_id"`
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
	Body       []byte    `json:"-"`
}

// Batch is what a set of deliveries adds to the store: the deliveries
// themselves and the canonical records derived from them.
type Batch struct {
	Deliveries   []Delivery
	PullRequests []PullRequest
	Reviews      []Review
	Pushes       []Push
	Protections  []ProtectionEvent
	Deploys      []Deploy
	DeadLetters  []DeadLetter
	// Contributions, Checks and Rulesets: who pushed or wrote code on a
	// pull request, check results per commit, ruleset states.
	Contributions []Contribution
	Checks        []CheckResult
	Rulesets      []RulesetEvent
}

// Repos returns the repositories the batch's records touch.
func (b *Batch) Repos() []string {
	seen := map[string]bool{}
	var out []string
	add := func(r string) {
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, p := range b.PullRequests {
		add(p.Repo)
	}
	for _, r := range b.Reviews {
		add(r.Repo)
	}
	for _, p := range b.Pushes {
		add(p.Repo)
	}
	for _, p := range b.Protections {
		add(p.Repo)
	}
	for _, d := range b.Deploys {
		add(d.Repo)
	}
	for _, c := range b.Contributions {
		add(c.Repo)
	}
	for _, c := range b.Checks {
		add(c.Repo)
	}
	for _, r := range b.Rulesets {
		add(r.Repo)
	}
	return out
}
