package store

import (
	"context"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/model"
)

type waiverRow struct {
	Rule       string `json:"rule"`
	Subject    string `json:"subject"`
	Reason     string `json:"reason"`
	ApprovedBy string `json:"approved_by"`
	Expires    Time   `json:"expires"`
	FirstSeen  Time   `json:"first_seen"`
}

// RecordWaivers keeps the configured waivers as evidence. A waiver already
// recorded keeps its first_seen time (the table keeps the earliest).
func (s *Store) RecordWaivers(ctx context.Context, ws []model.Waiver, now time.Time) error {
	if len(ws) == 0 {
		return nil
	}
	known, err := s.Waivers(ctx)
	if err != nil {
		return err
	}
	seen := map[model.Waiver]bool{}
	for _, w := range known {
		seen[w.Waiver] = true
	}
	var rows []waiverRow
	for _, w := range ws {
		w.Expires = w.Expires.Truncate(time.Millisecond).UTC()
		if seen[w] {
			continue
		}
		rows = append(rows, waiverRow{w.Rule, w.Subject, w.Reason, w.ApprovedBy, Time(w.Expires), Time(now)})
	}
	if err := s.db.Insert(ctx, "waivers", rows); err != nil {
		return fmt.Errorf("record waivers: %w", err)
	}
	return nil
}

// RecordedWaiver is a waiver with the time this store first saw it.
type RecordedWaiver struct {
	model.Waiver
	FirstSeen time.Time `json:"first_seen"`
}

// Waivers returns every waiver ever configured, by rule and subject.
func (s *Store) Waivers(ctx context.Context) ([]RecordedWaiver, error) {
	var rows []waiverRow
	if err := s.db.Query(ctx, "SELECT rule, subject, reason, approved_by, expires, min(first_seen) AS first_seen FROM waivers GROUP BY rule, subject, reason, approved_by, expires ORDER BY rule, subject, first_seen", nil, &rows); err != nil {
		return nil, fmt.Errorf("read waivers: %w", err)
	}
	out := make([]RecordedWaiver, len(rows))
	for i, r := range rows {
		out[i] = RecordedWaiver{model.Waiver{Rule: r.Rule, Subject: r.Subject, Reason: r.Reason, ApprovedBy: r.ApprovedBy,
			Expires: r.Expires.T()}, r.FirstSeen.T()}
	}
	return out, nil
}
