package store

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/model"
)

// The columns evidence is read with, in the order the RowBinary decoders
// below read them; the names are the json tags of the row types, so the
// same statements decode through Query on any DB.
var (
	prColumns = []column{{"repo", kString}, {"number", kUInt32}, {"delivery_id", kString}, {"action", kString},
		{"state", kString}, {"merged", kBool}, {"merged_at", kTimeMilli}, {"merge_commit_sha", kString},
		{"head_sha", kString}, {"head_ref", kString}, {"base_ref", kString}, {"default_branch", kString},
		{"author", kString}, {"merged_by", kString}, {"title", kString}, {"body", kString}, {"url", kString},
		{"labels", kStrings}, {"updated_at", kTimeMilli}, {"received_at", kTimeMilli}}
	reviewColumns = []column{{"repo", kString}, {"pr_number", kUInt32}, {"review_id", kInt64}, {"delivery_id", kString},
		{"action", kString}, {"reviewer", kString}, {"state", kString}, {"commit_id", kString},
		{"submitted_at", kTimeMilli}, {"url", kString}, {"received_at", kTimeMilli}}
	pushColumns = []column{{"repo", kString}, {"ref", kString}, {"before", kString}, {"after", kString},
		{"delivery_id", kString}, {"default_branch", kString}, {"pusher", kString}, {"created", kBool},
		{"deleted", kBool}, {"forced", kBool}, {"pushed_at", kTimeMilli}, {"commit_shas", kStrings},
		{"messages", kStrings}, {"url", kString}, {"received_at", kTimeMilli}}
	protectionColumns = []column{{"repo", kString}, {"delivery_id", kString}, {"action", kString}, {"sender", kString},
		{"rule_name", kString}, {"review_enforcement", kString}, {"required_approvals", kInt32},
		{"dismiss_stale", kBool}, {"admin_enforced", kBool}, {"occurred_at", kTimeMilli}, {"received_at", kTimeMilli}}
	deployColumns = []column{{"source", kString}, {"id", kString}, {"service", kString}, {"environment", kString},
		{"sha", kString}, {"repo", kString}, {"status", kString}, {"actor", kString}, {"started_at", kTimeMilli},
		{"finished_at", kTimeMilli}, {"pipeline", kString}, {"url", kString}, {"version", kString},
		{"received_at", kTimeMilli}}
)

func decodeProtection(r *binReader) protectionRow {
	return protectionRow{Repo: r.str(), DeliveryID: r.str(), Action: r.str(), Sender: r.str(), RuleName: r.str(),
		ReviewEnforcement: r.str(), RequiredApprovals: int(r.i32()), DismissStale: r.boolean(),
		AdminEnforced: r.boolean(), OccurredAt: r.timeMilli(), ReceivedAt: r.timeMilli()}
}

func decodeDeploy(r *binReader) deployRow {
	return deployRow{Source: r.str(), ID: r.str(), Service: r.str(), Environment: r.str(), SHA: r.str(), Repo: r.str(),
		Status: r.str(), Actor: r.str(), StartedAt: r.timeMilli(), FinishedAt: r.timeMilli(), Pipeline: r.str(),
		URL: r.str(), Version: r.str(), ReceivedAt: r.timeMilli()}
}

// The same rows decoded straight into the model, for the RowBinary path:
// a full evaluation reads millions, and a copy each is not free.
func decodePRModel(r *binReader) model.PullRequest {
	return model.PullRequest{Repo: r.str(), Number: int(r.u32()), DeliveryID: r.str(), Action: r.str(), State: r.str(),
		Merged: r.boolean(), MergedAt: r.timeMilli().T(), MergeCommitSHA: r.str(), HeadSHA: r.str(), HeadRef: r.str(),
		BaseRef: r.str(), DefaultBranch: r.str(), Author: r.str(), MergedBy: r.str(), Title: r.str(), Body: r.str(),
		URL: r.str(), Labels: r.strs(), UpdatedAt: r.timeMilli().T(), ReceivedAt: r.timeMilli().T()}
}

func decodeReviewModel(r *binReader) model.Review {
	return model.Review{Repo: r.str(), PRNumber: int(r.u32()), ReviewID: r.i64(), DeliveryID: r.str(), Action: r.str(),
		Reviewer: r.str(), State: r.str(), CommitID: r.str(), SubmittedAt: r.timeMilli().T(), URL: r.str(),
		ReceivedAt: r.timeMilli().T()}
}

func decodePushModel(r *binReader) model.Push {
	return model.Push{Repo: r.str(), Ref: r.str(), Before: r.str(), After: r.str(), DeliveryID: r.str(),
		DefaultBranch: r.str(), Pusher: r.str(), Created: r.boolean(), Deleted: r.boolean(), Forced: r.boolean(),
		PushedAt: r.timeMilli().T(), CommitSHAs: r.strs(), Messages: r.strs(), URL: r.str(), ReceivedAt: r.timeMilli().T()}
}

// readModels runs query and returns one M per row: decoded straight from
// RowBinary when the DB can answer so, else through Query as rows R.
func readModels[R, M any](ctx context.Context, s *Store, query string, p Params, cols []column,
	decode func(*binReader) M, toModel func(R) M) ([]M, error) {
	r, ok, err := s.queryBinary(ctx, query, p, cols)
	if err != nil {
		return nil, err
	}
	var out []M
	if !ok {
		var rows []R
		if err := s.db.Query(ctx, query, p, &rows); err != nil {
			return nil, err
		}
		out = make([]M, len(rows))
		for i, row := range rows {
			out[i] = toModel(row)
		}
		return out, nil
	}
	for r.next() {
		out = append(out, decode(r))
	}
	return out, r.Err()
}

// readRows runs query and returns one T per row: as RowBinary when the DB
// can answer so, else through Query (the same columns, by their names).
func readRows[T any](ctx context.Context, s *Store, query string, p Params, cols []column, decode func(*binReader) T) ([]T, error) {
	r, ok, err := s.queryBinary(ctx, query, p, cols)
	if err != nil {
		return nil, err
	}
	var rows []T
	if !ok {
		err := s.db.Query(ctx, query, p, &rows)
		return rows, err
	}
	for r.next() {
		rows = append(rows, decode(r))
	}
	return rows, r.Err()
}

// The evidence statements, each over a set of repositories ({repos}).
// They narrow with the derivation's own predicates (change.MergedSnapshot,
// change.MovesDefaultBranch: merged snapshots, the default-branch chain)
// and decide nothing else: which snapshot counts and which pushes are
// direct is rules/change's. Rows come in the order the derivation sorts
// them into, which makes its sorting cheap.
var (
	evidencePRs = `SELECT ` + columnList(prColumns) + ` FROM pull_requests FINAL
WHERE repo IN {repos:Array(String)} AND merged AND action = 'closed' AND base_ref = default_branch
ORDER BY repo, number, received_at, delivery_id`
	// Reviews of pull requests that were never merged are no evidence; the
	// subquery (no FINAL: any snapshot that says merged) only narrows.
	evidenceReviews = `SELECT ` + columnList(reviewColumns) + ` FROM reviews FINAL
WHERE repo IN {repos:Array(String)} AND (repo, pr_number) IN (
    SELECT repo, number FROM pull_requests
    WHERE repo IN {repos:Array(String)} AND merged AND action = 'closed' AND base_ref = default_branch)
ORDER BY repo, pr_number, submitted_at, review_id, action = 'dismissed', delivery_id`
	// Ties of time and receipt (a backfilled push per commit) are broken by
	// commit, so the chain's order never depends on how parts were merged.
	evidenceChain = `SELECT ` + columnList(pushColumns) + ` FROM default_branch_pushes
WHERE repo IN {repos:Array(String)} ORDER BY repo, pushed_at, received_at, after, before`
	evidenceDeploys = `SELECT ` + columnList(deployColumns) + ` FROM deploys FINAL
WHERE repo IN {repos:Array(String)} ORDER BY repo, ` + deployTimeSQL + `, id`
	evidenceProtections = `SELECT ` + columnList(protectionColumns) + ` FROM protection_events FINAL
WHERE repo IN {repos:Array(String)} ORDER BY repo, occurred_at, delivery_id`
)

// RepoEvidence reads everything the controls judge about one repository:
// the rows its changes are derived from in Records (the merged snapshots
// of its pull requests, their reviews, the pushes that moved its default
// branch, contributions and check results), and its deploys, protection
// changes and rulesets. Changes, Pushes and MergeCommits are left for
// rules/change to derive.
func (s *Store) RepoEvidence(ctx context.Context, repo string) (*model.RepoEvidence, error) {
	evs, err := s.RepoEvidences(ctx, []string{repo})
	if err != nil {
		return nil, err
	}
	return evs[repo], nil
}

// RepoEvidences reads the evidence of several repositories, one statement
// per table for all of them: a full evaluation reads hundreds, and each
// statement costs the engine milliseconds before it reads a row. Every
// repository asked for has an entry, empty when nothing is stored.
func (s *Store) RepoEvidences(ctx context.Context, repos []string) (map[string]*model.RepoEvidence, error) {
	p := Params{"repos": ArrayParam(repos)}
	what := fmt.Sprint(repos)
	if len(repos) == 1 {
		what = repos[0]
	}
	prs, err := readModels(ctx, s, evidencePRs, p, prColumns, decodePRModel, prRow.model)
	if err != nil {
		return nil, fmt.Errorf("read merged pull requests of %s: %w", what, err)
	}
	revs, err := readModels(ctx, s, evidenceReviews, p, reviewColumns, decodeReviewModel, reviewRow.model)
	if err != nil {
		return nil, fmt.Errorf("read reviews of %s: %w", what, err)
	}
	chain, err := readModels(ctx, s, evidenceChain, p, pushColumns, decodePushModel, pushRow.model)
	if err != nil {
		return nil, fmt.Errorf("read default-branch pushes of %s: %w", what, err)
	}
	deploys, err := readRows(ctx, s, evidenceDeploys, p, deployColumns, decodeDeploy)
	if err != nil {
		return nil, fmt.Errorf("read deploys of %s: %w", what, err)
	}
	prot, err := readRows(ctx, s, evidenceProtections, p, protectionColumns, decodeProtection)
	if err != nil {
		return nil, fmt.Errorf("read protection events of %s: %w", what, err)
	}

	// The rows only: which of them are changes is rules/change's to say
	// (change.Derive), so the store never decides what a change is.
	out := make(map[string]*model.RepoEvidence, len(repos))
	for _, repo := range repos {
		out[repo] = &model.RepoEvidence{Repo: repo, Deploys: []model.Deploy{}}
	}
	for _, pr := range prs {
		if ev := out[pr.Repo]; ev != nil {
			ev.Records.PullRequests = append(ev.Records.PullRequests, pr)
		}
	}
	for _, r := range revs {
		if ev := out[r.Repo]; ev != nil {
			ev.Records.Reviews = append(ev.Records.Reviews, r)
		}
	}
	for _, p := range chain {
		if ev := out[p.Repo]; ev != nil {
			ev.Records.Pushes = append(ev.Records.Pushes, p)
		}
	}
	for _, r := range prot {
		if ev := out[r.Repo]; ev != nil {
			ev.Protections = append(ev.Protections, r.model())
		}
	}
	for _, r := range deploys {
		if ev := out[r.Repo]; ev != nil {
			ev.Deploys = append(ev.Deploys, r.model())
		}
	}
	if err := s.addDepth(ctx, repos, out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
