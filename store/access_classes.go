package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/changeproof/changeproof/model"
)

// AccessClasses returns the classes of system's stored events that have
// a time, with how many events each has: one pass in the engine.
func (s *Store) AccessClasses(ctx context.Context, system string) ([]model.AccessClass, error) {
	var rows []model.AccessClass
	if err := s.db.Query(ctx, `SELECT principal, role, ticket, result, count() AS events FROM access_events FINAL
WHERE system = {system:String} AND time > toDateTime64(0, 3, 'UTC')
GROUP BY principal, role, ticket, result ORDER BY principal, role, ticket, result`, Params{"system": system}, &rows); err != nil {
		return nil, fmt.Errorf("classes of access events of %s: %w", system, err)
	}
	return rows, nil
}

// AccessEventsAlone hands fn, in id order, the events of system (the
// fields JudgedAccess gives) that have no time, or whose principal is one
// of principals, or whose id is one of ids: those judged one by one
// rather than by class.
func (s *Store) AccessEventsAlone(ctx context.Context, system string, principals, ids []string, fn func(model.AccessEvent) error) error {
	query := `SELECT ` + columnList(judgedAccessColumns) + ` FROM access_events FINAL
WHERE system = {system:String} AND (time <= toDateTime64(0, 3, 'UTC') OR principal IN {principals:Array(String)}
    OR id IN {ids:Array(String)}) ORDER BY id`
	p := Params{"system": system, "principals": ArrayParam(principals), "ids": ArrayParam(ids)}
	rows, err := readRows(ctx, s, query, p, judgedAccessColumns, decodeJudgedAccess)
	if err != nil {
		return fmt.Errorf("read access events of %s: %w", system, err)
	}
	for _, r := range rows {
		if err := fn(model.AccessEvent{ID: r.ID, System: system, Time: r.Time.T(), Principal: r.Principal, Role: r.Role,
			Ticket: r.Ticket, Result: r.Result}); err != nil {
			return err
		}
	}
	return nil
}

type classVerdictRow struct {
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Ticket    string `json:"ticket"`
	Result    string `json:"result"`
	Rule      string `json:"rule"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason"`
	Repo      string `json:"repo"`
	// EvidenceKey names the class's evidence in finding_evidence: every
	// event of a class has the same, so it is written once, not per event.
	EvidenceKey string `json:"evidence_key"`
	Waiver      string `json:"waiver"`
}

var scratchSeq atomic.Int64

// RecordClassVerdicts records, inside the engine, the verdicts of every
// stored event of system that has a time, belongs to one of the classes of
// verdicts and is not one of exclude: each event's findings are its class's
// with its own subject and time, and only those that differ from the
// event's current verdict (as model.Finding.Same compares) are recorded,
// evaluated at now (or just after the current one). The events' findings
// never leave the engine, but for before: when not nil it is handed every
// finding to be recorded, a chunk at a time in rule and subject order,
// before any is (the alert outbox), and an error from it records nothing.
// It returns how many findings it recorded, or errors.ErrUnsupported, having
// done nothing, when the store is a cluster's.
//
// rules are the rules whose current verdicts are compared. The caller
// keeps other writers of these subjects out meanwhile.
func (s *Store) RecordClassVerdicts(ctx context.Context, system string, rules []string, verdicts []model.ClassFinding,
	exclude []string, now time.Time, before func([]model.Finding) error) (int, error) {
	if _, clustered := s.db.(*clusterDB); clustered {
		// Scratch tables on a cluster would be distributed, and a
		// distributed insert is not read back at once.
		return 0, errors.ErrUnsupported
	}
	if len(verdicts) == 0 {
		return 0, nil
	}
	n := scratchSeq.Add(1)
	vt := fmt.Sprintf("scratch_class_verdicts_%d_%d", time.Now().UnixNano(), n)
	ct := fmt.Sprintf("scratch_changed_findings_%d_%d", time.Now().UnixNano(), n)
	defer s.db.Exec(context.Background(), "DROP TABLE IF EXISTS "+vt, nil) //nolint:errcheck
	defer s.db.Exec(context.Background(), "DROP TABLE IF EXISTS "+ct, nil) //nolint:errcheck
	if err := s.db.Exec(ctx, "CREATE TABLE "+vt+` (principal String, role String, ticket String, result String,
    rule String, outcome String, reason String, repo String, evidence_key String, waiver String) ENGINE = Memory`, nil); err != nil {
		return 0, fmt.Errorf("class verdicts of %s: %w", system, err)
	}
	rows := make([]classVerdictRow, len(verdicts))
	var es evidenceSet
	for i, v := range verdicts {
		fr, err := findingRowOf(&v.Finding)
		if err != nil {
			return 0, fmt.Errorf("encode class verdict %s: %w", v.Finding.Rule, err)
		}
		es.keep(&fr)
		rows[i] = classVerdictRow{v.Class.Principal, v.Class.Role, v.Class.Ticket, v.Class.Result, fr.Rule, fr.Outcome,
			fr.Reason, fr.Repo, fr.EvidenceKey, fr.Waiver}
	}
	// The evidence first: a verdict never names a key whose evidence is
	// not there yet.
	if err := s.writeEvidence(ctx, &es); err != nil {
		return 0, fmt.Errorf("class verdicts of %s: %w", system, err)
	}
	if err := s.db.Insert(ctx, vt, rows); err != nil {
		return 0, fmt.Errorf("class verdicts of %s: %w", system, err)
	}
	// What follows is the engine's work, seconds of it, and Go's part is
	// done: the classes' rows and their encoding are garbage, but Go keeps
	// its heap (up to the soft memory limit, hundreds of MiB) until it
	// next needs to grow it. Returned now, the engine's statements have
	// that memory rather than the process both (the full organisation's
	// systems: Go held 500-630 MiB beside every class statement).
	rows, es, verdicts = nil, evidenceSet{}, nil
	debug.FreeOSMemory()
	p := Params{"system": system, "prefix": system + ":", "rules": ArrayParam(rules), "exclude": ArrayParam(exclude),
		"now": now.UTC().Format("2006-01-02 15:04:05.000000")}
	// The current verdicts are joined by sorting both sides, so that a
	// system's millions of verdicts are never one hash table in memory.
	// The changed findings go straight into the findings table when nobody
	// must see them first; else they wait on disk (not in memory: a first
	// evaluation has one per event) while before sees them.
	// Every row written is evaluated at now or later, and nothing else
	// writes these subjects meanwhile (the caller's promise): the rows
	// evaluated since now, before and after, count what was written.
	countSince := func() (uint64, error) {
		var n []struct {
			N uint64 `json:"n"`
		}
		if err := s.db.Query(ctx, `SELECT count() AS n FROM findings WHERE rule IN {rules:Array(String)}
    AND startsWith(subject, {prefix:String}) AND evaluated_at >= {now:DateTime64(6, 'UTC')}`, p, &n); err != nil || len(n) == 0 {
			return 0, fmt.Errorf("count access verdicts of %s: %v", system, err)
		}
		return n[0].N, nil
	}
	var since uint64
	target := "findings"
	if before == nil {
		var err error
		if since, err = countSince(); err != nil {
			return 0, err
		}
	} else {
		if err := s.db.Exec(ctx, "CREATE TABLE "+ct+" AS findings ENGINE = MergeTree ORDER BY (rule, subject)", nil); err != nil {
			return 0, fmt.Errorf("class verdicts of %s: %w", system, err)
		}
		target = ct
	}
	judged, err := s.hasAccessVerdicts(ctx, p)
	if err != nil {
		return 0, err
	}
	ranges := []idRange{{}}
	if judged {
		// Compared with the current verdicts a stretch of ids at a time:
		// the engine's memory for the join is a stretch's, not the
		// system's (one statement over 5M events held 3.8 GiB).
		if ranges, err = s.accessIDRanges(ctx, system, classJoinEvents); err != nil {
			return 0, err
		}
	}
	for _, r := range ranges {
		q := p
		if r.lo != "" || r.hi != "" {
			q = maps.Clone(p)
			q["lo"], q["hi"] = r.lo, r.hi
			q["slo"], q["shi"] = system+":"+r.lo, system+":"+r.hi
		}
		if err := s.db.Exec(ctx, classStatement(target, vt, judged, r), q); err != nil {
			return 0, fmt.Errorf("judge access events of %s by class: %w", system, err)
		}
	}
	if before == nil {
		after, err := countSince()
		return int(after - since), err
	}
	total, err := s.CountPhysical(ctx, ct)
	if err != nil {
		return 0, err
	}
	if total == 0 {
		return 0, nil
	}
	{
		last := [2]string{"", ""}
		for {
			var chunk []findingRow
			if err := s.db.Query(ctx, `SELECT * FROM `+ct+` WHERE (rule, subject) > ({r:String}, {s:String})
ORDER BY rule, subject LIMIT {n:UInt32}`, Params{"r": last[0], "s": last[1], "n": strconv.Itoa(classChunk)}, &chunk); err != nil {
				return 0, fmt.Errorf("read changed access verdicts of %s: %w", system, err)
			}
			if len(chunk) == 0 {
				break
			}
			fs, err := s.findingsOf(ctx, chunk)
			if err != nil {
				return 0, err
			}
			if err := before(fs); err != nil {
				return 0, err
			}
			last = [2]string{chunk[len(chunk)-1].Rule, chunk[len(chunk)-1].Subject}
			if len(chunk) < classChunk {
				break
			}
		}
	}
	if err := s.db.Exec(ctx, "INSERT INTO findings SELECT * FROM "+ct+" SETTINGS "+insertBlockSettings, nil); err != nil {
		return 0, fmt.Errorf("record access verdicts of %s: %w", system, err)
	}
	return int(total), nil
}

// hasAccessVerdicts says whether any of p's rules has a verdict on a
// subject of p's system: (rule, subject) is the findings table's key, so
// this reads one stretch of it per rule.
func (s *Store) hasAccessVerdicts(ctx context.Context, p Params) (bool, error) {
	var n []struct {
		N uint64 `json:"n"`
	}
	if err := s.db.Query(ctx, `SELECT count() AS n FROM (SELECT 1 FROM findings WHERE rule IN {rules:Array(String)}
    AND startsWith(subject, {prefix:String}) LIMIT 1)`, p, &n); err != nil {
		return false, fmt.Errorf("look for access verdicts of %s: %w", p["system"], err)
	}
	return len(n) > 0 && n[0].N > 0, nil
}

// classJoinEvents is how many events one class statement compares with
// their current verdicts at most (about; accessIDRanges): the join's sorts
// and the current verdicts' aggregation hold some hundreds of bytes per
// event and verdict, so a stretch of this many holds a few hundred MiB.
// A variable so that a test can cross stretches with few events.
var classJoinEvents = 262_144

// idRange is a stretch of a system's event ids, lo inclusive, hi
// exclusive; an empty bound is none.
type idRange struct{ lo, hi string }

// accessIDRanges splits system's event ids into stretches of about per
// events each (one stretch, unbounded, when it has no more): bounds taken
// from a sample of the ids, so the stretches are even to a few percent.
func (s *Store) accessIDRanges(ctx context.Context, system string, per int) ([]idRange, error) {
	var rows []struct {
		N   uint64   `json:"n"`
		IDs []string `json:"ids"`
	}
	if err := s.db.Query(ctx, `SELECT count() AS n, arraySort(groupArraySample(8192, 1)(id)) AS ids FROM access_events
WHERE system = {system:String}`, Params{"system": system}, &rows); err != nil {
		return nil, fmt.Errorf("split access events of %s: %w", system, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("split access events of %s: the count answered no row", system)
	}
	n, ids := int(rows[0].N), rows[0].IDs
	k := min((n+per-1)/per, len(ids))
	if k <= 1 {
		return []idRange{{}}, nil
	}
	var out []idRange
	lo := ""
	for i := 1; i < k; i++ {
		b := ids[i*len(ids)/k]
		if b == lo || (lo != "" && b < lo) {
			continue
		}
		out = append(out, idRange{lo, b})
		lo = b
	}
	return append(out, idRange{lo, ""}), nil
}

// classStatement is RecordClassVerdicts' INSERT ... SELECT into target of
// the findings of the system's events by class (vt). When the system's
// events have verdicts (judged), each event's are compared with its
// current ones, joined by sorting both sides, so that a system's millions
// of verdicts are never one hash table in memory; and only the events of
// ids in r (and their verdicts: the findings table is ordered by subject,
// the system's id after its name) are read, so that the caller can bound
// the statement's memory by splitting the system. Else every verdict is
// new: the events stream past a hash table of the classes (thousands of
// rows), nothing is sorted, and nothing is compared.
//
// Either way the engine's memory is capped (classSettings): sorts,
// aggregations and joins that would need more spill to disk.
func classStatement(target, vt string, judged bool, r idRange) string {
	var eventsIn, verdictsIn string
	if r.lo != "" {
		eventsIn += ` AND id >= {lo:String}`
		verdictsIn += ` AND subject >= {slo:String}`
	}
	if r.hi != "" {
		eventsIn += ` AND id < {hi:String}`
		verdictsIn += ` AND subject < {shi:String}`
	}
	events := `(SELECT concat({system:String}, ':', id) AS subject, time, principal, role, ticket, result FROM access_events FINAL
      WHERE system = {system:String} AND time > toDateTime64(0, 3, 'UTC') AND id NOT IN {exclude:Array(String)}` + eventsIn + `) AS e`
	insert := `INSERT INTO ` + target + ` (rule, subject, outcome, reason, repo, occurred_at, evaluated_at, evidence, waiver,
    evidence_key)`
	if !judged {
		return insert + `
SELECT v.rule, e.subject, v.outcome, v.reason, v.repo, e.time, {now:DateTime64(6, 'UTC')}, '', v.waiver, v.evidence_key
FROM ` + events + `
INNER JOIN ` + vt + ` AS v ON e.principal = v.principal AND e.role = v.role AND e.ticket = v.ticket AND e.result = v.result
SETTINGS join_algorithm = 'hash', ` + classSettings
	}
	return insert + `
SELECT v.rule, e.subject, v.outcome, v.reason, v.repo, e.time,
    if(c.subject = '', {now:DateTime64(6, 'UTC')}, greatest({now:DateTime64(6, 'UTC')}, c.cur_at + toIntervalMicrosecond(1))),
    '', v.waiver, v.evidence_key
FROM ` + events + `
INNER JOIN ` + vt + ` AS v ON e.principal = v.principal AND e.role = v.role AND e.ticket = v.ticket AND e.result = v.result
LEFT JOIN (SELECT rule, subject, argMax(outcome, evaluated_at) AS cur_outcome, argMax(reason, evaluated_at) AS cur_reason,
        argMax(occurred_at, evaluated_at) AS cur_occurred, argMax(waiver, evaluated_at) AS cur_waiver, max(evaluated_at) AS cur_at
    FROM findings WHERE rule IN {rules:Array(String)} AND startsWith(subject, {prefix:String})` + verdictsIn + `
    GROUP BY rule, subject) AS c
    ON c.rule = v.rule AND c.subject = e.subject
WHERE c.subject = '' OR c.cur_outcome != v.outcome OR c.cur_reason != v.reason OR c.cur_occurred != e.time
    OR c.cur_waiver != v.waiver
SETTINGS join_algorithm = 'full_sorting_merge,grace_hash,hash', join_use_nulls = 0, ` + classSettings
}

// classSettings cap the engine's memory for the class statement: a sort
// or aggregation over a system's millions of events or verdicts that would
// hold more than 256 MiB spills to disk instead, and the rows inserted are
// formed into parts of at most 256k rows or 64 MiB (the defaults, 1M rows
// or 256 MiB, held a quarter GiB per part being sorted and compressed,
// beside the events being read). (The joins hold no large hash table: the
// current verdicts are joined by sorting, and the classes' table is as
// small as the classes Go already holds.)
const classSettings = `max_bytes_before_external_sort = 268435456, max_bytes_before_external_group_by = 268435456, ` +
	insertBlockSettings

// insertBlockSettings are classSettings' part size, for every INSERT ...
// SELECT of many findings.
const insertBlockSettings = `min_insert_block_size_rows = 262144, min_insert_block_size_bytes = 67108864`

// classChunk is how many changed verdicts RecordClassVerdicts hands
// before at once.
const classChunk = 25_000
