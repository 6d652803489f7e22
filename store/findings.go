package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// FindingQuery filters findings; zero fields match everything.
type FindingQuery struct {
	Rule    string
	Outcome string
	Repo    string
	Subject string
	From    time.Time // occurred_at >= From
	To      time.Time // occurred_at < To
	History bool      // every row, not only the current one
}

// Findings returns the current finding of each (rule, subject) matching q,
// or with q.History every recorded outcome, ordered by rule, subject, time.
func (s *Store) Findings(ctx context.Context, q FindingQuery) ([]model.Finding, error) {
	var where []string
	p := Params{}
	add := func(cond, name, val string) {
		if val != "" {
			where = append(where, cond)
			p[name] = val
		}
	}
	add("rule = {rule:String}", "rule", q.Rule)
	// Repository names are case-insensitive on GitHub, as scope globs are.
	add("lower(repo) = lower({repo:String})", "repo", q.Repo)
	add("subject = {subject:String}", "subject", q.Subject)
	sql := "SELECT * FROM findings FINAL"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	if q.History {
		sql += " ORDER BY rule, subject, evaluated_at"
	} else {
		sql += " ORDER BY rule, subject, evaluated_at DESC LIMIT 1 BY rule, subject"
	}
	// Filters on the verdict apply to the current row, so they wrap the query.
	var outer []string
	add2 := func(cond, name, val string) {
		if val != "" {
			outer = append(outer, cond)
			p[name] = val
		}
	}
	add2("outcome = {outcome:String}", "outcome", q.Outcome)
	if !q.From.IsZero() {
		add2("occurred_at >= {from:DateTime64(3, 'UTC')}", "from", chTime(q.From))
	}
	if !q.To.IsZero() {
		add2("occurred_at < {to:DateTime64(3, 'UTC')}", "to", chTime(q.To))
	}
	if len(outer) > 0 {
		sql = "SELECT * FROM (" + sql + ") WHERE " + strings.Join(outer, " AND ")
		if q.History {
			sql += " ORDER BY rule, subject, evaluated_at"
		} else {
			sql += " ORDER BY rule, subject"
		}
	}
	var rows []findingRow
	if err := s.db.Query(ctx, sql, p, &rows); err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	if err := s.attachEvidence(ctx, rows); err != nil {
		return nil, err
	}
	out := make([]model.Finding, 0, len(rows))
	for _, r := range rows {
		f, err := r.model()
		if err != nil {
			return nil, fmt.Errorf("decode finding %s %s: %w", r.Rule, r.Subject, err)
		}
		// Two evaluators racing on one subject may both record the same
		// change of verdict; history shows it once.
		if q.History && len(out) > 0 && out[len(out)-1].Same(f) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// Outcomes returns the current outcome of every (rule, subject) of the
// given rules (none = all): subject -> rule -> outcome. It reads three
// columns, not whole findings, for populations of millions.
func (s *Store) Outcomes(ctx context.Context, rules []string) (map[string]map[string]string, error) {
	var rows []struct {
		Rule    string `json:"rule"`
		Subject string `json:"subject"`
		Outcome string `json:"outcome"`
	}
	if err := s.db.Query(ctx, `SELECT rule, subject, argMax(outcome, evaluated_at) AS outcome FROM findings
WHERE empty({rules:Array(String)}) OR has({rules:Array(String)}, rule) GROUP BY rule, subject`,
		Params{"rules": ArrayParam(rules)}, &rows); err != nil {
		return nil, fmt.Errorf("read outcomes: %w", err)
	}
	m := make(map[string]map[string]string, len(rows))
	for _, r := range rows {
		if m[r.Subject] == nil {
			m[r.Subject] = map[string]string{}
		}
		m[r.Subject][r.Rule] = r.Outcome
	}
	return m, nil
}
