package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/changeproof/changeproof/model"
)

// The evidence of many changes at once, for the auditor's sample: each
// reader here answers for a whole sample in one or two statements what the
// one-change readers (PushesTo, kept in export_test.go as a test oracle;
// Findings; DeploysOf) answer for one, with the same rows in the same order
// per change.

// repoSHA is a (repository, commit) pair.
type repoSHA struct{ repo, sha string }

// ChangeRecordsOf reads the rows the changes keys name are derived from
// (change.Lookup finds them there), whatever the keys turn out to name:
// every merged snapshot of each pull request numbered, and of each pull
// request some merged snapshot of which has a commit asked for as its merge
// commit; those pull requests' reviews, contributions that may bind to
// them and the check results of their head commits; and the pushes that
// moved a default branch to a commit asked for. A handful of statements
// however many keys.
func (s *Store) ChangeRecordsOf(ctx context.Context, keys []model.ChangeKey) (model.ChangeRecords, error) {
	var rec model.ChangeRecords
	var pairs, shaPairs []string
	for _, k := range keys {
		if k.Number > 0 {
			pairs = append(pairs, "("+QuoteString(k.Repo)+","+strconv.Itoa(k.Number)+")")
		}
		if k.SHA != "" {
			shaPairs = append(shaPairs, "("+QuoteString(k.Repo)+","+QuoteString(k.SHA)+")")
		}
	}
	if len(pairs)+len(shaPairs) == 0 {
		return rec, nil
	}
	// The pull requests' merged snapshots. The narrowing is on key columns,
	// so it may run before FINAL (PREWHERE): every version of a row passes
	// or none does. The subquery (no FINAL: any snapshot that says merged)
	// only narrows to the pull requests merged as an asked-for commit.
	var narrow []string
	p := Params{}
	if len(pairs) > 0 {
		narrow = append(narrow, "(repo, number) IN {pairs:Array(Tuple(String, UInt32))}")
		p["pairs"] = "[" + strings.Join(pairs, ",") + "]"
	}
	if len(shaPairs) > 0 {
		narrow = append(narrow, `(repo, number) IN (SELECT repo, number FROM pull_requests
    WHERE (repo, merge_commit_sha) IN {sha_pairs:Array(Tuple(String, String))}
      AND merged AND action = 'closed' AND base_ref = default_branch)`)
		p["sha_pairs"] = "[" + strings.Join(shaPairs, ",") + "]"
	}
	var prs []prRow
	if err := s.db.Query(ctx, `SELECT * FROM pull_requests FINAL
PREWHERE `+strings.Join(narrow, " OR ")+`
WHERE merged AND action = 'closed' AND base_ref = default_branch
ORDER BY repo, number, received_at, delivery_id`, p, &prs); err != nil {
		return rec, fmt.Errorf("read merged pull requests: %w", err)
	}
	var found, heads, repos []string
	for _, r := range prs {
		rec.PullRequests = append(rec.PullRequests, r.model())
		found = append(found, "("+QuoteString(r.Repo)+","+strconv.Itoa(r.Number)+")")
		heads = append(heads, "("+QuoteString(r.Repo)+","+QuoteString(r.HeadSHA)+")")
		if !slices.Contains(repos, r.Repo) {
			repos = append(repos, r.Repo)
		}
	}
	if len(found) > 0 {
		var revs []reviewRow
		if err := s.db.Query(ctx, `SELECT * FROM reviews FINAL
PREWHERE (repo, pr_number) IN {pairs:Array(Tuple(String, UInt32))}
ORDER BY repo, pr_number, submitted_at, review_id, action = 'dismissed', delivery_id`,
			Params{"pairs": "[" + strings.Join(found, ",") + "]"}, &revs); err != nil {
			return rec, fmt.Errorf("read reviews: %w", err)
		}
		for _, r := range revs {
			rec.Reviews = append(rec.Reviews, r.model())
		}
		contribs, err := readRows(ctx, s, evidenceContributions, Params{"repos": ArrayParam(repos)}, contributionColumns, decodeContribution)
		if err != nil {
			return rec, fmt.Errorf("read contributions: %w", err)
		}
		for _, c := range contribs {
			rec.Contributions = append(rec.Contributions, c.model())
		}
		checks, err := readRows(ctx, s, `SELECT `+columnList(checkColumns)+` FROM check_results FINAL
WHERE (repo, sha) IN {pairs:Array(Tuple(String, String))} ORDER BY repo, sha, at, name, kind, state`,
			Params{"pairs": "[" + strings.Join(heads, ",") + "]"}, checkColumns, decodeCheck)
		if err != nil {
			return rec, fmt.Errorf("read check results: %w", err)
		}
		for _, c := range checks {
			rec.Checks = append(rec.Checks, c.model())
		}
	}
	if len(shaPairs) > 0 {
		var pushes []pushRow
		if err := s.db.Query(ctx, `SELECT * FROM default_branch_pushes
WHERE (repo, after) IN {pairs:Array(Tuple(String, String))}
ORDER BY repo, pushed_at, received_at, after, before`,
			Params{"pairs": "[" + strings.Join(shaPairs, ",") + "]"}, &pushes); err != nil {
			return rec, fmt.Errorf("read default-branch pushes: %w", err)
		}
		for _, r := range pushes {
			rec.Pushes = append(rec.Pushes, r.model())
		}
	}
	return rec, nil
}

// PushesToEach is PushesTo for every (repository, commit) pair: the
// default-branch pushes whose after is the commit, oldest receipt first
// (ties broken by ref and before, the rest of the push's key), by pair.
func (s *Store) PushesToEach(ctx context.Context, repos, shas []string) (map[[2]string][]model.Push, error) {
	out := map[[2]string][]model.Push{}
	if len(repos) == 0 {
		return out, nil
	}
	var rows []pushRow
	if err := s.db.Query(ctx, `SELECT * FROM default_branch_pushes
WHERE repo IN {repos:Array(String)} AND after IN {shas:Array(String)}
ORDER BY received_at, ref, before`, Params{"repos": ArrayParam(repos), "shas": ArrayParam(shas)}, &rows); err != nil {
		return nil, fmt.Errorf("read pushes: %w", err)
	}
	want := map[[2]string]bool{}
	for i := range repos {
		want[[2]string{repos[i], shas[i]}] = true
	}
	for _, r := range rows {
		if k := [2]string{r.Repo, r.After}; want[k] {
			out[k] = append(out[k], r.model())
		}
	}
	return out, nil
}

// FindingHistories is Findings with History for every subject: each
// subject's recorded outcomes by rule and time, by subject.
func (s *Store) FindingHistories(ctx context.Context, subjects []string) (map[string][]model.Finding, error) {
	out := map[string][]model.Finding{}
	if len(subjects) == 0 {
		return out, nil
	}
	var rows []findingRow
	// subject is a key column: filtering before FINAL (PREWHERE) keeps or
	// drops every version of a row together, and reads far less.
	if err := s.db.Query(ctx, "SELECT * FROM findings FINAL PREWHERE subject IN {subjects:Array(String)} ORDER BY rule, subject, evaluated_at",
		Params{"subjects": ArrayParam(subjects)}, &rows); err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	if err := s.attachEvidence(ctx, rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		f, err := r.model()
		if err != nil {
			return nil, fmt.Errorf("decode finding %s %s: %w", r.Rule, r.Subject, err)
		}
		// As Findings: two evaluators racing on one subject may both record
		// the same change of verdict; history shows it once.
		h := out[f.Subject]
		if len(h) > 0 && h[len(h)-1].Same(f) {
			continue
		}
		out[f.Subject] = append(h, f)
	}
	return out, nil
}

// CurrentFindingsOf is Findings for one rule and each of repos: the current
// finding of every subject of the rule whose rows name the repository, by
// repository, ordered by subject.
func (s *Store) CurrentFindingsOf(ctx context.Context, rule string, repos []string) (map[string][]model.Finding, error) {
	out := map[string][]model.Finding{}
	if len(repos) == 0 {
		return out, nil
	}
	var rows []findingRow
	// LIMIT BY the repository too: Findings filters on it before taking the
	// latest row.
	if err := s.db.Query(ctx, `SELECT * FROM findings FINAL WHERE rule = {rule:String} AND repo IN {repos:Array(String)}
ORDER BY rule, subject, repo, evaluated_at DESC LIMIT 1 BY rule, subject, repo`,
		Params{"rule": rule, "repos": ArrayParam(repos)}, &rows); err != nil {
		return nil, fmt.Errorf("read %s findings: %w", rule, err)
	}
	if err := s.attachEvidence(ctx, rows); err != nil {
		return nil, err
	}
	for _, r := range rows {
		f, err := r.model()
		if err != nil {
			return nil, fmt.Errorf("decode finding %s %s: %w", r.Rule, r.Subject, err)
		}
		out[r.Repo] = append(out[r.Repo], f)
	}
	return out, nil
}

// DeploysOfEach is DeploysOf for each of repos, by repository.
func (s *Store) DeploysOfEach(ctx context.Context, repos []string) (map[string][]model.Deploy, error) {
	out := map[string][]model.Deploy{}
	if len(repos) == 0 {
		return out, nil
	}
	var rows []deployRow
	if err := s.db.Query(ctx, "SELECT * FROM deploys FINAL WHERE repo IN {repos:Array(String)} ORDER BY "+deployTimeSQL+", id",
		Params{"repos": ArrayParam(repos)}, &rows); err != nil {
		return nil, fmt.Errorf("read deploys: %w", err)
	}
	for _, r := range rows {
		out[r.Repo] = append(out[r.Repo], r.model())
	}
	return out, nil
}

// DeploysBySubject returns the deploy of each of subjects
// (SERVICE@ENVIRONMENT@ID), by subject: of deploys sharing a subject (the
// same id from two sources), the last in service, environment, id order,
// as a walk over DeploysBetween finds it.
func (s *Store) DeploysBySubject(ctx context.Context, subjects []string) (map[string]model.Deploy, error) {
	out := map[string]model.Deploy{}
	if len(subjects) == 0 {
		return out, nil
	}
	var rows []deployRow
	if err := s.db.Query(ctx, `SELECT * FROM deploys FINAL
WHERE concat(service, '@', environment, '@', id) IN {subjects:Array(String)}
ORDER BY service, environment, id`, Params{"subjects": ArrayParam(subjects)}, &rows); err != nil {
		return nil, fmt.Errorf("read deploys: %w", err)
	}
	for _, r := range rows {
		d := r.model()
		out[d.Subject()] = d
	}
	return out, nil
}

// AccessEventsOf is AccessEvent for every (system, id) pair, by pair; a
// pair without an event is absent.
func (s *Store) AccessEventsOf(ctx context.Context, systems, ids []string) (map[[2]string]model.AccessEvent, error) {
	out := map[[2]string]model.AccessEvent{}
	if len(systems) == 0 {
		return out, nil
	}
	var rows []accessRow
	if err := s.db.Query(ctx, "SELECT * FROM access_events FINAL PREWHERE system IN {systems:Array(String)} AND id IN {ids:Array(String)}",
		Params{"systems": ArrayParam(systems), "ids": ArrayParam(ids)}, &rows); err != nil {
		return nil, fmt.Errorf("read access events: %w", err)
	}
	want := map[[2]string]bool{}
	for i := range systems {
		want[[2]string{systems[i], ids[i]}] = true
	}
	for _, r := range rows {
		if k := [2]string{r.System, r.ID}; want[k] {
			if _, dup := out[k]; !dup {
				out[k] = r.model()
			}
		}
	}
	return out, nil
}
