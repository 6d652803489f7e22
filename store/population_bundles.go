package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/changeproof/changeproof/model"
)

// The evidence of many changes at once, for the auditor's sample: each
// reader here answers for a whole sample in one or two statements what the
// one-change readers (Change and PushesTo, kept in export_test.go as these
// readers' test oracles; Findings; DeploysOf) answer for one, with the same
// rows in the same order per change.

// ChangeKey names a change the way an evidence bundle is asked for:
// OWNER/REPO#Number (Number > 0, SHA empty), or the commit SHA a change put
// on the default branch (Number 0): a pull request's merge commit or a
// direct push.
type ChangeKey struct {
	Repo   string
	Number int
	SHA    string
}

// repoSHA is a (repository, commit) pair.
type repoSHA struct{ repo, sha string }

// ChangesOf is Change for every key: the changes found, by key; a key
// without a change is absent.
func (s *Store) ChangesOf(ctx context.Context, keys []ChangeKey) (map[ChangeKey]model.Change, error) {
	out := make(map[ChangeKey]model.Change, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var pairs, shaRepos []string
	for _, k := range keys {
		if k.SHA == "" {
			pairs = append(pairs, "("+QuoteString(k.Repo)+","+strconv.Itoa(k.Number)+")")
		} else {
			shaRepos = append(shaRepos, k.Repo)
		}
	}
	// merged_pull_requests, narrowed before its LIMIT BY (no filter on the
	// view reaches past it): the asked-for numbers, and every pull request
	// of a repository where a commit is looked up, since a pull request
	// counts as the change of its first merged row's merge commit. The
	// narrowing is on key columns, so it may run before FINAL (PREWHERE):
	// every version of a row passes or none does.
	var narrow []string
	p := Params{}
	if len(pairs) > 0 {
		narrow = append(narrow, "(repo, number) IN {pairs:Array(Tuple(String, UInt32))}")
		p["pairs"] = "[" + strings.Join(pairs, ",") + "]"
	}
	if len(shaRepos) > 0 {
		narrow = append(narrow, "repo IN {sha_repos:Array(String)}")
		p["sha_repos"] = ArrayParam(shaRepos)
	}
	var prs []prRow
	if err := s.db.Query(ctx, `SELECT * FROM pull_requests FINAL
PREWHERE `+strings.Join(narrow, " OR ")+`
WHERE merged AND action = 'closed' AND base_ref = default_branch
ORDER BY repo, number, received_at
LIMIT 1 BY repo, number`, p, &prs); err != nil {
		return nil, fmt.Errorf("read merged pull requests: %w", err)
	}
	byNumber := map[ChangeKey]model.PullRequest{}
	byMerge := map[repoSHA]model.PullRequest{}
	for _, r := range prs {
		pr := r.model()
		byNumber[ChangeKey{Repo: pr.Repo, Number: pr.Number}] = pr
		// Rows come by number: the lowest number wins, as Change's LIMIT 1.
		if k := (repoSHA{pr.Repo, pr.MergeCommitSHA}); pr.MergeCommitSHA != "" {
			if _, ok := byMerge[k]; !ok {
				byMerge[k] = pr
			}
		}
	}
	found := map[ChangeKey]model.PullRequest{}
	var pushKeys []ChangeKey
	for _, k := range keys {
		// Change's LIMIT 1 over the rows in number order: the lower of the
		// pull request numbered and the one merged as the commit.
		pr, ok := byNumber[ChangeKey{Repo: k.Repo, Number: k.Number}]
		if m, mok := byMerge[repoSHA{k.Repo, k.SHA}]; k.SHA != "" && mok && (!ok || m.Number < pr.Number) {
			pr, ok = m, true
		}
		if ok {
			found[k] = pr
		} else if k.SHA != "" {
			pushKeys = append(pushKeys, k)
		}
	}
	if len(found) > 0 {
		var pairs []string
		for _, pr := range found {
			pairs = append(pairs, "("+QuoteString(pr.Repo)+","+strconv.Itoa(pr.Number)+")")
		}
		var revs []reviewRow
		if err := s.db.Query(ctx, `SELECT * FROM reviews FINAL
PREWHERE (repo, pr_number) IN {pairs:Array(Tuple(String, UInt32))}
ORDER BY repo, pr_number, submitted_at, review_id, action = 'dismissed', delivery_id`,
			Params{"pairs": "[" + strings.Join(pairs, ",") + "]"}, &revs); err != nil {
			return nil, fmt.Errorf("read reviews: %w", err)
		}
		reviews := map[ChangeKey][]model.Review{}
		for _, r := range revs {
			k := ChangeKey{Repo: r.Repo, Number: r.PRNumber}
			reviews[k] = append(reviews[k], r.model())
		}
		for k, pr := range found {
			rs := reviews[ChangeKey{Repo: pr.Repo, Number: pr.Number}]
			if rs == nil {
				rs = []model.Review{} // as Change: none is an empty list
			}
			out[k] = PRChange(pr, rs)
		}
		if err := s.changesDepth(ctx, out); err != nil {
			return nil, err
		}
	}
	if len(pushKeys) > 0 {
		var repos, shas []string
		for _, k := range pushKeys {
			repos = append(repos, k.Repo)
			shas = append(shas, k.SHA)
		}
		var pushes []pushRow
		if err := s.db.Query(ctx, "SELECT * FROM direct_pushes WHERE repo IN {repos:Array(String)} AND after IN {shas:Array(String)}",
			Params{"repos": ArrayParam(repos), "shas": ArrayParam(shas)}, &pushes); err != nil {
			return nil, fmt.Errorf("read direct pushes: %w", err)
		}
		direct := map[repoSHA]model.Push{}
		for _, r := range pushes {
			if k := (repoSHA{r.Repo, r.After}); direct[k].After == "" {
				direct[k] = r.model()
			}
		}
		for _, k := range pushKeys {
			if p, ok := direct[repoSHA{k.Repo, k.SHA}]; ok {
				out[k] = PushChange(p)
			}
		}
	}
	return out, nil
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
