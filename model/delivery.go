package model

import (
	"reflect"
	"slices"
	"time"
)

// Delivery is one accepted event of any source (see the Source*
// constants) exactly as it arrived: the record of the evidence log. It is
// stored unchanged in the append-only, hash-chained raw table; everything
// else is derived from it.
type Delivery struct {
	Source     string    `json:"source"`      // SourceGitHub, SourceDeploy, SourceAccess, SourceGitHubREST
	Event      string    `json:"event"`       // X-GitHub-Event ("pull_request"), "deploy", the access format
	DeliveryID string    `json:"delivery_id"` // unique per Source: same id + other bytes is a Conflict
	ReceivedAt time.Time `json:"received_at"`
	SHA256     string    `json:"sha256"` // hex SHA-256 of Body
	Body       []byte    `json:"-"`
	// Meta is what the receiver derived from Body while checking it (a
	// deploy's or access event's fields, JSON), so the pipeline need not
	// parse it again; nil for GitHub. Not part of the evidence: Body is.
	Meta []byte `json:"-"`
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
	Access       []AccessEvent
	DeadLetters  []DeadLetter
	Conflicts    []Conflict
	// Contributions, Checks and Rulesets: who pushed or wrote code on a
	// pull request, check results per commit, ruleset states.
	Contributions []Contribution
	Checks        []CheckResult
	Rulesets      []RulesetEvent
}

// Append adds o's records to b's.
func (b *Batch) Append(o Batch) {
	bv, ov := reflect.ValueOf(b).Elem(), reflect.ValueOf(o)
	for i := 0; i < bv.NumField(); i++ {
		if f := bv.Field(i); f.Kind() == reflect.Slice && ov.Field(i).Len() > 0 {
			f.Set(reflect.AppendSlice(f, ov.Field(i)))
		}
	}
}

// Orgs returns the organisations whose organisation-level records (an
// organisation ruleset: no repository) the batch holds; any repository of
// theirs may be affected.
func (b *Batch) Orgs() []string {
	var out []string
	for _, r := range b.Rulesets {
		if r.Repo == "" && r.Org != "" && !slices.Contains(out, r.Org) {
			out = append(out, r.Org)
		}
	}
	return out
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
