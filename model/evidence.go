package model

import "time"

// PullRequest is one snapshot of a pull request, taken from one delivery.
// Snapshots are kept per delivery so that the merged state can be chosen
// regardless of the order in which events arrived.
type PullRequest struct {
	Repo           string    `json:"repo"` // owner/name
	Number         int       `json:"number"`
	DeliveryID     string    `json:"delivery_id"`
	Action         string    `json:"action"`
	State          string    `json:"state"`
	Merged         bool      `json:"merged"`
	MergedAt       time.Time `json:"merged_at"`
	MergeCommitSHA string    `json:"merge_commit_sha"`
	HeadSHA        string    `json:"head_sha"`
	HeadRef        string    `json:"head_ref"`
	BaseRef        string    `json:"base_ref"`
	DefaultBranch  string    `json:"default_branch"`
	Author         string    `json:"author"`
	MergedBy       string    `json:"merged_by"`
	Title          string    `json:"title"`
	Body           string    `json:"body"`
	URL            string    `json:"url"`
	Labels         []string  `json:"labels"`
	UpdatedAt      time.Time `json:"updated_at"`
	ReceivedAt     time.Time `json:"received_at"`
}

// Review is one review event (submitted, edited or dismissed) on a pull
// request. All events are kept: they are the review's state history.
type Review struct {
	Repo        string    `json:"repo"`
	PRNumber    int       `json:"pr_number"`
	ReviewID    int64     `json:"review_id"`
	DeliveryID  string    `json:"delivery_id"`
	Action      string    `json:"action"` // submitted | edited | dismissed
	Reviewer    string    `json:"reviewer"`
	State       string    `json:"state"` // approved | changes_requested | commented | dismissed (lower case)
	CommitID    string    `json:"commit_id"`
	SubmittedAt time.Time `json:"submitted_at"`
	URL         string    `json:"url"`
	ReceivedAt  time.Time `json:"received_at"`
}

// Push is one movement of a branch from Before to After.
type Push struct {
	Repo          string    `json:"repo"`
	Ref           string    `json:"ref"`
	Before        string    `json:"before"`
	After         string    `json:"after"`
	DeliveryID    string    `json:"delivery_id"`
	DefaultBranch string    `json:"default_branch"`
	Pusher        string    `json:"pusher"`
	Created       bool      `json:"created"`
	Deleted       bool      `json:"deleted"`
	Forced        bool      `json:"forced"`
	PushedAt      time.Time `json:"pushed_at"` // repository.pushed_at, else head_commit.timestamp
	CommitSHAs    []string  `json:"commit_shas"`
	Messages      []string  `json:"messages"`
	URL           string    `json:"url"`
	ReceivedAt    time.Time `json:"received_at"`
}

// ProtectionEvent is one branch_protection_rule webhook.
type ProtectionEvent struct {
	Repo              string    `json:"repo"`
	DeliveryID        string    `json:"delivery_id"`
	Action            string    `json:"action"` // created | edited | deleted
	Sender            string    `json:"sender"`
	RuleName          string    `json:"rule_name"` // branch pattern
	ReviewEnforcement string    `json:"review_enforcement"`
	RequiredApprovals int       `json:"required_approvals"`
	DismissStale      bool      `json:"dismiss_stale"`
	AdminEnforced     bool      `json:"admin_enforced"`
	OccurredAt        time.Time `json:"occurred_at"` // rule.updated_at, else receipt
	ReceivedAt        time.Time `json:"received_at"`
}

// ChangeKind distinguishes the two kinds of change.
type ChangeKind string

const (
	KindPullRequest ChangeKind = "pull_request"
	KindDirectPush  ChangeKind = "direct_push"
)

// Change is one movement of a default branch: a merged pull request or a
// direct push, as defined in docs/controls.md, "Change". It is derived (never stored by
// hand), so its existence does not depend on the order events arrived in.
type Change struct {
	Subject    string     `json:"subject"` // OWNER/REPO#N or OWNER/REPO@sha
	Kind       ChangeKind `json:"kind"`
	Repo       string     `json:"repo"`
	OccurredAt time.Time  `json:"occurred_at"`
	URL        string     `json:"url"`

	// Pull requests.
	Number         int      `json:"number,omitempty"`
	Author         string   `json:"author,omitempty"`
	MergedBy       string   `json:"merged_by,omitempty"`
	Title          string   `json:"title,omitempty"`
	Body           string   `json:"body,omitempty"`
	HeadRef        string   `json:"head_ref,omitempty"`
	HeadSHA        string   `json:"head_sha,omitempty"`
	MergeCommitSHA string   `json:"merge_commit_sha,omitempty"`
	Labels         []string `json:"labels,omitempty"`
	Reviews        []Review `json:"reviews,omitempty"` // every review event, oldest first
	// Contributors are the logins besides the author that pushed or wrote
	// code on the pull request while it was open, one each, by login.
	Contributors []Contributor `json:"contributors,omitempty"`
	// Checks are the check results on HeadSHA, oldest first by At.
	Checks []CheckResult `json:"checks,omitempty"`

	// Direct pushes.
	SHA      string   `json:"sha,omitempty"`
	Before   string   `json:"before,omitempty"`
	Pusher   string   `json:"pusher,omitempty"`
	Messages []string `json:"messages,omitempty"`
}

// RepoEvidence is everything the controls read about one repository.
//
// A store fills Records and the other stored rows; Changes, Pushes and
// MergeCommits are derived from Records by rules/change (change.Derive)
// before any control reads them, so what a change is is decided in one
// place whatever the store.
type RepoEvidence struct {
	Repo string
	// Records are the stored rows changes are derived from.
	Records ChangeRecords
	// Changes are the repository's changes: merged pull requests by
	// number, then direct pushes by PushedAt and commit.
	Changes     []Change
	Protections []ProtectionEvent
	// Rulesets are the states of rulesets of this repository and of its
	// organisation, oldest first by OccurredAt.
	Rulesets []RulesetEvent
	// Pushes is the default-branch chain: every push that moved the default
	// branch (merges and direct pushes), oldest first by PushedAt.
	Pushes []Push
	// Deploys are the deploys of this repository's code (any environment
	// and status), oldest first by OccurredAt.
	Deploys []Deploy
	// MergeCommits maps a merged PR's merge_commit_sha to its number, so a
	// withdrawn direct-push subject can say which PR it was the merge of.
	MergeCommits map[string]int
}
