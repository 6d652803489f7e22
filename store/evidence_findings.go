package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/changeproof/changeproof/model"
)

// AppendFindings records new verdicts.
func (s *Store) AppendFindings(ctx context.Context, fs []model.Finding) error {
	rows := make([]findingRow, 0, len(fs))
	var es evidenceSet
	for i := range fs {
		f := &fs[i]
		r, err := findingRowOf(f)
		if err != nil {
			return fmt.Errorf("encode finding %s %s: %w", f.Rule, f.Subject, err)
		}
		es.keep(&r)
		rows = append(rows, r)
	}
	if err := s.writeEvidence(ctx, &es); err != nil {
		return fmt.Errorf("append findings: %w", err)
	}
	if err := s.db.Insert(ctx, "findings", rows); err != nil {
		return fmt.Errorf("append findings: %w", err)
	}
	return nil
}

// CurrentFindings returns the latest verdict of every (rule, subject) of repo.
func (s *Store) CurrentFindings(ctx context.Context, repo string) ([]model.Finding, error) {
	return s.Findings(ctx, FindingQuery{Repo: repo})
}

// FindingsFor returns the current findings of the given subjects.
func (s *Store) FindingsFor(ctx context.Context, subjects []string) ([]model.Finding, error) {
	if len(subjects) == 0 {
		return nil, nil
	}
	var rows []findingRow
	if err := s.db.Query(ctx, "SELECT * FROM findings FINAL WHERE subject IN {subjects:Array(String)} ORDER BY rule, subject, evaluated_at DESC LIMIT 1 BY rule, subject",
		Params{"subjects": ArrayParam(subjects)}, &rows); err != nil {
		return nil, fmt.Errorf("read findings: %w", err)
	}
	return s.findingsOf(ctx, rows)
}

// verdictColumns are a finding without its evidence: all that deciding
// whether a verdict changed needs (model.Finding.Same).
var verdictColumns = []column{{"rule", kString}, {"subject", kString}, {"outcome", kString}, {"reason", kString},
	{"repo", kString}, {"occurred_at", kTimeMilli}, {"evaluated_at", kTimeMicro}, {"waiver", kString}}

type verdictRow struct {
	Rule        string `json:"rule"`
	Subject     string `json:"subject"`
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason"`
	Repo        string `json:"repo"`
	OccurredAt  Time   `json:"occurred_at"`
	EvaluatedAt Time   `json:"evaluated_at"`
	Waiver      string `json:"waiver"`
}

func decodeVerdict(r *binReader) verdictRow {
	return verdictRow{Rule: r.str(), Subject: r.str(), Outcome: r.str(), Reason: r.str(), Repo: r.str(),
		OccurredAt: r.timeMilli(), EvaluatedAt: r.timeMicro(), Waiver: r.str()}
}

func (r verdictRow) model() (model.Finding, error) {
	return findingRow{Rule: r.Rule, Subject: r.Subject, Outcome: r.Outcome, Reason: r.Reason, Repo: r.Repo,
		OccurredAt: r.OccurredAt, EvaluatedAt: r.EvaluatedAt, Waiver: r.Waiver}.model()
}

// readVerdicts runs query, which selects verdictColumns, and hands each row
// to fn in order as a finding without evidence.
func (s *Store) readVerdicts(ctx context.Context, query string, p Params, fn func(f model.Finding) error) error {
	r, ok, err := s.queryBinary(ctx, query, p, verdictColumns)
	if err != nil {
		return err
	}
	if !ok {
		var rows []verdictRow
		if err := s.db.Query(ctx, query, p, &rows); err != nil {
			return err
		}
		for _, row := range rows {
			f, err := row.model()
			if err != nil {
				return fmt.Errorf("decode finding %s %s: %w", row.Rule, row.Subject, err)
			}
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	}
	for r.next() {
		f := model.Finding{Rule: r.str(), Subject: r.str(), Outcome: model.Outcome(r.str()), Reason: r.str(),
			Repo: r.str(), OccurredAt: r.timeMilli().T(), EvaluatedAt: r.timeMicro().T()}
		if w := r.str(); w != "" && r.err == nil {
			f.Waiver = &model.Waiver{}
			if err := json.Unmarshal([]byte(w), f.Waiver); err != nil {
				return fmt.Errorf("decode finding %s %s: %w", f.Rule, f.Subject, err)
			}
		}
		if r.err != nil {
			break
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return r.Err()
}

// CurrentVerdicts hands fn, for each of repos, what CurrentFindings
// returns, without the evidence (Evidence is left empty): the evidence is
// most of a finding's bytes, and comparing verdicts never reads it. The
// finding is fn's only for the call; the order is by rule and subject.
//
// The rows are read without FINAL, which with a filter on repo (not part of
// the table's key) would merge the whole table first: the newest row of a
// (rule, subject) is the current one, and FINAL only collapses rows of the
// same evaluation time, which are copies of one retried insert. Two such
// rows that differ (two processes recording the same microsecond) are
// resolved by FINAL after all.
func (s *Store) CurrentVerdicts(ctx context.Context, repos []string, fn func(*model.Finding) error) error {
	p := Params{"repos": ArrayParam(repos)}
	read := func(final string) ([]verdictRow, bool, error) {
		rows, err := readRows(ctx, s, `SELECT `+columnList(verdictColumns)+` FROM findings `+final+`
WHERE repo IN {repos:Array(String)} ORDER BY rule, subject, repo, evaluated_at`, p, verdictColumns, decodeVerdict)
		if err != nil {
			return nil, false, err
		}
		// The newest of each (rule, subject, repo) is the last of its run.
		kept := rows[:0]
		ambiguous := false
		for _, r := range rows {
			if n := len(kept); n > 0 && kept[n-1].Rule == r.Rule && kept[n-1].Subject == r.Subject && kept[n-1].Repo == r.Repo {
				if kept[n-1].EvaluatedAt.T().Equal(r.EvaluatedAt.T()) && kept[n-1] != r {
					ambiguous = true
				}
				kept[n-1] = r
				continue
			}
			kept = append(kept, r)
		}
		return kept, ambiguous, nil
	}
	rows, ambiguous, err := read("")
	if err == nil && ambiguous {
		rows, _, err = read("FINAL")
	}
	if err != nil {
		return fmt.Errorf("read current verdicts: %w", err)
	}
	var f model.Finding
	for _, r := range rows {
		if f, err = r.model(); err != nil {
			return fmt.Errorf("decode finding %s %s: %w", r.Rule, r.Subject, err)
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}

// FindingsByKey returns, of CurrentFindings(repo), the findings whose
// (rule, subject) is one of rules[i], subjects[i]: whole, evidence
// included. The pairs are the table's key, so this reads only their rows.
func (s *Store) FindingsByKey(ctx context.Context, repo string, rules, subjects []string) ([]model.Finding, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := range rules {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(" + QuoteString(rules[i]) + "," + QuoteString(subjects[i]) + ")")
	}
	b.WriteByte(']')
	var rows []findingRow
	if err := s.db.Query(ctx, `SELECT * FROM findings FINAL
WHERE (rule, subject) IN {keys:Array(Tuple(String, String))} AND repo = {repo:String}
ORDER BY rule, subject, evaluated_at DESC LIMIT 1 BY rule, subject`, Params{"keys": b.String(), "repo": repo}, &rows); err != nil {
		return nil, fmt.Errorf("read findings of %s: %w", repo, err)
	}
	return s.findingsOf(ctx, rows)
}

// findingsOf decodes stored finding rows, their evidence attached.
func (s *Store) findingsOf(ctx context.Context, rows []findingRow) ([]model.Finding, error) {
	if err := s.attachEvidence(ctx, rows); err != nil {
		return nil, err
	}
	out := make([]model.Finding, 0, len(rows))
	for _, r := range rows {
		f, err := r.model()
		if err != nil {
			return nil, fmt.Errorf("decode finding %s %s: %w", r.Rule, r.Subject, err)
		}
		out = append(out, f)
	}
	return out, nil
}
