package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// A finding's evidence is kept once per distinct evidence, in
// finding_evidence, and a verdict row names it by key (evidence_key): a
// first evaluation of a large organisation writes millions of verdicts,
// most of whose bytes were the same evidence again (every access event of
// one class carries the same principal, person, system, role and ticket).
// Rows written before the key existed hold their evidence inline
// (evidence_key empty); readers take the inline evidence when it is there
// and the keyed one otherwise, so both read the same.

// evidenceKey is the key of an evidence's JSON: the first 16 bytes of its
// SHA-256, in hex. A cryptographic hash, so that no one can make two
// evidences share a key on purpose.
func evidenceKey(ev []byte) string {
	sum := sha256.Sum256(ev)
	return hex.EncodeToString(sum[:16])
}

type evidenceRow struct {
	Key      string `json:"key"`
	Evidence string `json:"evidence"`
}

// evidenceSet gathers the distinct evidences of a batch of verdicts.
type evidenceSet struct {
	rows []evidenceRow
	seen map[string]bool
}

// keep moves r's inline evidence into the set and leaves r naming it by key.
func (es *evidenceSet) keep(r *findingRow) {
	if r.Evidence == "" {
		return
	}
	k := evidenceKey([]byte(r.Evidence))
	if es.seen == nil {
		es.seen = map[string]bool{}
	}
	if !es.seen[k] {
		es.seen[k] = true
		es.rows = append(es.rows, evidenceRow{k, r.Evidence})
	}
	r.EvidenceKey, r.Evidence = k, ""
}

// write stores the set's evidences. It runs before the verdicts that name
// them are written, so that a reader never meets a key without its
// evidence; a crash in between leaves evidence no verdict names, which is
// harmless.
func (s *Store) writeEvidence(ctx context.Context, es *evidenceSet) error {
	if len(es.rows) == 0 {
		return nil
	}
	if err := s.db.Insert(ctx, "finding_evidence", es.rows); err != nil {
		return fmt.Errorf("record %d evidences: %w", len(es.rows), err)
	}
	return nil
}

// evidenceChunk is how many keys one read of finding_evidence asks for.
const evidenceChunk = 20_000

// attachEvidence puts back, into every row that names its evidence by
// key, the evidence the key names. A key whose evidence is missing is an
// error: the evidence is written before the verdicts that name it.
func (s *Store) attachEvidence(ctx context.Context, rows []findingRow) error {
	var keys []string
	for i := range rows {
		if rows[i].Evidence == "" && rows[i].EvidenceKey != "" {
			keys = append(keys, rows[i].EvidenceKey)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	found := make(map[string]string, len(keys))
	for start := 0; start < len(keys); start += evidenceChunk {
		chunk := keys[start:min(start+evidenceChunk, len(keys))]
		var got []evidenceRow
		if err := s.db.Query(ctx, `SELECT key, any(evidence) AS evidence FROM finding_evidence
WHERE key IN {keys:Array(String)} GROUP BY key`, Params{"keys": ArrayParam(chunk)}, &got); err != nil {
			return fmt.Errorf("read evidence of findings: %w", err)
		}
		for _, g := range got {
			found[g.Key] = g.Evidence
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.Evidence != "" || r.EvidenceKey == "" {
			continue
		}
		ev, ok := found[r.EvidenceKey]
		if !ok {
			return fmt.Errorf("read evidence of finding %s %s: no evidence under key %s", r.Rule, r.Subject, r.EvidenceKey)
		}
		r.Evidence = ev
	}
	return nil
}
