package store

// The benchmarks' statements (changeproof bench generate, bench rules, and
// the access ingest benchmark): a generated organisation written straight
// into the tables, and the engine's raw reads and writes of the same rows
// that each figure is compared with. Nothing that serves uses them.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// GeneratedOrg sizes a generated organisation (GenerateOrg).
type GeneratedOrg struct {
	Changes, Reviews, Deploys, Access, Repos int
	// T0 is when the generated history starts; it spans a year.
	T0 time.Time
}

// The generator's SQL. Every row is a pure function of its number, so the
// engine generates in parallel (numbers_mt) and a rerun gives the same data.
// Shared expressions:
//
//	g     change number; repo g % repos, position in its repo's chain g / repos
//	h     the change's variant (0..999), chosen by hash so variants spread
//	sha   the commit a change put on main: SHA1('m' || g)
//	t     when the change landed: t0 + g * step
const (
	genChangeCols = `g % {repos:UInt64} AS ri, intDiv(g, {repos:UInt64}) AS k,
    concat('acme/svc-', leftPad(toString(ri), 4, '0')) AS repo,
    cityHash64(g, 'v') % 1000 AS h, cityHash64(g, 'kind') % 20 = 0 AS is_push,
    cityHash64(g, 'a') % 50 AS a, (a + 1 + cityHash64(g, 'r') % 49) % 50 AS r1, (r1 + 1) % 50 AS r2,
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + g * {step:Int64}), 'UTC') AS t,
    lower(hex(SHA1(concat('m', toString(g))))) AS sha,
    lower(hex(SHA1(concat('h', toString(g))))) AS head,
    if(h < 10, 'dependabot[bot]', concat('dev', toString(a))) AS author,
    if(h % 7 = 0, author, concat('dev', toString((a + 7) % 50))) AS merger`

	// Each merged pull request arrives as two snapshots, opened and closed
	// (merged), as webhooks deliver them. About 5% name no ticket, 1% are
	// hotfixes reviewed after the merge, 1% are dependabot's.
	genPullRequests = `INSERT INTO pull_requests (repo, number, delivery_id, action, state, merged, merged_at, merge_commit_sha,
    head_sha, head_ref, base_ref, default_branch, author, merged_by, title, body, url, labels, updated_at, received_at)
SELECT repo, k + 1, concat('gen-pr-', toString(g), '-', toString(snap)), if(snap = 1, 'closed', 'opened'),
    if(snap = 1, 'closed', 'open'), snap = 1, if(snap = 1, t, toDateTime64(0, 3, 'UTC')), if(snap = 1, sha, ''),
    head, if(h % 3 = 0, concat('feature/PAY-', toString(g)), concat('change-', toString(g))), 'main', 'main',
    author, if(snap = 1, merger, ''),
    if(h < 950, concat('PAY-', toString(g), ': change ', toString(k)), 'small fix'),
    concat('Generated change ', toString(g), '.\n\nTouches the service of ', repo, '.'),
    concat('https://github.com/', repo, '/pull/', toString(k + 1)),
    if(h >= 20 AND h < 30, ['hotfix'], if(h % 11 = 0, ['backend'], [])),
    if(snap = 1, t, t - toIntervalHour(3)), if(snap = 1, t, t - toIntervalHour(3)) + toIntervalSecond(1)
FROM (SELECT number AS g, ` + genChangeCols + `, arrayJoin([0, 1]) AS snap FROM numbers_mt({changes:UInt64}))
WHERE NOT is_push`

	// Review events, slot = j / changes per change: slot 0 approves (1%
	// self-approvals, half through the author's alias; 2% on an earlier
	// commit; hotfixes after the merge), slot 1 comments, or takes the
	// approval back (0.5% changes requested, 0.5% dismissed), slot 2
	// comments or (30%) approves too. Reviews of a direct push's number are reviews
	// of a pull request that was never merged.
	genReviews = `INSERT INTO reviews (repo, pr_number, review_id, delivery_id, action, reviewer, state, commit_id,
    submitted_at, url, received_at)
SELECT repo, k + 1, if(dismissal, g + 1, j + 1), concat('gen-rv-', toString(j)), if(dismissal, 'dismissed', 'submitted'),
    multiIf(slot = 0 AND h >= 100 AND h < 110, if(h % 2 = 0, author, concat('dev', toString(a), '-alt')),
            slot = 0, concat('dev', toString(r1)),
            slot = 1 AND ((h >= 180 AND h < 185) OR dismissal), concat('dev', toString(r1)),
            concat('dev', toString(r2))),
    multiIf(slot = 0, 'approved', slot = 1 AND h >= 180 AND h < 185, 'changes_requested', dismissal, 'dismissed',
            slot = 2 AND h >= 300 AND h < 600, 'approved', 'commented'),
    if(slot = 0 AND h >= 130 AND h < 150, lower(hex(SHA1(concat('o', toString(g))))), head),
    at, concat('https://github.com/', repo, '/pull/', toString(k + 1), '#pullrequestreview-', toString(j + 1)),
    at + toIntervalSecond(1)
FROM (SELECT number AS j, j % {changes:UInt64} AS g, intDiv(j, {changes:UInt64}) AS slot, ` + genChangeCols + `,
        slot = 1 AND h >= 200 AND h < 205 AS dismissal,
        multiIf(slot = 0 AND h >= 20 AND h < 30, t + toIntervalHour(2), dismissal, t - toIntervalMinute(60),
                t - toIntervalMinute(60) + toIntervalMinute(slot)) AS at
    FROM numbers_mt({reviews:UInt64}))`

	// The default-branch chain: push g moves main from its repo's previous
	// change to sha. A pull request's push is its merge; 5% are direct
	// pushes, four in five by release-bot (exempt).
	genPushes = `INSERT INTO pushes (repo, ref, before, after, delivery_id, default_branch, pusher, created, deleted, forced,
    pushed_at, commit_shas, messages, url, received_at)
SELECT repo, 'refs/heads/main',
    if(k = 0, lower(hex(SHA1(concat('base', toString(ri))))), lower(hex(SHA1(concat('m', toString(g - {repos:UInt64})))))),
    sha, concat('gen-push-', toString(g)), 'main',
    if(is_push, if(h % 5 != 0, 'release-bot', author), merger), false, false, false, t, [sha],
    if(is_push, [if(h < 950, concat('OPS-', toString(g), ' config change'), 'quick fix')],
        [concat('Merge pull request #', toString(k + 1), ' from acme/change-', toString(g))]),
    concat('https://github.com/', repo, '/commit/', sha), t + toIntervalSecond(2)
FROM (SELECT number AS g, ` + genChangeCols + ` FROM numbers_mt({changes:UInt64}))`

	// Deploys: deploy m of a repository ships its chain up to change
	// (m+1)*step-1. 80% production successes, 10% staging, 5% failures,
	// 2% of a commit that is not on main, 3% to the "prod" environment.
	genDeploys = `INSERT INTO deploys (source, id, service, environment, sha, repo, status, actor, started_at, finished_at,
    pipeline, url, version, received_at)
SELECT 'api', toString(d + 1), concat('svc-', leftPad(toString(ri), 4, '0')),
    multiIf(hd < 80, 'production', hd < 90, 'staging', hd < 97, 'production', 'prod'),
    if(hd >= 95 AND hd < 97, lower(hex(SHA1(concat('unknown', toString(d))))), lower(hex(SHA1(concat('m', toString(gt)))))),
    concat('acme/svc-', leftPad(toString(ri), 4, '0')), if(hd >= 90 AND hd < 95, 'failure', 'success'), 'ci-bot',
    at + toIntervalMinute(5), at + toIntervalMinute(10), concat('build-', toString(d)),
    concat('https://ci.acme.io/build/', toString(d)), concat('v', toString(m)), at + toIntervalMinute(11)
FROM (SELECT number AS d, d % {repos:UInt64} AS ri, intDiv(d, {repos:UInt64}) AS m,
        intDiv({changes:UInt64} - ri + {repos:UInt64} - 1, {repos:UInt64}) AS cr,
        intDiv({deploys:UInt64} - ri + {repos:UInt64} - 1, {repos:UInt64}) AS dr,
        greatest(1, intDiv(cr, dr)) AS step_k, least(cr - 1, (m + 1) * step_k - 1) AS kt, ri + {repos:UInt64} * kt AS gt,
        cityHash64(d, 'd') % 100 AS hd,
        fromUnixTimestamp64Milli(toInt64({t0:Int64} + gt * {step:Int64}), 'UTC') AS at
    FROM numbers_mt({deploys:UInt64}))`

	// Branch protection: each repository's rule is created, weakened (a
	// third turn reviews off, all drop stale-review dismissal and
	// approvals), then restored.
	genProtections = `INSERT INTO protection_events (repo, delivery_id, action, sender, rule_name, review_enforcement,
    required_approvals, dismiss_stale, admin_enforced, occurred_at, received_at)
SELECT concat('acme/svc-', leftPad(toString(ri), 4, '0')), concat('gen-prot-', toString(p)), if(s = 0, 'created', 'edited'),
    concat('dev', toString(ri % 50)), 'main', if(s = 1 AND ri % 3 = 0, 'off', 'everyone'), if(s = 1, 0, 1), s != 1, true,
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + (s * 100 + ri % 100) * 86400000), 'UTC') AS at, at + toIntervalSecond(1)
FROM (SELECT number AS p, p % {repos:UInt64} AS ri, intDiv(p, {repos:UInt64}) AS s FROM numbers_mt({protections:UInt64}))`

	// Access events over four systems (dev-db is not configured): 88%
	// authorized people (10% through their @corp principal), 5% people
	// not authorized, 2% contractors, 4% break-glass (3% with a ticket,
	// 0.5% "urgent", 0.5% none), 1% dev49, who leaves; 1 in 10,000 names no
	// principal; 2% are failed attempts.
	genAccess = `INSERT INTO access_events (system, id, time, principal, action, result, role, ticket, source_ip, source,
    format, raw, received_at)
SELECT system, id, at, principal, action, result, role, ticket, ip, 'bench', 'generic',
    concat('{"id":"', id, '","time":"', formatDateTime(at, '%Y-%m-%dT%H:%i:%SZ', 'UTC'), '","principal":"', principal,
        '","system":"', system, '","action":"', action, '","result":"', result, '"}'),
    at + toIntervalSecond(2)
FROM (SELECT number AS n, cityHash64(n, 's') % 10 AS sp,
        multiIf(sp < 4, 'prod-db', sp < 7, 'bastion', sp < 9, 'prod-k8s', 'dev-db') AS system,
        concat('a', toString(n)) AS id,
        fromUnixTimestamp64Milli(toInt64({t0:Int64} + n * {astep:Int64}), 'UTC') AS at,
        cityHash64(n, 'p') % 10000 AS ha, cityHash64(n, 'x') AS x,
        multiIf(ha = 0, '', ha < 1000, concat('dev', toString(x % 30), '@corp'), ha < 8800, concat('dev', toString(x % 30)),
                ha < 9300, concat('dev', toString(30 + x % 19)), ha < 9500, concat('contractor-', toString(x % 20)),
                ha < 9900, concat('dev', toString(x % 30)), 'dev49') AS principal,
        if(ha >= 9500 AND ha < 9900, multiIf(system = 'prod-db', 'dba', system = 'bastion', 'root', system = 'prod-k8s', 'cluster-admin', 'admin'), '') AS role,
        multiIf(ha >= 9500 AND ha < 9800, concat('OPS-', toString(n % 5000)), ha >= 9800 AND ha < 9850, 'urgent', '') AS ticket,
        if(cityHash64(n, 'r') % 50 = 0, 'failure', 'success') AS result,
        multiIf(system = 'prod-db', 'psql login', system = 'bastion', 'ssh login', 'kubectl exec') AS action,
        concat('10.', toString(x % 256), '.', toString(intDiv(x, 256) % 256), '.', toString(intDiv(x, 65536) % 256)) AS ip
    FROM numbers_mt({access:UInt64}))`
)

// GeneratedTable says how many rows GenerateOrg wrote into a table and how
// long it took.
type GeneratedTable struct {
	Table string
	Rows  uint64
	Took  time.Duration
}

// GenerateOrg fills the store with spec's organisation, then merges every
// table's parts, as a store that has run for a while has them.
func (s *Store) GenerateOrg(ctx context.Context, spec GeneratedOrg) ([]GeneratedTable, error) {
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	p := Params{
		"repos": strconv.Itoa(spec.Repos), "changes": strconv.Itoa(spec.Changes), "reviews": strconv.Itoa(spec.Reviews),
		"deploys": strconv.Itoa(spec.Deploys), "access": strconv.Itoa(spec.Access), "protections": strconv.Itoa(3 * spec.Repos),
		"t0": strconv.FormatInt(spec.T0.UnixMilli(), 10), "step": strconv.FormatInt(span/int64(spec.Changes), 10),
		"astep": strconv.FormatInt(span/int64(max(spec.Access, 1)), 10),
	}
	steps := []struct{ table, sql string }{
		{"pull_requests", genPullRequests}, {"reviews", genReviews}, {"pushes", genPushes},
		{"deploys", genDeploys}, {"protection_events", genProtections}, {"access_events", genAccess},
	}
	var out []GeneratedTable
	for _, st := range steps {
		start := time.Now()
		if err := s.db.Exec(ctx, st.sql+" SETTINGS max_insert_threads = 2", p); err != nil {
			return nil, fmt.Errorf("generate %s: %w", st.table, err)
		}
		if err := s.db.Exec(ctx, "OPTIMIZE TABLE "+st.table+" FINAL", nil); err != nil {
			return nil, fmt.Errorf("merge %s: %w", st.table, err)
		}
		n, err := s.CountPhysical(ctx, st.table)
		if err != nil {
			return nil, err
		}
		out = append(out, GeneratedTable{st.table, n, time.Since(start)})
	}
	return out, nil
}

// WaiverSubject is a rule and subject a benchmark waives.
type WaiverSubject struct {
	Rule    string `json:"rule"`
	Subject string `json:"subject"`
}

// BenchWaiverSubjects chooses what the generated organisation's
// configuration waives: CM-4 on three pull requests without a ticket and
// AC-1 on two contractor logins.
func (s *Store) BenchWaiverSubjects(ctx context.Context) ([]WaiverSubject, error) {
	var rows []WaiverSubject
	if err := s.db.Query(ctx, `SELECT 'CM-4' AS rule, subject FROM (
    SELECT concat(repo, '#', toString(number)) AS subject FROM pull_requests
    WHERE action = 'closed' AND title = 'small fix' AND NOT match(head_ref, '[A-Z][A-Z0-9]+-[0-9]+')
    ORDER BY repo, number LIMIT 3)
UNION ALL SELECT 'AC-1' AS rule, subject FROM (
    SELECT concat(system, ':', id) AS subject FROM access_events
    WHERE system = 'prod-db' AND startsWith(principal, 'contractor-') ORDER BY id LIMIT 2)`, nil, &rows); err != nil {
		return nil, fmt.Errorf("choose waived subjects: %w", err)
	}
	return rows, nil
}

// EmptyTables empties tables (bench generate --force).
func (s *Store) EmptyTables(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		if err := s.db.Exec(ctx, "TRUNCATE TABLE IF EXISTS "+t, nil); err != nil {
			return fmt.Errorf("empty %s: %w", t, err)
		}
	}
	return nil
}

// rawScans read every row a full evaluation judges, as the engine alone
// reads it: the limit no evaluation that reads its evidence can beat.
var rawScans = []struct{ table, sql string }{
	{"pull_requests", "SELECT count() AS n, sum(cityHash64(*)) AS h FROM pull_requests FINAL WHERE {where}"},
	{"reviews", "SELECT count() AS n, sum(cityHash64(*)) AS h FROM reviews FINAL WHERE {where}"},
	{"pushes", "SELECT count() AS n, sum(cityHash64(*)) AS h FROM pushes FINAL WHERE {where}"},
	{"deploys", "SELECT count() AS n, sum(cityHash64(*)) AS h FROM deploys FINAL WHERE {where}"},
	{"protection_events", "SELECT count() AS n, sum(cityHash64(*)) AS h FROM protection_events FINAL WHERE {where}"},
	{"access_events", "SELECT count() AS n, sum(cityHash64(system, id, time, principal, role, ticket, result)) AS h FROM access_events FINAL WHERE {where}"},
}

// rawFindingsScan reads the recorded verdicts as a comparison needs them:
// every column but the evidence (without FINAL, the cheapest read).
const rawFindingsScan = "SELECT count() AS n, sum(cityHash64(rule, subject, outcome, reason, occurred_at, evaluated_at, waiver)) AS h FROM findings WHERE {where}"

// ScanEvidence times the engine reading every evidence row of repo (every
// repository's, and the access events, when repo is ""), hashing each: the
// raw limit of an evaluation that reads them.
func (s *Store) ScanEvidence(ctx context.Context, repo string) (time.Duration, error) {
	var scans []string
	for _, sc := range rawScans {
		if sc.table == "access_events" && repo != "" {
			continue // access events belong to systems, not repositories
		}
		scans = append(scans, sc.sql)
	}
	return s.scan(ctx, repo, scans)
}

// ScanVerdicts times the engine reading the recorded verdicts of repo (all
// when ""), as ScanEvidence does the evidence.
func (s *Store) ScanVerdicts(ctx context.Context, repo string) (time.Duration, error) {
	return s.scan(ctx, repo, []string{rawFindingsScan})
}

func (s *Store) scan(ctx context.Context, repo string, scans []string) (time.Duration, error) {
	where, p := "1", Params{}
	if repo != "" {
		where, p = "repo = {repo:String}", Params{"repo": repo}
	}
	var total time.Duration
	for _, q := range scans {
		q = strings.ReplaceAll(q, "{where}", where)
		var out []struct {
			N uint64 `json:"n"`
			H uint64 `json:"h"`
		}
		t := time.Now()
		if err := s.db.Query(ctx, q, p, &out); err != nil {
			return 0, fmt.Errorf("raw scan %q: %w", q, err)
		}
		total += time.Since(t)
	}
	return total, nil
}

// CopyFindings times the engine copying the findings table, and the
// evidence its rows name, into new ones: inserting the same rows with no
// Go work at all.
func (s *Store) CopyFindings(ctx context.Context) (time.Duration, error) {
	var total time.Duration
	for _, t := range []string{"findings", "finding_evidence"} {
		cp := "bench_" + t + "_copy"
		if err := s.db.Exec(ctx, "DROP TABLE IF EXISTS "+cp, nil); err != nil {
			return 0, err
		}
		if err := s.db.Exec(ctx, "CREATE TABLE "+cp+" AS "+t, nil); err != nil {
			return 0, err
		}
		defer s.db.Exec(ctx, "DROP TABLE IF EXISTS "+cp, nil) //nolint:errcheck
		start := time.Now()
		// In parts of the size the class statement writes (insertBlockSettings).
		if err := s.db.Exec(ctx, "INSERT INTO "+cp+" SELECT * FROM "+t+" SETTINGS "+insertBlockSettings, nil); err != nil {
			return 0, err
		}
		total += time.Since(start)
	}
	return total, nil
}

// ChangeCount is how many changes repo has (the changes view).
func (s *Store) ChangeCount(ctx context.Context, repo string) (uint64, error) {
	var size []struct {
		N uint64 `json:"n"`
	}
	if err := s.db.Query(ctx, "SELECT count() AS n FROM changes WHERE repo = {repo:String}", Params{"repo": repo}, &size); err != nil {
		return 0, fmt.Errorf("count changes of %s: %w", repo, err)
	}
	if len(size) == 0 {
		return 0, nil
	}
	return size[0].N, nil
}

// LatestMerge is a repository's latest merged pull request, with its
// first approver ("" when none).
type LatestMerge struct {
	Number   int    `json:"number"`
	Head     string `json:"head_sha"`
	Merge    string `json:"merge_commit_sha"`
	MergedAt Time   `json:"merged_at"`
	Approver string `json:"-"`
}

// LatestMerged returns repo's latest merged pull request and its first
// approver, for a benchmark that adds a review to it.
func (s *Store) LatestMerged(ctx context.Context, repo string) (LatestMerge, error) {
	var last []LatestMerge
	if err := s.db.Query(ctx, `SELECT number, head_sha, merge_commit_sha, merged_at FROM merged_pull_requests
WHERE repo = {repo:String} ORDER BY merged_at DESC, number DESC LIMIT 1`, Params{"repo": repo}, &last); err != nil || len(last) == 0 {
		return LatestMerge{}, fmt.Errorf("latest merged pull request of %s: %v", repo, err)
	}
	pr := last[0]
	var approver []struct {
		Reviewer string `json:"reviewer"`
	}
	if err := s.db.Query(ctx, `SELECT reviewer FROM reviews FINAL WHERE repo = {repo:String} AND pr_number = {n:UInt32}
    AND state = 'approved' ORDER BY submitted_at LIMIT 1`, Params{"repo": repo, "n": strconv.Itoa(pr.Number)}, &approver); err != nil {
		return LatestMerge{}, fmt.Errorf("approver of %s#%d: %w", repo, pr.Number, err)
	}
	if len(approver) > 0 {
		pr.Approver = approver[0].Reviewer
	}
	return pr, nil
}

// BranchTip returns the commit at the tip of repo's default branch and
// when it was pushed.
func (s *Store) BranchTip(ctx context.Context, repo string) (string, time.Time, error) {
	var tip []struct {
		After string `json:"tip"`
		At    Time   `json:"at"`
	}
	if err := s.db.Query(ctx, `SELECT argMax(after, pushed_at) AS tip, max(pushed_at) AS at FROM default_branch_pushes
WHERE repo = {repo:String}`, Params{"repo": repo}, &tip); err != nil || len(tip) == 0 {
		return "", time.Time{}, fmt.Errorf("tip of %s: %v", repo, err)
	}
	return tip[0].After, tip[0].At.T(), nil
}

// GenerateAccessHistory stores n access events of system (ids
// "hist-0000000"...), spread over the year before now, each with the AC-1
// verdict a judged store holds for it: what a store that has taken a
// year of access logs holds, for measuring uploads into it.
func (s *Store) GenerateAccessHistory(ctx context.Context, system, principal string, n int, now time.Time) error {
	p := Params{"system": system, "principal": principal, "n": strconv.Itoa(n),
		"t0":   strconv.FormatInt(now.Add(-365*24*time.Hour).UnixMilli(), 10),
		"step": strconv.FormatInt(int64(365*24*time.Hour/time.Millisecond)/int64(max(n, 1)), 10)}
	if err := s.db.Exec(ctx, `INSERT INTO access_events (system, id, time, principal, action, result, role, ticket, source_ip,
    source, format, raw, received_at)
SELECT {system:String}, concat('hist-', leftPad(toString(number), 10, '0')) AS id,
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + number * {step:Int64}), 'UTC') AS at, {principal:String}, 'query', 'success',
    '', '', '10.0.0.1', 'bench', 'generic', concat('{"id":"', id, '"}'), at + toIntervalSecond(1)
FROM numbers_mt({n:UInt64}) SETTINGS max_insert_threads = 2`, p); err != nil {
		return fmt.Errorf("generate access history: %w", err)
	}
	if err := s.db.Exec(ctx, `INSERT INTO findings (rule, subject, outcome, reason, repo, occurred_at, evaluated_at, evidence, waiver)
SELECT 'AC-1', concat({system:String}, ':hist-', leftPad(toString(number), 10, '0')), 'pass',
    concat({principal:String}, ' is authorized for ', {system:String}), '',
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + number * {step:Int64}), 'UTC'), now64(6, 'UTC'),
    concat('{"principal":"', {principal:String}, '"}'), ''
FROM numbers_mt({n:UInt64}) SETTINGS max_insert_threads = 2`, p); err != nil {
		return fmt.Errorf("generate access verdicts: %w", err)
	}
	for _, t := range []string{"access_events", "findings"} {
		if err := s.db.Exec(ctx, "OPTIMIZE TABLE "+t+" FINAL", nil); err != nil {
			return fmt.Errorf("merge %s: %w", t, err)
		}
	}
	return nil
}
