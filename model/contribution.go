package model

import "time"

// How a login contributed to a pull request (Contribution.How).
const (
	// ContribOpened is the pull request's own record: Login is its author,
	// At its created_at, HeadRepo and HeadRef its head. Every pull_request
	// event gives one, so the window in which pushes to the head branch
	// count is known whatever arrives first.
	ContribOpened = "opened"
	// ContribPushed: Login pushed SHA to the head branch (synchronize
	// sender, push sender or pusher).
	ContribPushed = "pushed"
	// ContribAuthored and ContribCommitted: Login authored or committed
	// the commit SHA on the head branch.
	ContribAuthored  = "authored"
	ContribCommitted = "committed"
)

// Contribution is one piece of evidence that a login wrote or pushed code
// to a pull request. Pull-request-bound records (synchronize events,
// backfilled PR commits) carry PRNumber; pushes to a branch carry only
// HeadRef (PRNumber 0) and are bound to the pull requests whose head branch
// it is and that were open at At, when evidence is read: the push may
// arrive before or after the pull request's events.
type Contribution struct {
	Repo       string    `json:"repo"`      // the base repository, owner/name
	PRNumber   int       `json:"pr_number"` // 0: a push to HeadRef, bound by time
	HeadRepo   string    `json:"head_repo"` // the head branch's repository (ContribOpened)
	HeadRef    string    `json:"head_ref"`  // branch name without refs/heads/
	Login      string    `json:"login"`
	How        string    `json:"how"` // Contrib*
	SHA        string    `json:"sha"`
	At         time.Time `json:"at"` // push time, commit time or created_at
	DeliveryID string    `json:"delivery_id"`
	ReceivedAt time.Time `json:"received_at"`
}

// Contributor is a login that wrote or pushed code to a pull request, and
// the first evidence of it.
type Contributor struct {
	Login string `json:"login"`
	How   string `json:"how"` // Contrib* (never ContribOpened)
	SHA   string `json:"sha"`
}
