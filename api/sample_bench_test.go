package api_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// BenchmarkSample1M draws a sample of 60 with evidence from a population of
// one million merged pull requests (CHANGEPROOF_BENCH_CHANGES overrides the
// size). The population is written straight into the engine first; only
// the export is timed.
//
// Each export is measured against a raw reference taken just before it on
// the same engine, so that the figure reads as a ratio on a shared,
// noisy machine: the bare engine scan of the same population (the changes
// view, sorted by subject, into FORMAT Null: no outcomes, no transfer, no
// CSV, no draw, no evidence), and SELECT count() FROM pull_requests FINAL.
func BenchmarkSample1M(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("CHANGEPROOF_BENCH_CHANGES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	st := storetest.Open(b)
	ctx := context.Background()
	start := time.Now()
	if err := generateChanges(ctx, st, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d changes with CM-1/CM-2 findings in %s", n, time.Since(start).Round(time.Millisecond))
	src := api.AuditSource{Service: &api.Service{Store: st}}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	raw := func(q string) time.Duration {
		start := time.Now()
		if err := storetest.DB(st).Exec(ctx, q, nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var export, scan time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := raw("SELECT * FROM changes ORDER BY subject FORMAT Null")
		c := raw("SELECT count() FROM pull_requests FINAL FORMAT Null")
		b.StartTimer()
		start := time.Now()
		var zip bytes.Buffer
		m, err := audit.ExportZip(ctx, src, audit.Request{Population: audit.PopulationChanges, From: from, To: to, Size: 60,
			Seed: fmt.Sprint("bench-", i), Now: time.Now}, &zip)
		if err != nil {
			b.Fatal(err)
		}
		e := time.Since(start)
		if m.PopulationSize != n || m.SampleSizeDrawn != 60 {
			b.Fatalf("population %d, drawn %d", m.PopulationSize, m.SampleSizeDrawn)
		}
		export, scan = export+e, scan+s
		b.Logf("export %.2fs (zip %.1f MB); raw scan of the population %.2fs (export = %.1fx raw scan); count() FINAL %.3fs (%.0fx)",
			e.Seconds(), float64(zip.Len())/1e6, s.Seconds(), e.Seconds()/s.Seconds(), c.Seconds(), e.Seconds()/c.Seconds())
	}
	b.ReportMetric(export.Seconds()/float64(b.N), "s/export")
	b.ReportMetric(export.Seconds()/scan.Seconds(), "x-raw-scan")
}

// generateChanges inserts n merged PRs over 20 repositories of 2026, each
// with a review and CM-1/CM-2 findings, with INSERT ... SELECT so the
// engine does the work.
func generateChanges(ctx context.Context, st *store.Store, n int) error {
	db := storetest.DB(st)
	stmts := []string{
		`INSERT INTO pull_requests (repo, number, delivery_id, action, state, merged, merged_at, merge_commit_sha, head_sha,
    head_ref, base_ref, default_branch, author, merged_by, title, body, url, labels, updated_at, received_at)
SELECT concat('acme/repo-', toString(number % 20)), intDiv(number, 20) + 1, concat('gen-', toString(number)), 'closed', 'closed', true,
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 30), lower(hex(SHA1(concat('m', toString(number))))),
    lower(hex(SHA1(concat('h', toString(number))))), concat('feature-', toString(number)), 'main', 'main',
    concat('dev', toString(number % 50)), 'lead', concat('PAY-', toString(number), ' change'), 'generated', '', [],
    now64(3), now64(3)
FROM numbers({n:UInt64})`,
		`INSERT INTO reviews (repo, pr_number, review_id, delivery_id, action, reviewer, state, commit_id, submitted_at, url, received_at)
SELECT concat('acme/repo-', toString(number % 20)), intDiv(number, 20) + 1, number + 1, concat('genr-', toString(number)), 'submitted',
    concat('dev', toString((number + 1) % 50)), 'approved', lower(hex(SHA1(concat('h', toString(number))))),
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 30 - 60), '', now64(3)
FROM numbers({n:UInt64})`,
		`INSERT INTO findings (rule, subject, outcome, reason, repo, occurred_at, evaluated_at, evidence, waiver)
SELECT arrayJoin(['CM-1', 'CM-2']) AS rule, concat('acme/repo-', toString(number % 20), '#', toString(intDiv(number, 20) + 1)),
    if(rule = 'CM-2' AND number % 7 = 0, 'fail', 'pass'), 'generated', concat('acme/repo-', toString(number % 20)),
    toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(number * 30), now64(6), '{}', ''
FROM numbers({n:UInt64})`,
	}
	for _, q := range stmts {
		if err := db.Exec(ctx, q, store.Params{"n": strconv.Itoa(n)}); err != nil {
			return err
		}
	}
	return nil
}
