package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
)

var (
	contributionColumns = []column{{"repo", kString}, {"pr_number", kUInt32}, {"head_repo", kString}, {"head_ref", kString},
		{"login", kString}, {"how", kString}, {"sha", kString}, {"at", kTimeMilli}, {"delivery_id", kString},
		{"received_at", kTimeMilli}}
	checkColumns = []column{{"repo", kString}, {"sha", kString}, {"name", kString}, {"kind", kString}, {"state", kString},
		{"at", kTimeMilli}, {"id", kInt64}, {"url", kString}, {"delivery_id", kString}, {"received_at", kTimeMilli}}
	rulesetColumns = []column{{"repo", kString}, {"org", kString}, {"default_branch", kString}, {"ruleset_id", kInt64},
		{"delivery_id", kString}, {"action", kString}, {"sender", kString}, {"name", kString}, {"source_type", kString},
		{"target", kString}, {"enforcement", kString}, {"include", kStrings}, {"exclude", kStrings},
		{"bypass_actors", kStrings}, {"has_review_rule", kBool}, {"required_approvals", kInt32}, {"dismiss_stale", kBool},
		{"review_rule_deleted", kBool}, {"enforcement_from", kString}, {"url", kString}, {"occurred_at", kTimeMilli},
		{"received_at", kTimeMilli}, {"repo_include", kStrings}, {"repo_exclude", kStrings}, {"repo_targeting", kString}}
)

func decodeContribution(r *binReader) contributionRow {
	return contributionRow{Repo: r.str(), PRNumber: int(r.u32()), HeadRepo: r.str(), HeadRef: r.str(), Login: r.str(),
		How: r.str(), SHA: r.str(), At: r.timeMilli(), DeliveryID: r.str(), ReceivedAt: r.timeMilli()}
}

func decodeCheck(r *binReader) checkRow {
	return checkRow{Repo: r.str(), SHA: r.str(), Name: r.str(), Kind: r.str(), State: r.str(), At: r.timeMilli(),
		ID: r.i64(), URL: r.str(), DeliveryID: r.str(), ReceivedAt: r.timeMilli()}
}

func decodeRuleset(r *binReader) rulesetRow {
	return rulesetRow{Repo: r.str(), Org: r.str(), DefaultBranch: r.str(), RulesetID: r.i64(), DeliveryID: r.str(),
		Action: r.str(), Sender: r.str(), Name: r.str(), SourceType: r.str(), Target: r.str(), Enforcement: r.str(),
		Include: r.strs(), Exclude: r.strs(), BypassActors: r.strs(), HasReviewRule: r.boolean(),
		RequiredApprovals: int(r.i32()), DismissStale: r.boolean(), ReviewRuleDeleted: r.boolean(),
		EnforcementFrom: r.str(), URL: r.str(), OccurredAt: r.timeMilli(), ReceivedAt: r.timeMilli(),
		RepoInclude: r.strs(), RepoExclude: r.strs(), RepoTargeting: r.str()}
}

var (
	// Only what can bind to a merged pull request: its own records, and
	// pushes to a branch that is some merged pull request's head. The
	// subqueries (no FINAL: any snapshot that says merged) only narrow.
	evidenceContributions = `SELECT ` + columnList(contributionColumns) + ` FROM contributions FINAL
WHERE repo IN {repos:Array(String)} AND (
    (repo, pr_number) IN (
        SELECT repo, number FROM pull_requests
        WHERE repo IN {repos:Array(String)} AND merged AND action = 'closed' AND base_ref = default_branch)
    OR (pr_number = 0 AND (repo, head_ref) IN (
        SELECT repo, head_ref FROM pull_requests
        WHERE repo IN {repos:Array(String)} AND merged AND action = 'closed' AND base_ref = default_branch)))
ORDER BY repo, head_ref, pr_number, how, login, sha`
	// Only the merged pull requests' final head commits are read: a
	// repository's other commits have check results too, by the thousand.
	evidenceChecks = `SELECT ` + columnList(checkColumns) + ` FROM check_results FINAL
WHERE repo IN {repos:Array(String)} AND (repo, sha) IN (
    SELECT repo, head_sha FROM pull_requests
    WHERE repo IN {repos:Array(String)} AND merged AND action = 'closed' AND base_ref = default_branch)
ORDER BY repo, sha, at, name, kind, state`
	evidenceRulesets = `SELECT ` + columnList(rulesetColumns) + ` FROM ruleset_events FINAL
WHERE repo IN {repos:Array(String)} OR (repo = '' AND org IN {orgs:Array(String)})
ORDER BY occurred_at, ruleset_id, delivery_id`
)

// addDepth reads the contributions, check results and rulesets of repos
// into their evidence: the contributions and check results that may bind
// to a merged pull request into Records (rules/change binds them), each
// repository's Rulesets (its own and its organisation's).
func (s *Store) addDepth(ctx context.Context, repos []string, out map[string]*model.RepoEvidence) error {
	p := Params{"repos": ArrayParam(repos)}
	var orgs []string
	for _, r := range repos {
		if o, _, ok := strings.Cut(r, "/"); ok && !slices.Contains(orgs, o) {
			orgs = append(orgs, o)
		}
	}
	p["orgs"] = ArrayParam(orgs)
	contribs, err := readRows(ctx, s, evidenceContributions, p, contributionColumns, decodeContribution)
	if err != nil {
		return fmt.Errorf("read contributions: %w", err)
	}
	checks, err := readRows(ctx, s, evidenceChecks, p, checkColumns, decodeCheck)
	if err != nil {
		return fmt.Errorf("read check results: %w", err)
	}
	rulesets, err := readRows(ctx, s, evidenceRulesets, p, rulesetColumns, decodeRuleset)
	if err != nil {
		return fmt.Errorf("read rulesets: %w", err)
	}
	for _, c := range contribs {
		if ev := out[c.Repo]; ev != nil {
			ev.Records.Contributions = append(ev.Records.Contributions, c.model())
		}
	}
	for _, c := range checks {
		if ev := out[c.Repo]; ev != nil {
			ev.Records.Checks = append(ev.Records.Checks, c.model())
		}
	}
	for _, r := range rulesets {
		m := r.model()
		for _, repo := range repos {
			owner, _, _ := strings.Cut(repo, "/")
			if m.Repo == repo || (m.Repo == "" && m.Org == owner) {
				out[repo].Rulesets = append(out[repo].Rulesets, m)
			}
		}
	}
	return nil
}

// Rulesets returns the recorded states of repo's rulesets and its
// organisation's, oldest first.
func (s *Store) Rulesets(ctx context.Context, repo string) ([]model.RulesetEvent, error) {
	org, _, _ := strings.Cut(repo, "/")
	rows, err := readRows(ctx, s, evidenceRulesets, Params{"repos": ArrayParam([]string{repo}), "orgs": ArrayParam([]string{org})},
		rulesetColumns, decodeRuleset)
	if err != nil {
		return nil, fmt.Errorf("read rulesets of %s: %w", repo, err)
	}
	out := make([]model.RulesetEvent, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}
