package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Repos lists every repository with stored evidence.
func (s *Store) Repos(ctx context.Context) ([]string, error) {
	var rows []struct {
		Repo string `json:"repo"`
	}
	err := s.db.Query(ctx, `SELECT repo FROM (
    SELECT repo FROM pull_requests UNION ALL SELECT repo FROM pushes
    UNION ALL SELECT repo FROM reviews UNION ALL SELECT repo FROM protection_events
    UNION ALL SELECT repo FROM deploys) GROUP BY repo ORDER BY repo`, nil, &rows)
	if err != nil {
		return nil, fmt.Errorf("list repos: %w", err)
	}
	// chDB 26.5.3 was seen returning SELECT DISTINCT over this UNION ALL
	// with duplicates (202-501 rows for 200 repositories) in a fresh process
	// on a large store; the list is deduplicated here whatever the engine does.
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1] != r.Repo {
			out = append(out, r.Repo)
		}
	}
	return out, nil
}

// ChangeRow is one member of the population of changes.
type ChangeRow struct {
	Kind       string `json:"kind"`
	Repo       string `json:"repo"`
	Subject    string `json:"subject"`
	Number     int    `json:"number"`
	SHA        string `json:"sha"`
	OccurredAt Time   `json:"occurred_at"`
	Actor      string `json:"actor"`
	Title      string `json:"title"`
	URL        string `json:"url"`
}

// ChangeQuery filters the population of changes.
type ChangeQuery struct {
	Repo     string
	From, To time.Time // occurred_at in [From, To)
}

// Changes returns the population of changes matching q, sorted by subject.
func (s *Store) Changes(ctx context.Context, q ChangeQuery) ([]ChangeRow, error) {
	var where []string
	p := Params{}
	if q.Repo != "" {
		where = append(where, "lower(repo) = lower({repo:String})") // case-insensitive, as on GitHub
		p["repo"] = q.Repo
	}
	if !q.From.IsZero() {
		where = append(where, "occurred_at >= {from:DateTime64(3, 'UTC')}")
		p["from"] = chTime(q.From)
	}
	if !q.To.IsZero() {
		where = append(where, "occurred_at < {to:DateTime64(3, 'UTC')}")
		p["to"] = chTime(q.To)
	}
	sql := "SELECT * FROM changes"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY subject"
	var rows []ChangeRow
	if err := s.db.Query(ctx, sql, p, &rows); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return rows, nil
}

// ReposChangedSince lists repositories with evidence received after since,
// and the latest receipt time seen (the next call's since). An
// organisation ruleset (no repository) is listed as "ORG/*": every
// repository of ORG may be affected. A rules process
// that does not share a pipeline with the writers polls it.
func (s *Store) ReposChangedSince(ctx context.Context, since time.Time) ([]string, time.Time, error) {
	var rows []struct {
		Repo string `json:"repo"`
		Last Time   `json:"last"`
	}
	err := s.db.Query(ctx, `SELECT repo, max(received_at) AS last FROM (
    SELECT repo, received_at FROM pull_requests WHERE received_at > {since:DateTime64(3, 'UTC')}
    UNION ALL SELECT repo, received_at FROM reviews WHERE received_at > {since:DateTime64(3, 'UTC')}
    UNION ALL SELECT repo, received_at FROM pushes WHERE received_at > {since:DateTime64(3, 'UTC')}
    UNION ALL SELECT repo, received_at FROM protection_events WHERE received_at > {since:DateTime64(3, 'UTC')}
    UNION ALL SELECT repo, received_at FROM deploys WHERE received_at > {since:DateTime64(3, 'UTC')}
    UNION ALL SELECT if(repo = '', concat(org, '/*'), repo) AS repo, received_at FROM ruleset_events
        WHERE received_at > {since:DateTime64(3, 'UTC')})
GROUP BY repo ORDER BY repo`, Params{"since": chTime(since)}, &rows)
	if err != nil {
		return nil, since, fmt.Errorf("find changed repositories: %w", err)
	}
	last := since
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Repo
		if r.Last.T().After(last) {
			last = r.Last.T()
		}
	}
	return out, last, nil
}

// MergedNumbers reports which of numbers are merged pull requests of repo
// the store already holds.
func (s *Store) MergedNumbers(ctx context.Context, repo string, numbers []int) (map[int]bool, error) {
	known := map[int]bool{}
	if len(numbers) == 0 {
		return known, nil
	}
	list := make([]string, len(numbers))
	for i, n := range numbers {
		list[i] = fmt.Sprint(n)
	}
	var rows []struct {
		Number int `json:"number"`
	}
	if err := s.db.Query(ctx, "SELECT DISTINCT number FROM merged_pull_requests WHERE repo = {repo:String} AND number IN {numbers:Array(UInt32)}",
		Params{"repo": repo, "numbers": "[" + strings.Join(list, ",") + "]"}, &rows); err != nil {
		return nil, fmt.Errorf("read merged pull requests of %s: %w", repo, err)
	}
	for _, r := range rows {
		known[r.Number] = true
	}
	return known, nil
}
