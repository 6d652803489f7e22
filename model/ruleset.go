package model

import "time"

// RulesetEvent is one state of a repository or organisation ruleset: a
// repository_ruleset webhook, or a backfilled ruleset (Action "observed").
type RulesetEvent struct {
	// Repo is the repository of a repository ruleset; for an organisation
	// ruleset it is empty and Org names the organisation.
	Repo          string   `json:"repo"`
	Org           string   `json:"org"`
	DefaultBranch string   `json:"default_branch"` // of Repo, when known
	RulesetID     int64    `json:"ruleset_id"`
	DeliveryID    string   `json:"delivery_id"`
	Action        string   `json:"action"` // created | edited | deleted | observed
	Sender        string   `json:"sender"`
	Name          string   `json:"name"`
	SourceType    string   `json:"source_type"` // Repository | Organization | Enterprise
	Target        string   `json:"target"`      // branch | tag | push | repository
	Enforcement   string   `json:"enforcement"` // active | evaluate | disabled
	Include       []string `json:"include"`     // conditions.ref_name.include
	Exclude       []string `json:"exclude"`
	BypassActors  []string `json:"bypass_actors"` // "actor_type:actor_id", e.g. "RepositoryRole:5"
	HasReviewRule bool     `json:"has_review_rule"`
	// RequiredApprovals and DismissStale are the pull_request rule's
	// parameters, when HasReviewRule.
	RequiredApprovals int  `json:"required_approvals"`
	DismissStale      bool `json:"dismiss_stale"`
	// ReviewRuleDeleted: an edit's changes.rules.deleted held a
	// pull_request rule. EnforcementFrom is changes.enforcement.from.
	ReviewRuleDeleted bool   `json:"review_rule_deleted"`
	EnforcementFrom   string `json:"enforcement_from"`
	// RepoTargeting says how an organisation ruleset picks its
	// repositories: "name" (RepoInclude and RepoExclude hold
	// conditions.repository_name's patterns; "~ALL" includes all), "id"
	// (conditions.repository_id) or "property"
	// (conditions.repository_property), which the record does not resolve;
	// "" for a repository ruleset, or one without repository conditions.
	RepoTargeting string    `json:"repo_targeting,omitempty"`
	RepoInclude   []string  `json:"repo_include,omitempty"`
	RepoExclude   []string  `json:"repo_exclude,omitempty"`
	URL           string    `json:"url"`
	OccurredAt    time.Time `json:"occurred_at"` // ruleset updated_at, else receipt
	ReceivedAt    time.Time `json:"received_at"`
}
