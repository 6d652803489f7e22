package store

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/model"
)

// AppendFindings records new verdicts.
func (s *Store) AppendFindings(ctx context.Context, fs []model.Finding) error {
	rows := make([]findingRow, 0, len(fs))
	for _, f := range fs {
		r, err := findingToRow(f)
		if err != nil {
			return fmt.Errorf("encode finding %s %s: %w", f.Rule, f.Subject, err)
		}
		rows = append(rows, r)
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
