package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"

	"github.com/changeproof/changeproof/rules/change"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccc"
)

func TestMigrateIsIdempotent(t *testing.T) {
	db := storetest.OpenDB(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := store.Migrate(ctx, db); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	s := store.New(db)
	n, err := s.Count(ctx, "schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := store.Migrations()
	if n != uint64(len(ms)) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestChangesIndependentOfArrivalOrder(t *testing.T) {
	ctx := context.Background()
	merged := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	pr := model.PullRequest{Repo: "acme/api", Number: 7, DeliveryID: "d-pr", Action: "closed", State: "closed",
		Merged: true, MergedAt: merged, MergeCommitSHA: shaB, HeadSHA: shaC, BaseRef: "main", DefaultBranch: "main",
		Author: "alice", MergedBy: "bob", Labels: []string{"hotfix"}}
	mergePush := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: shaA, After: shaB, DeliveryID: "d-push1",
		DefaultBranch: "main", Pusher: "bob", PushedAt: merged}
	direct := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: shaB, After: shaC, DeliveryID: "d-push2",
		DefaultBranch: "main", Pusher: "carol", PushedAt: merged.Add(time.Hour), Messages: []string{"fix it"}}
	branch := model.Push{Repo: "acme/api", Ref: "refs/heads/feature", Before: shaA, After: shaC, DeliveryID: "d-push3",
		DefaultBranch: "main", Pusher: "carol", PushedAt: merged}

	for _, order := range []string{"pushes first", "pr first"} {
		t.Run(order, func(t *testing.T) {
			s := storetest.Open(t)
			batches := []model.Batch{{Pushes: []model.Push{mergePush, direct, branch}}, {PullRequests: []model.PullRequest{pr}}}
			if order == "pr first" {
				batches[0], batches[1] = batches[1], batches[0]
			}
			for _, b := range batches {
				if err := s.Write(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			// A replay changes nothing.
			for _, b := range batches {
				if err := s.Write(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := s.RepoEvidence(ctx, "acme/api")
			if err != nil {
				t.Fatal(err)
			}
			change.Derive(ev)
			var subjects []string
			for _, c := range ev.Changes {
				subjects = append(subjects, c.Subject)
			}
			want := []string{"acme/api#7", "acme/api@" + shaC}
			if len(subjects) != 2 || subjects[0] != want[0] || subjects[1] != want[1] {
				t.Fatalf("changes = %v, want %v", subjects, want)
			}
			if got := ev.Changes[0]; !got.OccurredAt.Equal(merged) || got.Labels[0] != "hotfix" || got.MergedBy != "bob" {
				t.Fatalf("PR change = %+v", got)
			}
			if ev.MergeCommits[shaB] != 7 {
				t.Fatalf("merge commits = %v", ev.MergeCommits)
			}
			rows, err := s.Changes(ctx, store.ChangeQuery{})
			if err != nil || len(rows) != 2 {
				t.Fatalf("population = %v, %v", rows, err)
			}
			n, _ := s.Count(ctx, "pushes")
			if n != 3 {
				t.Fatalf("pushes rows = %d, want 3", n)
			}
		})
	}
}

func TestFindingsHistory(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := model.Finding{Rule: "CM-2", Subject: "acme/api#7", Outcome: model.Pending, Reason: "window open", Repo: "acme/api",
		OccurredAt: t0, EvaluatedAt: t0.Add(time.Minute), Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: "alice"}}}
	g := f
	g.Outcome, g.Reason, g.EvaluatedAt = model.Fail, "no retro review", t0.Add(time.Hour)
	g.Waiver = &model.Waiver{Rule: "CM-2", Subject: "acme/api#7", Reason: "r", ApprovedBy: "cto", Expires: t0.AddDate(1, 0, 0)}
	if err := s.AppendFindings(ctx, []model.Finding{f, g}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendFindings(ctx, []model.Finding{g}); err != nil { // retried insert
		t.Fatal(err)
	}
	cur, err := s.Findings(ctx, store.FindingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) != 1 || cur[0].Outcome != model.Fail || cur[0].Waiver == nil || cur[0].Waiver.ApprovedBy != "cto" || cur[0].Evidence.Author != "alice" {
		t.Fatalf("current = %+v", cur)
	}
	hist, err := s.Findings(ctx, store.FindingQuery{History: true})
	if err != nil || len(hist) != 2 || hist[0].Outcome != model.Pending {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	none, _ := s.Findings(ctx, store.FindingQuery{Outcome: "pending"})
	if len(none) != 0 {
		t.Fatalf("outcome filter applies to the current verdict, got %+v", none)
	}
	from, _ := s.Findings(ctx, store.FindingQuery{From: t0, To: t0.Add(time.Second)})
	if len(from) != 1 {
		t.Fatalf("time filter: %+v", from)
	}
}

func TestKnownSHA(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	d := model.Delivery{Source: "github", Event: "ping", DeliveryID: "it's-1", ReceivedAt: time.Now(), SHA256: "x", Body: []byte(`{"zen":"x"}`)}
	if err := s.Write(ctx, model.Batch{Deliveries: []model.Delivery{d}}); err != nil {
		t.Fatal(err)
	}
	known, err := s.KnownSHA(ctx, "github", []string{"it's-1", "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, other := known["other"]; known["it's-1"] != "x" || other || len(known) != 1 {
		t.Fatalf("known = %v", known)
	}
}

func TestWaiversAreKeptAsEvidence(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	w := model.Waiver{Rule: "CM-2", Subject: "acme/api#7", Reason: "pairing", ApprovedBy: "cto", Expires: t0.AddDate(0, 1, 0)}
	if err := s.RecordWaivers(ctx, []model.Waiver{w}, t0); err != nil {
		t.Fatal(err)
	}
	// A restart with the same config records nothing new; first_seen stays.
	if err := s.RecordWaivers(ctx, []model.Waiver{w}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ws, err := s.Waivers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Waiver != w || !ws[0].FirstSeen.Equal(t0) {
		t.Fatalf("waivers = %+v", ws)
	}
	n, _ := s.CountPhysical(ctx, "waivers")
	if n != 1 {
		t.Fatalf("waivers stored %d times", n)
	}
}

func TestBackfillState(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	if _, _, ok, err := s.GitHubETag(ctx, "https://api.github.com/repos/a/b"); ok || err != nil {
		t.Fatalf("empty: %v %v", ok, err)
	}
	if err := s.PutGitHubETag(ctx, "https://api.github.com/repos/a/b", `W/"1"`, []byte(`{"id":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGitHubETag(ctx, "https://api.github.com/repos/a/b", `W/"2"`, []byte(`{"id":2}`)); err != nil {
		t.Fatal(err)
	}
	etag, body, ok, err := s.GitHubETag(ctx, "https://api.github.com/repos/a/b")
	if err != nil || !ok || etag != `W/"2"` || string(body) != `{"id":2}` {
		t.Fatalf("etag = %q %q %v %v", etag, body, ok, err)
	}
	if err := s.PutBackfillCursor(ctx, "a/b", `{"done":true}`); err != nil {
		t.Fatal(err)
	}
	c, ok, err := s.BackfillCursor(ctx, "a/b")
	if err != nil || !ok || c != `{"done":true}` {
		t.Fatalf("cursor = %q %v %v", c, ok, err)
	}
}

func TestMergedNumbers(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	pr := model.PullRequest{Repo: "acme/api", Number: 7, DeliveryID: "d", Action: "closed", State: "closed", Merged: true,
		MergedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), MergeCommitSHA: shaB, BaseRef: "main", DefaultBranch: "main"}
	open := pr
	open.Number, open.Merged, open.Action, open.DeliveryID = 8, false, "opened", "d2"
	if err := s.Write(ctx, model.Batch{PullRequests: []model.PullRequest{pr, open}}); err != nil {
		t.Fatal(err)
	}
	known, err := s.MergedNumbers(ctx, "acme/api", []int{7, 8, 9})
	if err != nil || !known[7] || known[8] || known[9] || len(known) != 1 {
		t.Fatalf("known = %v, %v", known, err)
	}
}

func TestDeploysBetweenUsesEventTime(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	finished := model.Deploy{ID: "a", Source: "api", Service: "api", Environment: "production", SHA: shaA, Repo: "acme/api",
		Status: "success", StartedAt: day.Add(-time.Hour), FinishedAt: day.Add(time.Hour)}
	running := model.Deploy{ID: "b", Source: "api", Service: "api", Environment: "production", SHA: shaB, Repo: "acme/api",
		Status: "in_progress", StartedAt: day.Add(2 * time.Hour)}
	if err := s.Write(ctx, model.Batch{Deploys: []model.Deploy{finished, running}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeploysBetween(ctx, day, day.AddDate(0, 0, 1))
	if err != nil || len(got) != 2 {
		t.Fatalf("deploys of the day = %+v, %v", got, err)
	}
	// Started the day before but finished that day: judged by its finish.
	got, _ = s.DeploysBetween(ctx, day.AddDate(0, 0, -1), day)
	if len(got) != 0 {
		t.Fatalf("deploys of the day before = %+v", got)
	}
}
