package store

import (
	"github.com/changeproof/changeproof/model"
)

// Rows of the newer GitHub evidence: contributions, check results and
// ruleset states (migration 010).

type contributionRow struct {
	Repo       string `json:"repo"`
	PRNumber   int    `json:"pr_number"`
	HeadRepo   string `json:"head_repo"`
	HeadRef    string `json:"head_ref"`
	Login      string `json:"login"`
	How        string `json:"how"`
	SHA        string `json:"sha"`
	At         Time   `json:"at"`
	DeliveryID string `json:"delivery_id"`
	ReceivedAt Time   `json:"received_at"`
}

func contributionToRow(c model.Contribution) contributionRow {
	return contributionRow{c.Repo, c.PRNumber, c.HeadRepo, c.HeadRef, c.Login, c.How, c.SHA, Time(c.At), c.DeliveryID, Time(c.ReceivedAt)}
}

func (r contributionRow) model() model.Contribution {
	return model.Contribution{Repo: r.Repo, PRNumber: r.PRNumber, HeadRepo: r.HeadRepo, HeadRef: r.HeadRef, Login: r.Login,
		How: r.How, SHA: r.SHA, At: r.At.T(), DeliveryID: r.DeliveryID, ReceivedAt: r.ReceivedAt.T()}
}

type checkRow struct {
	Repo       string `json:"repo"`
	SHA        string `json:"sha"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	State      string `json:"state"`
	At         Time   `json:"at"`
	ID         int64  `json:"id"`
	URL        string `json:"url"`
	DeliveryID string `json:"delivery_id"`
	ReceivedAt Time   `json:"received_at"`
}

func checkToRow(c model.CheckResult) checkRow {
	return checkRow{c.Repo, c.SHA, c.Name, c.Kind, c.State, Time(c.At), c.ID, c.URL, c.DeliveryID, Time(c.ReceivedAt)}
}

func (r checkRow) model() model.CheckResult {
	return model.CheckResult{Repo: r.Repo, SHA: r.SHA, Name: r.Name, Kind: r.Kind, State: r.State, At: r.At.T(), ID: r.ID,
		URL: r.URL, DeliveryID: r.DeliveryID, ReceivedAt: r.ReceivedAt.T()}
}

type rulesetRow struct {
	Repo              string   `json:"repo"`
	Org               string   `json:"org"`
	DefaultBranch     string   `json:"default_branch"`
	RulesetID         int64    `json:"ruleset_id"`
	DeliveryID        string   `json:"delivery_id"`
	Action            string   `json:"action"`
	Sender            string   `json:"sender"`
	Name              string   `json:"name"`
	SourceType        string   `json:"source_type"`
	Target            string   `json:"target"`
	Enforcement       string   `json:"enforcement"`
	Include           []string `json:"include"`
	Exclude           []string `json:"exclude"`
	BypassActors      []string `json:"bypass_actors"`
	HasReviewRule     bool     `json:"has_review_rule"`
	RequiredApprovals int      `json:"required_approvals"`
	DismissStale      bool     `json:"dismiss_stale"`
	ReviewRuleDeleted bool     `json:"review_rule_deleted"`
	EnforcementFrom   string   `json:"enforcement_from"`
	URL               string   `json:"url"`
	OccurredAt        Time     `json:"occurred_at"`
	ReceivedAt        Time     `json:"received_at"`
	RepoInclude       []string `json:"repo_include"`
	RepoExclude       []string `json:"repo_exclude"`
	RepoTargeting     string   `json:"repo_targeting"`
}

func rulesetToRow(r model.RulesetEvent) rulesetRow {
	return rulesetRow{r.Repo, r.Org, r.DefaultBranch, r.RulesetID, r.DeliveryID, r.Action, r.Sender, r.Name, r.SourceType,
		r.Target, r.Enforcement, nonNil(r.Include), nonNil(r.Exclude), nonNil(r.BypassActors), r.HasReviewRule,
		r.RequiredApprovals, r.DismissStale, r.ReviewRuleDeleted, r.EnforcementFrom, r.URL, Time(r.OccurredAt), Time(r.ReceivedAt),
		nonNil(r.RepoInclude), nonNil(r.RepoExclude), r.RepoTargeting}
}

func (r rulesetRow) model() model.RulesetEvent {
	m := model.RulesetEvent{Repo: r.Repo, Org: r.Org, DefaultBranch: r.DefaultBranch, RulesetID: r.RulesetID,
		DeliveryID: r.DeliveryID, Action: r.Action, Sender: r.Sender, Name: r.Name, SourceType: r.SourceType,
		Target: r.Target, Enforcement: r.Enforcement, Include: nonNil(r.Include), Exclude: nonNil(r.Exclude),
		BypassActors: nonNil(r.BypassActors), HasReviewRule: r.HasReviewRule, RequiredApprovals: r.RequiredApprovals,
		DismissStale: r.DismissStale, ReviewRuleDeleted: r.ReviewRuleDeleted, EnforcementFrom: r.EnforcementFrom,
		URL: r.URL, OccurredAt: r.OccurredAt.T(), ReceivedAt: r.ReceivedAt.T(), RepoTargeting: r.RepoTargeting}
	if r.RepoTargeting != "" {
		m.RepoInclude, m.RepoExclude = nonNil(r.RepoInclude), nonNil(r.RepoExclude)
	}
	return m
}

// rowsOf converts records to rows.
func rowsOf[M, R any](ms []M, f func(M) R) []R {
	rows := make([]R, len(ms))
	for i, m := range ms {
		rows[i] = f(m)
	}
	return rows
}
