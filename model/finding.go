package model

import "time"

// Outcome is the single verdict of a finding (docs/controls.md, "Findings and outcomes").
type Outcome string

const (
	Pass          Outcome = "pass"
	Fail          Outcome = "fail"
	Pending       Outcome = "pending"
	Waived        Outcome = "waived"
	NotApplicable Outcome = "not_applicable"
	Error         Outcome = "error"
)

// Outcomes lists every outcome in display order.
var Outcomes = []Outcome{Pass, Fail, Pending, Waived, NotApplicable, Error}

// Finding is a control's verdict on one subject.
type Finding struct {
	Rule        string    `json:"rule"`
	Subject     string    `json:"subject"`
	Outcome     Outcome   `json:"outcome"`
	Reason      string    `json:"reason"`
	Repo        string    `json:"repo"`
	OccurredAt  time.Time `json:"occurred_at"`
	EvaluatedAt time.Time `json:"evaluated_at"`
	Evidence    Evidence  `json:"evidence"`
	Waiver      *Waiver   `json:"waiver"`
}

// Same reports whether two findings say the same thing, ignoring when they
// were evaluated: only a different verdict is a new entry in the history.
func (f Finding) Same(g Finding) bool {
	return f.Rule == g.Rule && f.Subject == g.Subject && f.Outcome == g.Outcome &&
		f.Reason == g.Reason && f.OccurredAt.Equal(g.OccurredAt) &&
		waiverKey(f.Waiver) == waiverKey(g.Waiver)
}

func waiverKey(w *Waiver) string {
	if w == nil {
		return ""
	}
	return w.Rule + "\x00" + w.Subject + "\x00" + w.Reason + "\x00" + w.ApprovedBy + "\x00" + w.Expires.String()
}

// Evidence is what a finding rests on: one part per kind of control, each
// filled by the controls that judge with it, so that the verdict can be
// re-checked by a person. Every field is optional. The parts are embedded:
// the JSON is one flat object (the evidence API's shape), and a field is
// read as ev.Author whichever part holds it.
type Evidence struct {
	ChangeEvidence
	ReviewEvidence
	TicketEvidence
	SettingsEvidence
	ChecksEvidence
	SourceEvidence
	DeployEvidence
	PrincipalEvidence
}

// ChangeEvidence is where a change is, who made it and which commits: what
// every change-management finding shows.
type ChangeEvidence struct {
	URL            string   `json:"url,omitempty"`
	Author         string   `json:"author,omitempty"`
	MergedBy       string   `json:"merged_by,omitempty"`
	Pusher         string   `json:"pusher,omitempty"`
	SHA            string   `json:"sha,omitempty"`
	HeadSHA        string   `json:"head_sha,omitempty"`
	MergeCommitSHA string   `json:"merge_commit_sha,omitempty"`
	Labels         []string `json:"labels,omitempty"`
}

// ReviewEvidence is every review of a pull request with whether it counted
// as a qualifying approval and why not (approval controls).
type ReviewEvidence struct {
	Reviews []ReviewVerdict `json:"reviews,omitempty"`
}

// TicketEvidence is the ticket keys found for a change or an access.
type TicketEvidence struct {
	TicketKeys []string `json:"ticket_keys,omitempty"`
}

// SettingsEvidence is each weakened protection setting (settings
// controls).
type SettingsEvidence struct {
	Settings []string `json:"settings,omitempty"`
}

// ChecksEvidence is each required check's deciding result ("ci/test:
// check_run failure"); a check without one is absent (checks controls).
type ChecksEvidence struct {
	Checks []string `json:"checks,omitempty"`
}

// SourceEvidence is where a verdict's evidence came from: the deliveries
// it rests on and, for a withdrawn direct push, the pull request subject it
// turned out to be the merge of.
type SourceEvidence struct {
	DeliveryIDs []string `json:"delivery_ids,omitempty"`
	MergeOf     string   `json:"merge_of,omitempty"`
}

// DeployEvidence is the changes a deploy shipped (chain order) and those
// of them that failed the controls it inherits (deploy controls).
type DeployEvidence struct {
	Shipped       []string `json:"shipped,omitempty"`
	FailedChanges []string `json:"failed_changes,omitempty"`
}

// PrincipalEvidence is who acted on what system (access controls): the
// event's principal, the person it maps to, the system, role and ticket.
type PrincipalEvidence struct {
	Principal string `json:"principal,omitempty"`
	Person    string `json:"person,omitempty"`
	System    string `json:"system,omitempty"`
	Role      string `json:"role,omitempty"`
	Ticket    string `json:"ticket,omitempty"`
}

// ReviewVerdict records whether one review counted as a qualifying approval
// and, when it did not, why (policy-bot style: the explanation is data).
type ReviewVerdict struct {
	ReviewID    int64     `json:"review_id"`
	Reviewer    string    `json:"reviewer"`
	State       string    `json:"state"`
	CommitID    string    `json:"commit_id"`
	SubmittedAt time.Time `json:"submitted_at"`
	Counted     bool      `json:"counted"`
	Why         string    `json:"why"` // e.g. "self-approval by octocat"
}

// Waiver accepts a known failure until it expires (docs/controls.md, "Waivers").
type Waiver struct {
	Rule       string    `json:"rule"`
	Subject    string    `json:"subject"`
	Reason     string    `json:"reason"`
	ApprovedBy string    `json:"approved_by"`
	Expires    time.Time `json:"expires"`
}

// Active reports whether the waiver covers a failure evaluated at t: up to
// and including the moment Expires names.
func (w Waiver) Active(t time.Time) bool {
	return !t.After(w.Expires)
}
