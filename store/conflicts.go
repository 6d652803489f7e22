package store

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/model"
)

// conflictRow is a conflict as inserted, bytes and all. It is not
// StoredConflict, which lists a conflict without its bytes, because one
// flat type cannot do both: the insert must carry body, the listing (the
// API's and the CLI's JSON) must not show it, and the engine's fast insert
// path takes flat structs without json options (no omitempty, no "-", no
// embedding), so neither an omitted field nor a shared embedded part would
// keep both on it. A stored `bytes` column would spare the listing
// length(body), which is cheap, and still leave body on the insert.
type conflictRow struct {
	Source     string `json:"source"`
	ID         string `json:"id"`
	Event      string `json:"event"`
	ReceivedAt Time   `json:"received_at"`
	KeptSHA256 string `json:"kept_sha256"`
	SHA256     string `json:"sha256"`
	Body       string `json:"body"`
}

// StoredConflict is one refused attempt to rewrite an event, as listed by
// `changeproof conflicts`.
type StoredConflict struct {
	Source     string `json:"source"`
	ID         string `json:"id"`
	Event      string `json:"event"`
	ReceivedAt Time   `json:"received_at"`
	KeptSHA256 string `json:"kept_sha256"`
	SHA256     string `json:"sha256"`
	Bytes      uint64 `json:"bytes"`
}

// Conflicts lists the stored conflicts, oldest first, at most limit (0 =
// all).
func (s *Store) Conflicts(ctx context.Context, limit int) ([]StoredConflict, error) {
	q := "SELECT source, id, event, received_at, kept_sha256, sha256, length(body) AS bytes FROM conflicts FINAL ORDER BY received_at, source, id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	var out []StoredConflict
	if err := s.db.Query(ctx, q, nil, &out); err != nil {
		return nil, fmt.Errorf("list conflicts: %w", err)
	}
	return out, nil
}

// KnownSHA returns, for those of ids that the raw log holds under source,
// the SHA-256 of the bytes it holds (the evidence; a later attempt with
// other bytes is a conflict).
func (s *Store) KnownSHA(ctx context.Context, source string, ids []string) (map[string]string, error) {
	known := map[string]string{}
	s.keysMu.Lock()
	if s.keys != nil {
		maybe := ids[:0:0]
		for _, id := range ids {
			if s.keys.maybe(keyHash(source, id)) {
				maybe = append(maybe, id)
			}
		}
		ids = maybe
	}
	s.keysMu.Unlock()
	if len(ids) == 0 {
		return known, nil
	}
	var rows []struct {
		ID     string `json:"delivery_id"`
		SHA256 string `json:"sha256"`
	}
	// argMin by seq: the first stored is the evidence, should a crash
	// between derived rows and raw rows ever have let a second in.
	err := s.db.Query(ctx, "SELECT delivery_id, argMin(sha256, seq) AS sha256 FROM raw_deliveries WHERE source = {source:String} AND delivery_id IN {ids:Array(String)} GROUP BY delivery_id",
		Params{"source": source, "ids": ArrayParam(ids)}, &rows)
	if err != nil {
		return nil, fmt.Errorf("look up known %s ids: %w", source, err)
	}
	for _, r := range rows {
		known[r.ID] = r.SHA256
	}
	return known, nil
}

func conflictRows(cs []model.Conflict) []conflictRow {
	rows := make([]conflictRow, len(cs))
	for i, c := range cs {
		rows[i] = conflictRow{c.Source, c.ID, c.Event, Time(c.ReceivedAt), c.KeptSHA256, c.SHA256, bodyString(c.Body)}
	}
	return rows
}
