package model

// ChangeRecords are the stored rows of one or more repositories that
// changes are derived from (rules/change): what a store reads, before
// anything is decided about them. A store may narrow what it reads with
// the derivation's own predicates (only merged snapshots, only pushes that
// moved a default branch) but decides nothing else: which snapshot of a
// pull request counts, which pushes are direct, and what each change holds
// are the derivation's.
type ChangeRecords struct {
	// PullRequests are snapshots of pull requests, any number per pull
	// request, in any order.
	PullRequests []PullRequest
	// Reviews are review events of those pull requests, in any order.
	Reviews []Review
	// Pushes are branch movements, in any order.
	Pushes []Push
	// Contributions and Checks are what binds to a merged pull request:
	// who pushed or wrote its code, and the check results of commits.
	Contributions []Contribution
	Checks        []CheckResult
}

// ChangeKey names a change the way an evidence bundle is asked for:
// OWNER/REPO#Number (Number > 0, SHA empty), or the commit SHA a change put
// on the default branch (Number 0): a pull request's merge commit or a
// direct push.
type ChangeKey struct {
	Repo   string
	Number int
	SHA    string
}
