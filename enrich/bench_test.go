package enrich_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/jsonscan"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/chdb"
	"github.com/changeproof/changeproof/store/storetest"
)

// BenchmarkGitHubDeliveries measures GitHub deliveries (push,
// pull_request, pull_request_review of 5-30 KB, built from the recorded
// octokit payloads) parsed and stored through pipeline.Deriver and
// store.Write, in batches of 500 as the Kafka consumer hands them over, and
// in the same run the limits it is held against:
//
//   - raw-insert: the very INSERT statements the pipeline sends, rendered
//     beforehand and only run by the engine (its cost for these rows);
//   - raw-log: the raw log's inserts alone (storing the bodies at all);
//   - json-scan: encoding/json's fastest pass over the same bodies
//     (json.Valid), a floor for any stdlib decode of them, and jsonscan's
//     (the scanner ParseGitHub reads them with).
//
// Rates per core are deliveries per CPU-second of the whole process
// (getrusage: Go and the engine's threads), counted until the merges the
// phase's inserts caused have finished.
// CHANGEPROOF_BENCH_BATCH overrides the batch size.
// Run: go test -run '^$' -bench GitHubDeliveries -benchtime 1x ./enrich
func BenchmarkGitHubDeliveries(b *testing.B) {
	const n = 6000
	batch := 500 // transport.DefaultBatchSize
	if v, err := strconv.Atoi(os.Getenv("CHANGEPROOF_BENCH_BATCH")); err == nil && v > 0 {
		batch = v
	}
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		ds := benchDeliveries(i, n)
		var bytes int
		for _, d := range ds {
			bytes += len(d.Body)
		}

		// json-scan: encoding/json over the same bodies.
		start, cpu0 := time.Now(), cpuTime()
		for _, d := range ds {
			if !json.Valid(d.Body) {
				b.Fatal("invalid body")
			}
		}
		scan, scanCPU := time.Since(start), cpuTime()-cpu0
		start, cpu0 = time.Now(), cpuTime()
		for _, d := range ds {
			if !jsonscan.Valid(d.Body) {
				b.Fatal("invalid body")
			}
		}
		fastScan := time.Since(start)

		// raw-insert: render the pipeline's statements (not timed), then
		// run them as Write would (derived tables concurrently, raw log last).
		rawDB := storetest.OpenDB(b)
		if err := store.Migrate(ctx, rawDB); err != nil {
			b.Fatal(err)
		}
		rec := &recorder{db: rawDB}
		recPipe := &pipeline.Deriver{Store: store.New(rec)}
		var stmts [][]statement
		for j := 0; j < n; j += batch {
			rec.stmts = nil
			if _, err := recPipe.Process(ctx, ds[j:min(j+batch, n)]); err != nil {
				b.Fatal(err)
			}
			stmts = append(stmts, rec.stmts)
		}
		waitMerges(b, rawDB)
		start, cpu0 = time.Now(), cpuTime()
		for _, batch := range stmts {
			if err := replay(ctx, rawDB, batch); err != nil {
				b.Fatal(err)
			}
		}
		insert := time.Since(start)
		waitMerges(b, rawDB)
		insertCPU := cpuTime() - cpu0

		// raw-log: only the raw log's inserts (the bodies), into a fresh
		// database: the floor of storing what arrived at all.
		logDB := storetest.OpenDB(b)
		if err := store.Migrate(ctx, logDB); err != nil {
			b.Fatal(err)
		}
		waitMerges(b, logDB)
		start, cpu0 = time.Now(), cpuTime()
		for _, batch := range stmts {
			for _, s := range batch {
				if s.Table() == "raw_deliveries" {
					if err := logDB.ExecInsert(ctx, s); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		logInsert := time.Since(start)
		waitMerges(b, logDB)
		logCPU := cpuTime() - cpu0

		// The pipeline, into its own database.
		st := storetest.Open(b)
		pipe := &pipeline.Deriver{Store: st}
		waitMerges(b, rawDB)
		start, cpu0 = time.Now(), cpuTime()
		for j := 0; j < n; j += batch {
			res, err := pipe.Process(ctx, ds[j:min(j+batch, n)])
			if err != nil {
				b.Fatal(err)
			}
			if res.Stored != min(batch, n-j) || res.Dead != 0 {
				b.Fatalf("batch at %d: %+v", j, res)
			}
		}
		pipeline := time.Since(start)
		waitMerges(b, rawDB)
		pipelineCPU := cpuTime() - cpu0
		if got, err := st.Count(ctx, "raw_deliveries"); err != nil || got != uint64(n) {
			b.Fatalf("raw_deliveries holds %d, want %d (%v)", got, n, err)
		}

		rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
		b.ReportMetric(rate(pipeline), "pipeline/s")
		b.ReportMetric(rate(pipelineCPU), "pipeline/cpu-s")
		b.ReportMetric(rate(insert), "raw-insert/s")
		b.ReportMetric(rate(insertCPU), "raw-insert/cpu-s")
		b.ReportMetric(rate(logCPU), "raw-log/cpu-s")
		b.ReportMetric(rate(scan), "json-scan/s")
		b.ReportMetric(rate(fastScan), "jsonscan/s")
		b.ReportMetric(rate(pipeline)/rate(insert), "ratio-to-insert")
		b.ReportMetric(rate(pipelineCPU)/rate(insertCPU), "cpu-ratio-to-insert")
		b.Logf("%d deliveries, %.1f KB average, batches of %d, GOMAXPROCS %d", n, float64(bytes)/float64(n)/1024, batch, runtime.GOMAXPROCS(0))
		b.Logf("pipeline   %8.0f/s  %8.0f/cpu-s  (%.0f MB/s)", rate(pipeline), rate(pipelineCPU), float64(bytes)/pipeline.Seconds()/1e6)
		b.Logf("raw insert %8.0f/s  %8.0f/cpu-s  pipeline/raw %.2f (cpu %.2f)", rate(insert), rate(insertCPU),
			rate(pipeline)/rate(insert), rate(pipelineCPU)/rate(insertCPU))
		b.Logf("raw log    %8.0f/s  %8.0f/cpu-s  (raw_deliveries inserts alone)", rate(logInsert), rate(logCPU))
		b.Logf("json scan  %8.0f/s  %8.0f/cpu-s  (%.0f MB/s, encoding/json.Valid)", rate(scan), rate(scanCPU), float64(bytes)/scan.Seconds()/1e6)
		b.Logf("jsonscan   %8.0f/s  (%.0f MB/s, internal/jsonscan.Valid)", rate(fastScan), float64(bytes)/fastScan.Seconds()/1e6)
	}
}

// benchDeliveries are n deliveries, a third each of default-branch pushes
// (5-29 commits), merged pull_request closed events, and approving
// reviews; every id and pull request distinct.
func benchDeliveries(run, n int) []model.Delivery {
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]model.Delivery, n)
	for i := range out {
		var event string
		var body []byte
		pr := fixture.PR{Repo: repo, Number: 1 + i/3, Author: "alice", MergedBy: "bob", Title: fmt.Sprintf("PAY-%d change", i),
			Body: "Fixes the rounding of refunds.\n\nTicket: PAY-1", HeadRef: fmt.Sprintf("feature-%d", i),
			HeadSHA: fixture.SHA(fmt.Sprint(run, "head", i/3)), MergeCommitSHA: fixture.SHA(fmt.Sprint(run, "merge", i/3)),
			Labels: []string{"backend"}, Merged: true, MergedAt: at, ClosedAt: at}
		switch i % 3 {
		case 0:
			event = "push"
			var commits []fixture.Commit
			for c := 0; c < 5+i%25; c++ {
				commits = append(commits, fixture.Commit{SHA: fixture.SHA(fmt.Sprint(run, i, c)),
					Message: "PAY-1 a change with a message", Author: "bob", Timestamp: at})
			}
			body = fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA(fmt.Sprint(run, i)),
				After: fixture.SHA(fmt.Sprint(run, i, "after")), Pusher: "bob", PushedAt: at, Commits: commits})
		case 1:
			event = "pull_request"
			body = fixture.PullRequest("closed", pr)
		default:
			event = "pull_request_review"
			body = fixture.PullRequestReview("submitted", fixture.ReviewEvent{PR: pr, Reviewer: "carol", State: "approved",
				SubmittedAt: at.Add(-time.Hour)})
		}
		sum := sha256.Sum256(body)
		out[i] = model.Delivery{Source: "github", Event: event, DeliveryID: fmt.Sprintf("bench-%d-%d", run, i),
			ReceivedAt: at.Add(time.Duration(i) * time.Millisecond), SHA256: hex.EncodeToString(sum[:]), Body: body}
	}
	return out
}

type statement = *chdb.EncodedInsert

// recorder is a store.DB that renders inserts with the embedded engine's
// encoder and keeps them instead of running them; queries find nothing.
type recorder struct {
	db    *chdb.DB
	mu    sync.Mutex
	stmts []statement
}

func (r *recorder) Exec(context.Context, string, store.Params) error { return nil }
func (r *recorder) Query(context.Context, string, store.Params, any) error {
	return nil
}
func (r *recorder) Close() error { return nil }
func (r *recorder) Insert(ctx context.Context, table string, rows any) error {
	ins, err := r.db.EncodeInsert(ctx, table, rows)
	if err != nil || ins == nil {
		return err
	}
	r.mu.Lock()
	r.stmts = append(r.stmts, ins)
	r.mu.Unlock()
	return nil
}

// replay runs one batch's statements the way store.Write orders them.
func replay(ctx context.Context, db *chdb.DB, stmts []statement) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(stmts))
	var raw []statement
	for _, s := range stmts {
		if s.Table() == "raw_deliveries" {
			raw = append(raw, s)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.ExecInsert(ctx, s)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	for _, s := range raw {
		if err := db.ExecInsert(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// waitMerges waits (up to 30 s) until the engine has run no merge for
// 250 ms, so that each phase is charged the merges its own inserts caused,
// and none of another's.
func waitMerges(b testing.TB, db *chdb.DB) {
	deadline := time.Now().Add(30 * time.Second)
	quiet := 0
	for quiet < 5 && time.Now().Before(deadline) {
		var rows []struct {
			N uint64 `json:"n"`
		}
		if err := db.Query(context.Background(), "SELECT count() AS n FROM system.merges", nil, &rows); err != nil {
			b.Fatal(err)
		}
		if len(rows) == 1 && rows[0].N == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuTime is the CPU time the process has used (user + system, every thread).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
