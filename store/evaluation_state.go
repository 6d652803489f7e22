package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// evidenceDigestTables are the tables a repository's evidence is read from
// (RepoEvidences, addDepth), each with its repository column. A row's
// share of the digest is the hash of all its columns, so a repository's
// digest changes whenever a row it has is added, replaced or merged away:
// the tables are append-only (ReplacingMergeTree), and a merge that drops
// a replaced copy changes the digest too, which costs one needless
// re-judgement, never a missed one.
var evidenceDigestTables = []string{"pull_requests", "reviews", "pushes", "deploys", "protection_events",
	"contributions", "check_results", "ruleset_events"}

// EvidenceDigests returns, for each of repos (every repository with
// evidence when repos is nil), a digest of every stored row its evidence
// is read from, the organisation's rulesets included: one statement, one
// pass over the evidence tables in the engine. A repository with no row
// has digest 0 (and no entry when repos is nil).
func (s *Store) EvidenceDigests(ctx context.Context, repos []string) (map[string]uint64, error) {
	where, p := "", Params{}
	if repos != nil {
		if len(repos) == 0 {
			return map[string]uint64{}, nil
		}
		where, p = "WHERE repo IN {repos:Array(String)}", Params{"repos": ArrayParam(repos)}
	}
	var parts []string
	for _, t := range evidenceDigestTables {
		w := where
		if t == "ruleset_events" {
			// Organisation-wide rulesets (no repository) are added below.
			w = strings.TrimSpace(where + " " + map[bool]string{true: "AND", false: "WHERE"}[where != ""] + " repo != ''")
		}
		parts = append(parts, fmt.Sprintf("SELECT repo, cityHash64(%s, count(), sum(cityHash64(*))) AS h FROM %s %s GROUP BY repo",
			QuoteString(t), t, w))
	}
	q := "SELECT repo, sum(h) AS digest FROM (" + strings.Join(parts, "\nUNION ALL ") + ") GROUP BY repo"
	var rows []struct {
		Repo   string `json:"repo"`
		Digest uint64 `json:"digest"`
	}
	if err := s.db.Query(ctx, q, p, &rows); err != nil {
		return nil, fmt.Errorf("digest evidence: %w", err)
	}
	var orgRows []struct {
		Org    string `json:"org"`
		Digest uint64 `json:"digest"`
	}
	if err := s.db.Query(ctx, `SELECT org, cityHash64(count(), sum(cityHash64(*))) AS digest FROM ruleset_events
WHERE repo = '' GROUP BY org`, nil, &orgRows); err != nil {
		return nil, fmt.Errorf("digest organisation rulesets: %w", err)
	}
	orgs := make(map[string]uint64, len(orgRows))
	for _, r := range orgRows {
		orgs[r.Org] = r.Digest
	}
	out := make(map[string]uint64, len(rows))
	for _, r := range repos {
		out[r] = 0
	}
	for _, r := range rows {
		out[r.Repo] = r.Digest
	}
	if len(orgs) > 0 {
		for repo, d := range out {
			org, _, _ := strings.Cut(repo, "/")
			if od, ok := orgs[org]; ok {
				out[repo] = combineDigests(d, od)
			}
		}
	}
	return out, nil
}

// combineDigests joins a repository's own digest with its organisation's.
func combineDigests(a, b uint64) uint64 {
	h := fnv.New64a()
	var buf [16]byte
	for i := range 8 {
		buf[i] = byte(a >> (8 * i))
		buf[8+i] = byte(b >> (8 * i))
	}
	h.Write(buf[:])
	return h.Sum64()
}

// AccessDigests returns, for each system with stored access events, a
// digest of the fields of its events the access controls judge (those
// JudgedAccess reads): one statement over the access events.
func (s *Store) AccessDigests(ctx context.Context) (map[string]uint64, error) {
	var rows []struct {
		System string `json:"system"`
		Digest uint64 `json:"digest"`
	}
	if err := s.db.Query(ctx, `SELECT system, cityHash64(count(), sum(cityHash64(system, id, time, principal, role, ticket, result))) AS digest
FROM access_events GROUP BY system`, nil, &rows); err != nil {
		return nil, fmt.Errorf("digest access events: %w", err)
	}
	out := make(map[string]uint64, len(rows))
	for _, r := range rows {
		out[r.System] = r.Digest
	}
	return out, nil
}

type evaluationStateRow struct {
	Scope        string `json:"scope"`
	Name         string `json:"name"`
	Digest       uint64 `json:"digest"`
	Fingerprint  uint64 `json:"fingerprint"`
	NextDeadline Time   `json:"next_deadline"`
	Due          bool   `json:"due"`
	EvaluatedAt  Time   `json:"evaluated_at"`
}

// EvaluationStates returns the current state of every unit of scope
// (model.ScopeRepo or model.ScopeAccess), by name.
func (s *Store) EvaluationStates(ctx context.Context, scope string) (map[string]model.EvaluationState, error) {
	var rows []evaluationStateRow
	// A few rows per unit at most (FINAL keeps the newest of each).
	if err := s.db.Query(ctx, `SELECT * FROM evaluation_state FINAL WHERE scope = {scope:String}`,
		Params{"scope": scope}, &rows); err != nil {
		return nil, fmt.Errorf("read evaluation states: %w", err)
	}
	out := make(map[string]model.EvaluationState, len(rows))
	for _, r := range rows {
		out[r.Name] = model.EvaluationState{Scope: r.Scope, Name: r.Name, Digest: r.Digest, Fingerprint: r.Fingerprint,
			NextDeadline: r.NextDeadline.T(), Due: r.Due, EvaluatedAt: r.EvaluatedAt.T()}
	}
	return out, nil
}

// PutEvaluationStates records states in one insert; each replaces its
// unit's earlier state.
func (s *Store) PutEvaluationStates(ctx context.Context, states []model.EvaluationState) error {
	if len(states) == 0 {
		return nil
	}
	rows := make([]evaluationStateRow, len(states))
	for i, st := range states {
		at := st.EvaluatedAt
		if at.IsZero() {
			at = time.Now()
		}
		rows[i] = evaluationStateRow{Scope: st.Scope, Name: st.Name, Digest: st.Digest, Fingerprint: st.Fingerprint,
			NextDeadline: Time(st.NextDeadline), Due: st.Due, EvaluatedAt: Time(at)}
	}
	if err := s.db.Insert(ctx, "evaluation_state", rows); err != nil {
		return fmt.Errorf("record %d evaluation states: %w", len(rows), err)
	}
	return nil
}

// ForgetEvaluations drops every recorded verdict and evaluation state: the
// next full evaluation judges everything as on a new store. For benchmarks
// that measure a first evaluation; an operator never needs it.
func (s *Store) ForgetEvaluations(ctx context.Context) error {
	for _, t := range []string{"findings", "finding_evidence", "evaluation_state"} {
		if err := s.db.Exec(ctx, "TRUNCATE TABLE "+t, nil); err != nil {
			return fmt.Errorf("empty %s: %w", t, err)
		}
	}
	return nil
}

// MarkEvaluationsDue records every unit's state again as due, keeping its
// digest and fingerprint: the next full evaluation judges every repository
// and access system again with their verdicts recorded, as a restart after
// an upgrade (a new fingerprint) or a busy day (new digests) does. For
// benchmarks that measure that evaluation.
func (s *Store) MarkEvaluationsDue(ctx context.Context) error {
	if err := s.db.Exec(ctx, `INSERT INTO evaluation_state (scope, name, digest, fingerprint, next_deadline, due, evaluated_at)
SELECT scope, name, digest, fingerprint, next_deadline, true, now64(3, 'UTC') FROM evaluation_state FINAL`, nil); err != nil {
		return fmt.Errorf("mark evaluations due: %w", err)
	}
	return nil
}
