package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/changeproof/changeproof/model"
)

// Store is changeproof's evidence store over any DB. Safe for concurrent use.
type Store struct {
	db DB

	// The raw log's chain head, loaded on first write. Writers are
	// serialised on chainMu so links are numbered without gaps.
	chainMu     sync.Mutex
	chain       string
	chainLoaded bool
	chainSeq    uint64
	chainHash   string

	// keys, when not nil, holds every key of the raw log (EnableKeyFilter).
	keysMu sync.Mutex
	keys   *keyFilter
}

// New wraps db. Call Migrate first.
func New(db DB) *Store { return &Store{db: db} }

// DB returns the underlying connection.
func (s *Store) DB() DB { return s.db }

// Write stores a batch: derived rows first (one INSERT per table, run
// concurrently: each costs mostly the engine's part creation), the raw
// deliveries last. A crash in between leaves derived rows whose deliveries
// are not yet known; the sender retries (it got no 2xx), and the replayed
// derived rows replace themselves by key, so nothing is lost or doubled.
func (s *Store) Write(ctx context.Context, b model.Batch) error {
	var inserts []func() error
	if len(b.PullRequests) > 0 {
		rows := make([]prRow, len(b.PullRequests))
		for i, p := range b.PullRequests {
			rows[i] = prToRow(p)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "pull_requests", rows) })
	}
	if len(b.Reviews) > 0 {
		rows := make([]reviewRow, len(b.Reviews))
		for i, r := range b.Reviews {
			rows[i] = reviewToRow(r)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "reviews", rows) })
	}
	if len(b.Pushes) > 0 {
		rows := make([]pushRow, len(b.Pushes))
		for i, p := range b.Pushes {
			rows[i] = pushToRow(p)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "pushes", rows) })
	}
	if len(b.Protections) > 0 {
		rows := make([]protectionRow, len(b.Protections))
		for i, p := range b.Protections {
			rows[i] = protectionToRow(p)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "protection_events", rows) })
	}
	if len(b.Deploys) > 0 {
		rows := make([]deployRow, len(b.Deploys))
		for i, d := range b.Deploys {
			rows[i] = deployToRow(d)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "deploys", rows) })
	}
	if len(b.Contributions) > 0 {
		rows := rowsOf(b.Contributions, contributionToRow)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "contributions", rows) })
	}
	if len(b.Checks) > 0 {
		rows := rowsOf(b.Checks, checkToRow)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "check_results", rows) })
	}
	if len(b.Rulesets) > 0 {
		rows := rowsOf(b.Rulesets, rulesetToRow)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "ruleset_events", rows) })
	}
	if len(b.DeadLetters) > 0 {
		rows := make([]DeadLetter, len(b.DeadLetters))
		for i, d := range b.DeadLetters {
			rows[i] = DeadLetter{d.Source, d.Event, d.DeliveryID, Time(d.ReceivedAt), d.Reason, bodyString(d.Body)}
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "dead_letters", rows) })
	}
	if len(b.Access) > 0 {
		rows := make([]accessRow, len(b.Access))
		for i, e := range b.Access {
			rows[i] = accessToRow(e)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "access_events", rows) })
	}
	if len(b.Conflicts) > 0 {
		rows := conflictRows(b.Conflicts)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "conflicts", rows) })
	}
	if err := parallel(inserts); err != nil {
		return err
	}
	if len(b.Deliveries) > 0 {
		rows := make([]rawRow, len(b.Deliveries))
		for i, d := range b.Deliveries {
			rows[i] = rawRow{Source: d.Source, Event: d.Event, DeliveryID: d.DeliveryID, ReceivedAt: Time(d.ReceivedAt),
				SHA256: d.SHA256, Body: bodyString(d.Body)}
		}
		s.chainMu.Lock()
		defer s.chainMu.Unlock()
		if err := s.link(ctx, rows, b.Deliveries); err != nil {
			return err
		}
		if err := s.db.Insert(ctx, "raw_deliveries", rows); err != nil {
			// The head did not move; the next write links from it again.
			return err
		}
		s.chainSeq, s.chainHash = rows[len(rows)-1].Seq, rows[len(rows)-1].Hash
		s.keysMu.Lock()
		if s.keys != nil {
			for _, d := range b.Deliveries {
				s.keys.add(keyHash(d.Source, d.DeliveryID))
			}
		}
		s.keysMu.Unlock()
	}
	return nil
}

// bodyString views a delivery body as a string without copying it: bodies
// are 5-30 KB and a batch holds hundreds, and nothing writes to a body once
// it was received. The string lives only as long as the insert.
func bodyString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parallel runs fns concurrently and returns the first error.
func parallel(fns []func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ArrayParam renders strings as a ClickHouse Array(String) literal for Params.
func ArrayParam(ss []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(QuoteString(s))
	}
	b.WriteByte(']')
	return b.String()
}

// QuoteString renders s as a ClickHouse string literal.
func QuoteString(s string) string {
	return "'" + quoter.Replace(s) + "'"
}

var quoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

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

// DeadLetters lists dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	var rows []DeadLetter
	if err := s.db.Query(ctx, "SELECT * FROM dead_letters FINAL ORDER BY received_at DESC LIMIT {n:UInt32}",
		Params{"n": fmt.Sprint(limit)}, &rows); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return rows, nil
}

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

// WriteAccess stores access events in one INSERT. A repeated event id
// replaces itself.
func (s *Store) WriteAccess(ctx context.Context, es []model.AccessEvent) error {
	rows := make([]accessRow, len(es))
	for i, e := range es {
		rows[i] = accessToRow(e)
	}
	if err := s.db.Insert(ctx, "access_events", rows); err != nil {
		return fmt.Errorf("store %d access events: %w", len(es), err)
	}
	return nil
}

// AccessSystems lists the systems with stored access events.
func (s *Store) AccessSystems(ctx context.Context) ([]string, error) {
	var rows []struct {
		System string `json:"system"`
	}
	if err := s.db.Query(ctx, "SELECT DISTINCT system FROM access_events ORDER BY system", nil, &rows); err != nil {
		return nil, fmt.Errorf("list access systems: %w", err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.System
	}
	return out, nil
}

// AccessEvents returns up to limit events of system with id > after, in id
// order: a cursor for walking a system's events in bounded memory.
func (s *Store) AccessEvents(ctx context.Context, system, after string, limit int) ([]model.AccessEvent, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, "SELECT * FROM access_events FINAL WHERE system = {system:String} AND id > {after:String} ORDER BY id LIMIT {n:UInt32}",
		Params{"system": system, "after": after, "n": fmt.Sprint(limit)}, &rows); err != nil {
		return nil, fmt.Errorf("read access events of %s: %w", system, err)
	}
	out := make([]model.AccessEvent, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// DeploysOf returns every deploy of a repository's code, oldest first by
// event time (finished, else started).
func (s *Store) DeploysOf(ctx context.Context, repo string) ([]model.Deploy, error) {
	var rows []deployRow
	if err := s.db.Query(ctx, "SELECT * FROM deploys FINAL WHERE repo = {repo:String} ORDER BY "+deployTimeSQL+", id",
		Params{"repo": repo}, &rows); err != nil {
		return nil, fmt.Errorf("read deploys of %s: %w", repo, err)
	}
	out := make([]model.Deploy, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
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

// DeploysBetween returns every deploy whose event time (finished, else
// started) lies in [from, to).
func (s *Store) DeploysBetween(ctx context.Context, from, to time.Time) ([]model.Deploy, error) {
	var rows []deployRow
	if err := s.db.Query(ctx, "SELECT * FROM deploys FINAL WHERE "+deployTimeSQL+" >= {from:DateTime64(3, 'UTC')} AND "+
		deployTimeSQL+" < {to:DateTime64(3, 'UTC')} ORDER BY service, environment, id", periodParams(from, to), &rows); err != nil {
		return nil, fmt.Errorf("read deploys: %w", err)
	}
	out := make([]model.Deploy, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// AccessBetween returns every access event whose time lies in [from, to).
func (s *Store) AccessBetween(ctx context.Context, from, to time.Time) ([]model.AccessEvent, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, `SELECT * FROM access_events FINAL
WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')} ORDER BY system, id`,
		periodParams(from, to), &rows); err != nil {
		return nil, fmt.Errorf("read access events: %w", err)
	}
	out := make([]model.AccessEvent, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// AccessEvent returns one stored access event.
func (s *Store) AccessEvent(ctx context.Context, system, id string) (model.AccessEvent, bool, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, "SELECT * FROM access_events FINAL WHERE system = {system:String} AND id = {id:String}",
		Params{"system": system, "id": id}, &rows); err != nil {
		return model.AccessEvent{}, false, fmt.Errorf("read access event %s:%s: %w", system, id, err)
	}
	if len(rows) == 0 {
		return model.AccessEvent{}, false, nil
	}
	return rows[0].model(), true, nil
}

// periodParams binds {from} and {to}; zero bounds are open.
func periodParams(from, to time.Time) Params {
	p := Params{"from": "1970-01-01 00:00:00.000", "to": "2299-12-31 23:59:59.999"}
	if !from.IsZero() {
		p["from"] = chTime(from)
	}
	if !to.IsZero() {
		p["to"] = chTime(to)
	}
	return p
}

// Outcomes returns the current outcome of every (rule, subject) whose rule
// starts with rulePrefix ("" = all): subject -> rule -> outcome. It reads
// three columns, not whole findings, for populations of millions.
func (s *Store) Outcomes(ctx context.Context, rulePrefix string) (map[string]map[string]string, error) {
	var rows []struct {
		Rule    string `json:"rule"`
		Subject string `json:"subject"`
		Outcome string `json:"outcome"`
	}
	if err := s.db.Query(ctx, `SELECT rule, subject, argMax(outcome, evaluated_at) AS outcome FROM findings
WHERE startsWith(rule, {prefix:String}) GROUP BY rule, subject`, Params{"prefix": rulePrefix}, &rows); err != nil {
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

// AccessReceivedSince returns up to limit access events stored after since
// (by receipt), oldest first, and the receipt time to continue from.
func (s *Store) AccessReceivedSince(ctx context.Context, since time.Time) ([]model.AccessEvent, time.Time, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, `SELECT * FROM access_events FINAL WHERE received_at > {since:DateTime64(3, 'UTC')}
ORDER BY received_at, system, id LIMIT 20000`, Params{"since": chTime(since)}, &rows); err != nil {
		return nil, since, fmt.Errorf("read access events received since %s: %w", since.Format(time.RFC3339), err)
	}
	out := make([]model.AccessEvent, len(rows))
	last := since
	for i, r := range rows {
		out[i] = r.model()
		if r.ReceivedAt.T().After(last) {
			last = r.ReceivedAt.T()
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
