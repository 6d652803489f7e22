package store

import (
	"context"
	"fmt"
)

// appendOnly tables are plain MergeTree: no FINAL, and distinct rows are
// distinct delivery ids.
var appendOnly = map[string]bool{"raw_deliveries": true}

// Count returns the number of distinct rows in a table (after replacement).
func (s *Store) Count(ctx context.Context, table string) (uint64, error) {
	var rows []struct {
		N uint64 `json:"n"`
	}
	q := "SELECT count() AS n FROM " + table + " FINAL"
	if appendOnly[table] {
		q = "SELECT uniqExact(source, delivery_id) AS n FROM " + table
	}
	if err := s.db.Query(ctx, q, nil, &rows); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].N, nil
}

// CountPhysical returns the number of stored rows in a table before
// replacement: for the append-only raw log it must equal Count.
func (s *Store) CountPhysical(ctx context.Context, table string) (uint64, error) {
	var rows []struct {
		N uint64 `json:"n"`
	}
	if err := s.db.Query(ctx, "SELECT count() AS n FROM "+table, nil, &rows); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].N, nil
}
