package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/store"
)

func init() {
	registerBench(benchCommand{
		name: "generate",
		usage: "--changes N --reviews N --deploys N --access N [--repos N] [--data-dir DIR] [--force]\n" +
			"                  write a generated organisation straight into the store (INSERT ... SELECT),\n" +
			"                  and DIR/changeproof.yaml, the configuration that makes it meaningful",
		run: runBenchGenerate,
	})
}

// benchSpec sizes a generated organisation.
type benchSpec struct {
	Changes, Reviews, Deploys, Access, Repos int
	// T0 is when the generated history starts; it spans a year.
	T0 time.Time
}

// The generated organisation's people: dev0..dev49, each with a GitHub
// login, an alias login (dev7-alt) and a system principal (dev7@corp).
// dev0..dev29 may access every production system (prod-k8s: dev0..dev24),
// dev30..dev48 none; dev49 may, but leaves 200 days into the history.
// Everything else (contractor-N, release-bot, dependabot[bot]) is unlisted.
const (
	benchDevs       = 50
	benchTerminated = "dev49"
)

// benchConfig is the configuration the generated data is judged under.
func benchConfig(spec benchSpec) config.Config {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.GitHub.ReconcileEvery = 0
	cfg.Scope.Repos = []string{"acme/*"}
	cfg.Scope.ProductionEnvironments = []string{"production", "prod"}
	cfg.Scope.Services = map[string]config.Service{}
	for i := 0; i < spec.Repos; i++ {
		cfg.Scope.Services[benchService(i)] = config.Service{Repos: []string{benchRepo(i)}}
	}
	cfg.Policy.RequireTicket = true
	cfg.Policy.DirectPushExempt = []string{"release-bot"}
	for i := 0; i < benchDevs; i++ {
		id := config.Identity{Name: fmt.Sprintf("dev%d", i),
			Logins: []string{fmt.Sprintf("dev%d", i), fmt.Sprintf("dev%d-alt", i), fmt.Sprintf("dev%d@corp", i)}}
		if id.Name == benchTerminated {
			id.TerminatedAt = config.Instant{Time: spec.T0.Add(200 * 24 * time.Hour)}
		}
		cfg.Identities = append(cfg.Identities, id)
	}
	auth := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, fmt.Sprintf("dev%d", i))
		}
		return append(out, benchTerminated)
	}
	cfg.Access.Systems = map[string]config.System{
		"prod-db":  {Authorized: auth(30), BreakGlassRoles: []string{"dba"}},
		"bastion":  {Authorized: auth(30), BreakGlassRoles: []string{"root"}},
		"prod-k8s": {Authorized: auth(25), BreakGlassRoles: []string{"cluster-admin"}},
		// dev-db's events are stored but produce no findings.
	}
	return cfg
}

func benchRepo(i int) string    { return fmt.Sprintf("acme/svc-%04d", i) }
func benchService(i int) string { return fmt.Sprintf("svc-%04d", i) }

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

// benchTables are emptied by generate --force.
var benchTables = []string{"raw_deliveries", "dead_letters", "pull_requests", "reviews", "pushes", "protection_events",
	"findings", "waivers", "deploys", "access_events", "alerts"}

func runBenchGenerate(args []string) error {
	fs := flag.NewFlagSet("bench generate", flag.ContinueOnError)
	var spec benchSpec
	fs.IntVar(&spec.Changes, "changes", 1_000_000, "changes: merged pull requests and direct pushes (5%)")
	fs.IntVar(&spec.Reviews, "reviews", 3_000_000, "review events")
	fs.IntVar(&spec.Deploys, "deploys", 100_000, "deploys")
	fs.IntVar(&spec.Access, "access", 10_000_000, "access events")
	fs.IntVar(&spec.Repos, "repos", 200, "repositories (one service each)")
	dataDir := fs.String("data-dir", "./bench-data", "embedded engine's storage directory (a dedicated one)")
	force := fs.Bool("force", false, "empty the store in --data-dir first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if spec.Repos < 1 || spec.Changes < spec.Repos || spec.Reviews < 0 || spec.Deploys < 0 || spec.Access < 0 {
		return errors.New("bench generate: need --repos >= 1, --changes >= --repos, and no negative count")
	}
	// A year of history ending now, so that a few emergency windows are
	// still open when it is judged.
	end := time.Now().UTC().Truncate(time.Hour)
	spec.T0 = end.Add(-365 * 24 * time.Hour)
	ctx := context.Background()
	cfg := benchConfig(spec)
	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return err
	}
	start := time.Now()
	_, st, err := openStore(ctx, cfg, *dataDir)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	if n, err := st.CountPhysical(ctx, "pull_requests"); err != nil {
		return err
	} else if n > 0 && !*force {
		return fmt.Errorf("bench generate: %s already holds data (%d pull request rows); pass --force to empty it", *dataDir, n)
	}
	if *force {
		for _, t := range benchTables {
			if err := st.DB().Exec(ctx, "TRUNCATE TABLE IF EXISTS "+t, nil); err != nil {
				return fmt.Errorf("empty %s: %w", t, err)
			}
		}
	}
	timings, err := generate(ctx, st, spec)
	if err != nil {
		return err
	}
	// Waivers on a few generated failures, so that evaluation applies them.
	if cfg.Waivers, err = benchWaivers(ctx, st, end); err != nil {
		return err
	}
	if err := writeBenchConfig(filepath.Join(*dataDir, "changeproof.yaml"), cfg); err != nil {
		return err
	}
	for _, tm := range timings {
		fmt.Printf("%-18s %11d rows  %s\n", tm.table, tm.rows, secs(tm.took))
	}
	fmt.Printf("generated in %s (store and config in %s; judge it with `changeproof bench rules --data-dir %s`)\n",
		secs(time.Since(start)), *dataDir, *dataDir)
	return nil
}

type genTiming struct {
	table string
	rows  uint64
	took  time.Duration
}

// generate fills the store with spec's organisation, then merges every
// table's parts, as a store that has run for a while has them.
func generate(ctx context.Context, st *store.Store, spec benchSpec) ([]genTiming, error) {
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	p := store.Params{
		"repos": strconv.Itoa(spec.Repos), "changes": strconv.Itoa(spec.Changes), "reviews": strconv.Itoa(spec.Reviews),
		"deploys": strconv.Itoa(spec.Deploys), "access": strconv.Itoa(spec.Access), "protections": strconv.Itoa(3 * spec.Repos),
		"t0": strconv.FormatInt(spec.T0.UnixMilli(), 10), "step": strconv.FormatInt(span/int64(spec.Changes), 10),
		"astep": strconv.FormatInt(span/int64(max(spec.Access, 1)), 10),
	}
	steps := []struct{ table, sql string }{
		{"pull_requests", genPullRequests}, {"reviews", genReviews}, {"pushes", genPushes},
		{"deploys", genDeploys}, {"protection_events", genProtections}, {"access_events", genAccess},
	}
	var out []genTiming
	for _, s := range steps {
		start := time.Now()
		if err := st.DB().Exec(ctx, s.sql+" SETTINGS max_insert_threads = 2", p); err != nil {
			return nil, fmt.Errorf("generate %s: %w", s.table, err)
		}
		if err := st.DB().Exec(ctx, "OPTIMIZE TABLE "+s.table+" FINAL", nil); err != nil {
			return nil, fmt.Errorf("merge %s: %w", s.table, err)
		}
		n, err := st.CountPhysical(ctx, s.table)
		if err != nil {
			return nil, err
		}
		out = append(out, genTiming{s.table, n, time.Since(start)})
	}
	return out, nil
}

// benchWaivers waives CM-4 on three generated pull requests without a
// ticket and AC-1 on two contractor logins, until a year from now.
func benchWaivers(ctx context.Context, st *store.Store, now time.Time) ([]config.Waiver, error) {
	var rows []struct {
		Rule    string `json:"rule"`
		Subject string `json:"subject"`
	}
	err := st.DB().Query(ctx, `SELECT 'CM-4' AS rule, subject FROM (
    SELECT concat(repo, '#', toString(number)) AS subject FROM pull_requests
    WHERE action = 'closed' AND title = 'small fix' AND NOT match(head_ref, '[A-Z][A-Z0-9]+-[0-9]+')
    ORDER BY repo, number LIMIT 3)
UNION ALL SELECT 'AC-1' AS rule, subject FROM (
    SELECT concat(system, ':', id) AS subject FROM access_events
    WHERE system = 'prod-db' AND startsWith(principal, 'contractor-') ORDER BY id LIMIT 2)`, nil, &rows)
	if err != nil {
		return nil, fmt.Errorf("choose waived subjects: %w", err)
	}
	var ws []config.Waiver
	for _, r := range rows {
		ws = append(ws, config.Waiver{Rule: r.Rule, Subject: r.Subject, Reason: "accepted for the benchmark",
			ApprovedBy: "ciso", Expires: config.Expiry{Time: now.Add(365 * 24 * time.Hour)}})
	}
	return ws, nil
}

func writeBenchConfig(path string, cfg config.Config) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode bench config: %w", err)
	}
	head := "# Written by `changeproof bench generate`: the configuration the generated data is judged under.\n"
	if err := os.WriteFile(path, append([]byte(head), b...), 0o640); err != nil {
		return err
	}
	// It must read back as it was meant.
	if _, err := config.Load(path); err != nil {
		return fmt.Errorf("bench config does not load: %w", err)
	}
	return nil
}
