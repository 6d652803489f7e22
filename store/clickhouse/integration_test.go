package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"

	"github.com/changeproof/changeproof/rules/change"
)

// Integration tests need a ClickHouse server (24.x or later):
//
//	CHANGEPROOF_TEST_CLICKHOUSE_ADDR=localhost:9000 \
//	CHANGEPROOF_TEST_CLICKHOUSE_USER=default CHANGEPROOF_TEST_CLICKHOUSE_PASSWORD= \
//	CHANGEPROOF_TEST_CLICKHOUSE_CLUSTER= go test ./store/clickhouse/
//
// With CHANGEPROOF_TEST_CLICKHOUSE_CLUSTER set they run in cluster mode
// (the servers need {shard} and {replica} macros and Keeper). Each test
// uses a new database and drops it afterwards.

// openServer opens a new, empty database on the test server, or skips.
func openServer(t *testing.T) *DB {
	t.Helper()
	addr := os.Getenv("CHANGEPROOF_TEST_CLICKHOUSE_ADDR")
	if addr == "" {
		t.Skip("no ClickHouse server: set CHANGEPROOF_TEST_CLICKHOUSE_ADDR=host:port (native protocol) to run this test")
	}
	ctx := context.Background()
	o := Options{
		Addr:        addr,
		Database:    fmt.Sprintf("changeproof_test_%d", time.Now().UnixNano()),
		User:        os.Getenv("CHANGEPROOF_TEST_CLICKHOUSE_USER"),
		Password:    os.Getenv("CHANGEPROOF_TEST_CLICKHOUSE_PASSWORD"),
		Cluster:     os.Getenv("CHANGEPROOF_TEST_CLICKHOUSE_CLUSTER"),
		DialTimeout: 10 * time.Second,
	}
	db, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("open %s: %v", addr, err)
	}
	t.Cleanup(func() {
		drop := "DROP DATABASE IF EXISTS " + quoteIdent(o.Database)
		if o.Cluster != "" {
			drop += " ON CLUSTER " + quoteIdent(o.Cluster) + " SYNC"
		}
		if err := db.Exec(context.Background(), drop, nil); err != nil {
			t.Errorf("drop test database: %v", err)
		}
		db.Close()
	})
	return db
}

func migrated(t *testing.T) (*DB, *store.Store) {
	t.Helper()
	db := openServer(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ { // migrations are idempotent
		if err := store.Migrate(ctx, store.OnCluster(db, db.Cluster(), db.Database())); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	return db, store.New(db)
}

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccc"
)

func delivery(id string, at time.Time, body string) model.Delivery {
	sum := sha256.Sum256([]byte(body))
	return model.Delivery{Source: "github", Event: "push", DeliveryID: id, ReceivedAt: at,
		SHA256: hex.EncodeToString(sum[:]), Body: []byte(body)}
}

func TestServerMigrate(t *testing.T) {
	_, s := migrated(t)
	n, err := s.Count(context.Background(), "schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := store.Migrations()
	if n != uint64(len(ms)) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

// TestServerRoundTrip writes the store's records and reads them back
// through the store's own queries.
func TestServerRoundTrip(t *testing.T) {
	_, s := migrated(t)
	ctx := context.Background()
	merged := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pr := model.PullRequest{Repo: "acme/api", Number: 7, DeliveryID: "d-pr", Action: "closed", State: "closed",
		Merged: true, MergedAt: merged, MergeCommitSHA: shaB, HeadSHA: shaC, BaseRef: "main", DefaultBranch: "main",
		Author: "alice", MergedBy: "bob", Title: "Fix 'quotes' and \\ backslashes", Labels: []string{"hotfix"}}
	open := model.PullRequest{Repo: "acme/api", Number: 8, DeliveryID: "d-pr8", Action: "opened", State: "open",
		BaseRef: "main", DefaultBranch: "main", Author: "carol"} // zero times
	review := model.Review{Repo: "acme/api", PRNumber: 7, ReviewID: 1 << 40, DeliveryID: "d-rev", Action: "submitted",
		Reviewer: "bob", State: "approved", CommitID: shaC, SubmittedAt: merged.Add(-time.Hour)}
	mergePush := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: shaA, After: shaB, DeliveryID: "d-push1",
		DefaultBranch: "main", Pusher: "bob", PushedAt: merged}
	direct := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: shaB, After: shaC, DeliveryID: "d-push2",
		DefaultBranch: "main", Pusher: "carol", PushedAt: merged.Add(time.Hour), Messages: []string{"fix it"}}
	deploy := model.Deploy{Source: "ci", ID: "dep-1", Service: "api", Environment: "production", SHA: shaB,
		Repo: "acme/api", Status: "success", StartedAt: merged.Add(time.Minute), FinishedAt: merged.Add(2 * time.Minute)}
	b := model.Batch{
		Deliveries:   []model.Delivery{delivery("d-push1", merged, `{"a":1}`), delivery("d-push2", merged.Add(time.Hour), `{"b":2}`)},
		PullRequests: []model.PullRequest{pr, open},
		Reviews:      []model.Review{review},
		Pushes:       []model.Push{mergePush, direct},
		Deploys:      []model.Deploy{deploy},
		DeadLetters:  []model.DeadLetter{{Source: "github", Event: "x", DeliveryID: "d-bad", ReceivedAt: merged, Reason: "bad", Body: []byte("?")}},
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	// A replay of the derived rows (not the raw log, which the pipeline
	// writes once) changes nothing.
	replay := b
	replay.Deliveries = nil
	if err := s.Write(ctx, replay); err != nil {
		t.Fatal(err)
	}

	ev, err := s.RepoEvidence(ctx, "acme/api")
	if err != nil {
		t.Fatal(err)
	}
	change.Derive(ev)
	if len(ev.Changes) != 2 || ev.Changes[0].Subject != "acme/api#7" || ev.Changes[1].Subject != "acme/api@"+shaC {
		t.Fatalf("changes = %+v", ev.Changes)
	}
	c := ev.Changes[0]
	if !c.OccurredAt.Equal(merged) || c.Title != pr.Title || len(c.Labels) != 1 || c.Labels[0] != "hotfix" ||
		len(c.Reviews) != 1 || c.Reviews[0].ReviewID != 1<<40 || !c.Reviews[0].SubmittedAt.Equal(review.SubmittedAt) {
		t.Fatalf("PR change = %+v", c)
	}
	if ev.MergeCommits[shaB] != 7 || len(ev.Pushes) != 2 || len(ev.Deploys) != 1 || !ev.Deploys[0].FinishedAt.Equal(deploy.FinishedAt) {
		t.Fatalf("evidence = %+v", ev)
	}
	for table, want := range map[string]uint64{"pull_requests": 2, "pushes": 2, "reviews": 1, "deploys": 1, "dead_letters": 1, "raw_deliveries": 2} {
		n, err := s.Count(ctx, table)
		if err != nil || n != want {
			t.Errorf("count %s = %d, %v; want %d", table, n, err, want)
		}
	}
	if n, err := s.CountPhysical(ctx, "raw_deliveries"); err != nil || n != 2 {
		t.Errorf("raw log holds %d rows, %v; want 2", n, err)
	}
	known, err := s.KnownSHA(ctx, "github", []string{"d-push1", "d-push2", "d-nope"})
	if _, nope := known["d-nope"]; err != nil || known["d-push1"] == "" || known["d-push2"] == "" || nope {
		t.Fatalf("known deliveries = %v, %v", known, err)
	}
	seq, head, err := s.ChainHead(ctx)
	if err != nil || seq != 2 || head == "" {
		t.Fatalf("chain head = %d %q, %v", seq, head, err)
	}
	if res, err := s.Verify(ctx, time.Time{}, time.Time{}); err != nil || !res.OK() || res.Links != 2 || res.Head != head {
		t.Fatalf("verify = %+v, %v", res, err)
	}
	dls, err := s.DeadLetters(ctx, 10)
	if err != nil || len(dls) != 1 || dls[0].Reason != "bad" || !dls[0].ReceivedAt.T().Equal(merged) {
		t.Fatalf("dead letters = %+v, %v", dls, err)
	}
	rows, err := s.Changes(ctx, store.ChangeQuery{From: merged, To: merged.Add(2 * time.Hour)})
	if err != nil || len(rows) != 2 {
		t.Fatalf("population = %+v, %v", rows, err)
	}
}

func TestServerFindingsAndAlerts(t *testing.T) {
	_, s := migrated(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := model.Finding{Rule: "CM-2", Subject: "acme/api#7", Outcome: model.Pending, Reason: "window open", Repo: "acme/api",
		OccurredAt: t0, EvaluatedAt: t0.Add(time.Minute), Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: "alice"}}}
	g := f
	g.Outcome, g.Reason, g.EvaluatedAt = model.Fail, "no retro review", t0.Add(time.Hour+time.Microsecond)
	if err := s.AppendFindings(ctx, []model.Finding{f, g}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendFindings(ctx, []model.Finding{f, g}); err != nil { // retried insert
		t.Fatal(err)
	}
	cur, err := s.Findings(ctx, store.FindingQuery{})
	if err != nil || len(cur) != 1 || cur[0].Outcome != model.Fail || !cur[0].EvaluatedAt.Equal(g.EvaluatedAt) || cur[0].Evidence.Author != "alice" {
		t.Fatalf("current findings = %+v, %v", cur, err)
	}
	hist, err := s.Findings(ctx, store.FindingQuery{History: true})
	if err != nil || len(hist) != 2 {
		t.Fatalf("history = %+v, %v", hist, err)
	}

	n, err := s.EnqueueAlerts(ctx, []outbox.Alert{{ID: "CM-2|acme/api#7|fail", Rule: "CM-2", Subject: "acme/api#7",
		Transition: "fail", Repo: "acme/api", CreatedAt: t0, Finding: g}})
	if err != nil || n != 1 {
		t.Fatalf("enqueue = %d, %v", n, err)
	}
	due, err := s.DueAlerts(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].State != outbox.Queued || !due[0].SentAt.IsZero() || due[0].Finding.Reason != g.Reason {
		t.Fatalf("due alerts = %+v, %v", due, err)
	}
	due[0].State, due[0].SentAt = outbox.Sent, t0.Add(time.Hour)
	if err := s.UpdateAlerts(ctx, due, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err := s.AlertStats(ctx)
	if err != nil || st.Sent != 1 || st.Queued != 0 || !st.LastSent.Equal(t0.Add(time.Hour)) {
		t.Fatalf("alert stats = %+v, %v", st, err)
	}

	events := []model.AccessEvent{
		{System: "prod-db", ID: "e1", Time: t0, Principal: "alice", Action: "login", Result: "success", Source: "syslog", Raw: "x"},
		{System: "prod-db", ID: "e2", Time: t0.Add(time.Second), Principal: "bob", Action: "login", Result: "failure"},
	}
	if err := s.WriteAccess(ctx, events); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccessEvents(ctx, "prod-db", "", 10)
	if err != nil || len(got) != 2 || got[0].Principal != "alice" || !got[1].Time.Equal(events[1].Time) || !got[1].ReceivedAt.IsZero() {
		t.Fatalf("access events = %+v, %v", got, err)
	}
}
