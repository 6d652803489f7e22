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

// Evidence is what a finding rests on. Every field is optional; controls fill
// the ones they used so that the verdict can be re-checked by a person.
type Evidence struct {
	URL            string          `json:"url,omitempty"`
	Author         string          `json:"author,omitempty"`
	MergedBy       string          `json:"merged_by,omitempty"`
	Pusher         string          `json:"pusher,omitempty"`
	SHA            string          `json:"sha,omitempty"`
	HeadSHA        string          `json:"head_sha,omitempty"`
	MergeCommitSHA string          `json:"merge_commit_sha,omitempty"`
	Labels         []string        `json:"labels,omitempty"`
	Reviews        []ReviewVerdict `json:"reviews,omitempty"`
	TicketKeys     []string        `json:"ticket_keys,omitempty"`
	Settings       []string        `json:"settings,omitempty"` // CM-6: each weakened setting
	// CM-7: each required check's deciding result ("ci/test: check_run
	// failure"); a check without one is absent.
	Checks      []string `json:"checks,omitempty"`
	DeliveryIDs []string `json:"delivery_ids,omitempty"`
	MergeOf     string   `json:"merge_of,omitempty"` // withdrawn direct push: the PR subject
	// CM-5: the changes a deploy shipped (chain order) and those that
	// failed CM-1..CM-3.
	Shipped       []string `json:"shipped,omitempty"`
	FailedChanges []string `json:"failed_changes,omitempty"`
	// Access controls: the event's principal, the person it maps to, the
	// system, role and ticket.
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
