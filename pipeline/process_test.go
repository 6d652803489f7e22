package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"

	"github.com/changeproof/changeproof/rules/change"
)

var (
	ledger   = fixture.Repo{FullName: "acme/ledger", DefaultBranch: "trunk"}
	billing  = fixture.Repo{FullName: "acme/billing", DefaultBranch: "main"}
	pipeTime = time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
)

// pipeDeliveries are good deliveries touching two repositories.
func pipeDeliveries() (pr, review, push, rule, ping model.Delivery) {
	p := fixture.PR{Repo: ledger, Number: 5, Author: "alice", MergedBy: "bob", HeadSHA: fixture.SHA("pipe head"),
		MergeCommitSHA: fixture.SHA("pipe merge"), Merged: true, MergedAt: pipeTime}
	pr = delivery("pull_request", "pipe-pr", fixture.PullRequest("closed", p))
	review = delivery("pull_request_review", "pipe-review", fixture.PullRequestReview("submitted",
		fixture.ReviewEvent{PR: p, ReviewID: 77, Reviewer: "bob", State: "approved", SubmittedAt: pipeTime.Add(-time.Hour)}))
	push = delivery("push", "pipe-push", fixture.Push(fixture.PushEvent{Repo: billing, Before: fixture.SHA("b0"),
		After: fixture.SHA("b1"), Pusher: "carol", PushedAt: pipeTime}))
	rule = delivery("branch_protection_rule", "pipe-rule", fixture.BranchProtectionRule(fixture.ProtectionRule{
		Repo: billing, Action: "deleted", Name: "main", Sender: "carol"}))
	ping = delivery("ping", "pipe-ping", fixture.Ping(fixture.Repo{FullName: "acme/quiet"}))
	return
}

var recv = time.Date(2026, 2, 10, 12, 30, 0, 0, time.UTC)

// delivery is a GitHub delivery whose recorded SHA-256 stands for its
// bytes: the same id and sha are the same bytes.
func delivery(event, id string, body []byte) model.Delivery {
	return model.Delivery{Source: "github", Event: event, DeliveryID: id, ReceivedAt: recv, SHA256: "sha-" + id, Body: body}
}

func process(t *testing.T, p *pipeline.Deriver, ds ...model.Delivery) pipeline.Result {
	t.Helper()
	res, err := p.Process(context.Background(), ds)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	slices.Sort(res.Repos)
	return res
}

func wantResult(t *testing.T, got, want pipeline.Result) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Result = %+v, want %+v", got, want)
	}
}

// wantCounts checks the distinct rows of each table; for the append-only
// raw log the physical rows too, since a delivery stored twice would show
// only there.
func wantCounts(t *testing.T, st *store.Store, want map[string]uint64) {
	t.Helper()
	ctx := context.Background()
	for _, table := range []string{"raw_deliveries", "pull_requests", "reviews", "pushes", "protection_events", "dead_letters"} {
		n, err := st.Count(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		if n != want[table] {
			t.Errorf("%s has %d rows, want %d", table, n, want[table])
		}
	}
	phys, err := st.CountPhysical(ctx, "raw_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	if phys != want["raw_deliveries"] {
		t.Errorf("raw_deliveries physically holds %d rows, want %d", phys, want["raw_deliveries"])
	}
}

func TestPipelineStoresEachDeliveryOnce(t *testing.T) {
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: st}
	pr, review, push, rule, ping := pipeDeliveries()

	// Repeats inside one batch: GitHub redelivers, the committer batches.
	res := process(t, p, pr, review, pr, push, ping, review, rule, pr)
	wantResult(t, res, pipeline.Result{Stored: 5, Duplicates: 3, Repos: []string{"acme/billing", "acme/ledger"}})
	// The review delivery adds its own PR snapshot.
	counts := map[string]uint64{"raw_deliveries": 5, "pull_requests": 2, "reviews": 1, "pushes": 1, "protection_events": 1}
	wantCounts(t, st, counts)

	// The same deliveries in later batches: no second effect, nothing to
	// evaluate.
	res = process(t, p, rule, ping, pr)
	wantResult(t, res, pipeline.Result{Duplicates: 3})
	res = process(t, p, push, review, pr, rule, ping)
	wantResult(t, res, pipeline.Result{Duplicates: 5})
	wantCounts(t, st, counts)

	// A new delivery among known ones is stored; its repeat is not.
	dismissed := delivery("pull_request_review", "pipe-dismiss", fixture.PullRequestReview("dismissed",
		fixture.ReviewEvent{PR: fixture.PR{Repo: ledger, Number: 5, Author: "alice", HeadSHA: fixture.SHA("pipe head")},
			ReviewID: 77, Reviewer: "bob", SubmittedAt: pipeTime.Add(-time.Hour), Sender: "alice"}))
	res = process(t, p, pr, dismissed, review, dismissed)
	wantResult(t, res, pipeline.Result{Stored: 1, Duplicates: 3, Repos: []string{"acme/ledger"}})
	counts["raw_deliveries"], counts["pull_requests"], counts["reviews"] = 6, 3, 2
	wantCounts(t, st, counts)

	// The same delivery id from another source is another delivery.
	other := pr
	other.Source = "deploy"
	res = process(t, p, other)
	if res.Stored != 1 || res.Duplicates != 0 {
		t.Errorf("same id from another source: Result = %+v", res)
	}

	// A ping stores the delivery but touches no repository's evidence.
	res = process(t, p, delivery("ping", "pipe-ping-2", fixture.Ping(ledger)))
	wantResult(t, res, pipeline.Result{Stored: 1})
}

func TestPipelineDeadLetters(t *testing.T) {
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: st}
	pr, review, push, _, _ := pipeDeliveries()
	var m map[string]any
	if err := json.Unmarshal(push.Body, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "after")
	noAfterBody, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	noAfter := delivery("push", "pipe-bad-push", noAfterBody)
	notJSON := delivery("pull_request", "pipe-bad-json", []byte(`{"action": "closed",`))

	res := process(t, p, pr, noAfter, push, notJSON, review)
	wantResult(t, res, pipeline.Result{Stored: 5, Dead: 2, Repos: []string{"acme/billing", "acme/ledger"}})
	// Dead letters are accepted deliveries too: in the raw log, not in the
	// derived tables.
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 5, "pull_requests": 2, "reviews": 1, "pushes": 1, "dead_letters": 2})

	ctx := context.Background()
	each, err := st.PushesToEach(ctx, []string{"acme/billing"}, []string{fixture.SHA("b1")})
	if err != nil {
		t.Fatal(err)
	}
	pushes := each[[2]string{"acme/billing", fixture.SHA("b1")}]
	if len(pushes) != 1 || pushes[0].DeliveryID != "pipe-push" {
		t.Errorf("good push of the batch = %+v", pushes)
	}
	ev, err := st.RepoEvidence(ctx, "acme/ledger")
	if err != nil {
		t.Fatal(err)
	}
	change.Derive(ev)
	if len(ev.Changes) != 1 || ev.Changes[0].Subject != "acme/ledger#5" || len(ev.Changes[0].Reviews) != 1 {
		t.Errorf("good PR and review of the batch = %+v", ev.Changes)
	}

	dead, err := st.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(dead, func(a, b store.DeadLetter) int {
		if a.DeliveryID < b.DeliveryID {
			return -1
		}
		return 1
	})
	want := []store.DeadLetter{
		{Source: "github", Event: "pull_request", DeliveryID: "pipe-bad-json", ReceivedAt: store.Time(recv),
			Reason: "pull_request delivery pipe-bad-json: malformed payload: unexpected end of JSON input",
			Body:   `{"action": "closed",`},
		{Source: "github", Event: "push", DeliveryID: "pipe-bad-push", ReceivedAt: store.Time(recv),
			Reason: "push delivery pipe-bad-push: malformed payload: push without ref or after",
			Body:   string(noAfter.Body)},
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters = %+v, want %+v", dead, want)
	}
	for i := range want {
		g, w := dead[i], want[i]
		if g.Source != w.Source || g.Event != w.Event || g.DeliveryID != w.DeliveryID || g.Reason != w.Reason ||
			g.Body != w.Body || !g.ReceivedAt.T().Equal(w.ReceivedAt.T()) {
			t.Errorf("dead letter %d = %+v\nwant %+v", i, g, w)
		}
	}

	// A redelivered dead letter is a duplicate, not a second dead letter.
	res = process(t, p, noAfter, notJSON)
	wantResult(t, res, pipeline.Result{Duplicates: 2})
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 5, "pull_requests": 2, "reviews": 1, "pushes": 1, "dead_letters": 2})

	// A source the pipeline cannot enrich is kept as a dead letter too.
	res = process(t, p, model.Delivery{Source: "carrier-pigeon", Event: "coo", DeliveryID: "pipe-odd", ReceivedAt: recv, Body: []byte(`{}`)})
	wantResult(t, res, pipeline.Result{Stored: 1, Dead: 1})
	dead, err = st.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	for _, d := range dead {
		if d.DeliveryID == "pipe-odd" {
			reason = d.Reason
		}
	}
	if want := `malformed payload: unknown source "carrier-pigeon"`; reason != want {
		t.Errorf("unknown source dead letter reason = %q, want %q", reason, want)
	}
}

// fakeWriter is a Writer that records what it is asked and can fail.
type fakeWriter struct {
	known     map[string]string // as KnownSHA reports it, per source-less id
	knownErr  error
	writeErr  error
	knownArgs [][]string
	writes    []model.Batch
}

func (f *fakeWriter) KnownSHA(_ context.Context, source string, ids []string) (map[string]string, error) {
	f.knownArgs = append(f.knownArgs, append([]string{source}, ids...))
	if f.knownErr != nil {
		return nil, f.knownErr
	}
	out := map[string]string{}
	for _, id := range ids {
		if v, ok := f.known[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

func (f *fakeWriter) Write(_ context.Context, b model.Batch) error {
	f.writes = append(f.writes, b)
	return f.writeErr
}

func TestPipelineWriteFailure(t *testing.T) {
	pr, review, push, _, _ := pipeDeliveries()
	diskFull := errors.New("disk full")
	w := &fakeWriter{known: map[string]string{"pipe-push": "sha-pipe-push"}, writeErr: diskFull}
	p := &pipeline.Deriver{Store: w}
	bad := delivery("push", "pipe-bad", []byte(`[]`))
	res, err := p.Process(context.Background(), []model.Delivery{pr, push, review, bad, pr})
	if !errors.Is(err, diskFull) {
		t.Fatalf("Process error = %v, want one wrapping %v", err, diskFull)
	}
	if want := "store 3 events: disk full"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// Nothing may be acknowledged: the result reports nothing stored.
	wantResult(t, res, pipeline.Result{})
	if len(w.writes) != 1 {
		t.Fatalf("Write called %d times, want 1", len(w.writes))
	}
	b := w.writes[0]
	var ids []string
	for _, d := range b.Deliveries {
		ids = append(ids, d.DeliveryID)
	}
	if want := []string{"pipe-pr", "pipe-review", "pipe-bad"}; !slices.Equal(ids, want) {
		t.Errorf("batch deliveries = %v, want %v", ids, want)
	}
	if len(b.PullRequests) != 2 || len(b.Reviews) != 1 || len(b.Pushes) != 0 || len(b.DeadLetters) != 1 {
		t.Errorf("batch = %d PRs, %d reviews, %d pushes, %d dead letters; want 2, 1, 0, 1",
			len(b.PullRequests), len(b.Reviews), len(b.Pushes), len(b.DeadLetters))
	}
	if want := [][]string{{"github", "pipe-pr", "pipe-push", "pipe-review", "pipe-bad", "pipe-pr"}}; !reflect.DeepEqual(w.knownArgs, want) {
		t.Errorf("KnownSHA asked %v, want %v", w.knownArgs, want)
	}
}

func TestPipelineKnownSHAFailure(t *testing.T) {
	pr, _, _, _, _ := pipeDeliveries()
	down := errors.New("engine down")
	w := &fakeWriter{knownErr: down}
	p := &pipeline.Deriver{Store: w}
	res, err := p.Process(context.Background(), []model.Delivery{pr})
	if !errors.Is(err, down) {
		t.Fatalf("Process error = %v, want %v", err, down)
	}
	wantResult(t, res, pipeline.Result{})
	if len(w.writes) != 0 {
		t.Errorf("Write called %d times after the lookup failed", len(w.writes))
	}
}

func TestPipelineNothingNewWritesNothing(t *testing.T) {
	pr, review, _, _, _ := pipeDeliveries()
	w := &fakeWriter{known: map[string]string{"pipe-pr": "sha-pipe-pr", "pipe-review": "sha-pipe-review"}}
	p := &pipeline.Deriver{Store: w}
	res := process(t, p, pr, review, pr)
	wantResult(t, res, pipeline.Result{Duplicates: 3})
	res = process(t, p)
	wantResult(t, res, pipeline.Result{})
	if len(w.writes) != 0 {
		t.Errorf("Write called %d times with nothing new", len(w.writes))
	}
}

// A failed Write is retried by the sender; the retry must store every
// delivery exactly once.
func TestPipelineRetryAfterWriteFailure(t *testing.T) {
	st := storetest.Open(t)
	failing := &failOnce{Store: st, err: errors.New("timeout")}
	p := &pipeline.Deriver{Store: failing}
	pr, review, push, rule, _ := pipeDeliveries()
	batch := []model.Delivery{pr, review, push, rule}
	if _, err := p.Process(context.Background(), batch); err == nil {
		t.Fatal("first Process did not fail")
	}
	res := process(t, p, batch...)
	wantResult(t, res, pipeline.Result{Stored: 4, Repos: []string{"acme/billing", "acme/ledger"}})
	res = process(t, p, batch...)
	wantResult(t, res, pipeline.Result{Duplicates: 4})
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 4, "pull_requests": 2, "reviews": 1, "pushes": 1, "protection_events": 1})
}

type failOnce struct {
	*store.Store
	err    error
	failed bool
}

func (f *failOnce) Write(ctx context.Context, b model.Batch) error {
	if !f.failed {
		f.failed = true
		return f.err
	}
	return f.Store.Write(ctx, b)
}

// crashAfterDerived stores a batch's derived rows but fails before its raw
// deliveries, like a crash between the two inserts of store.Write.
type crashAfterDerived struct {
	*store.Store
	crashed bool
}

func (c *crashAfterDerived) Write(ctx context.Context, b model.Batch) error {
	if c.crashed {
		return c.Store.Write(ctx, b)
	}
	c.crashed = true
	derived := b
	derived.Deliveries = nil
	if err := c.Store.Write(ctx, derived); err != nil {
		return err
	}
	return errors.New("crash")
}

// The sender retries a batch whose raw deliveries were never written: the
// replayed derived rows must replace themselves, not double.
func TestPipelineRetryAfterCrashBetweenInserts(t *testing.T) {
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: &crashAfterDerived{Store: st}}
	pr, review, push, rule, _ := pipeDeliveries()
	bad := delivery("push", "pipe-bad", []byte(`{}`))
	batch := []model.Delivery{pr, review, push, rule, bad}
	if _, err := p.Process(context.Background(), batch); err == nil {
		t.Fatal("first Process did not fail")
	}
	wantCounts(t, st, map[string]uint64{"pull_requests": 2, "reviews": 1, "pushes": 1, "protection_events": 1, "dead_letters": 1})
	res := process(t, p, batch...)
	wantResult(t, res, pipeline.Result{Stored: 5, Dead: 1, Repos: []string{"acme/billing", "acme/ledger"}})
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 5, "pull_requests": 2, "reviews": 1, "pushes": 1, "protection_events": 1, "dead_letters": 1})
	ctx := context.Background()
	ev, err := st.RepoEvidence(ctx, "acme/ledger")
	if err != nil {
		t.Fatal(err)
	}
	change.Derive(ev)
	if len(ev.Changes) != 1 || len(ev.Changes[0].Reviews) != 1 {
		t.Fatalf("changes after replay = %+v", ev.Changes)
	}
}

// Branch creation and deletion, tag pushes and pushes to other branches are
// stored as evidence but are not changes (docs/controls.md, "Change").
func TestPipelineNonChangePushes(t *testing.T) {
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: st}
	x, y := fixture.SHA("nc x"), fixture.SHA("nc y")
	commit := []fixture.Commit{{SHA: y, Message: "LED-3 work", Author: "dave", Timestamp: pipeTime}}
	pushes := []fixture.PushEvent{
		{Repo: ledger, Ref: "refs/heads/trunk", Before: fixture.ZeroSHA, After: x, Pusher: "dave", Created: true, PushedAt: pipeTime},
		{Repo: ledger, Ref: "refs/heads/trunk", Before: x, After: fixture.ZeroSHA, Pusher: "dave", Deleted: true, PushedAt: pipeTime},
		{Repo: ledger, Ref: "refs/tags/v1", Before: fixture.ZeroSHA, After: y, Pusher: "dave", Created: true, PushedAt: pipeTime},
		{Repo: ledger, Ref: "refs/heads/feature", Before: x, After: y, Pusher: "dave", PushedAt: pipeTime, Commits: commit},
		{Repo: ledger, Ref: "refs/heads/main", Before: x, After: y, Pusher: "dave", PushedAt: pipeTime, Commits: commit},
	}
	var ds []model.Delivery
	for i, e := range pushes {
		ds = append(ds, delivery("push", fmt.Sprint("nc-", i), fixture.Push(e)))
	}
	res := process(t, p, ds...)
	wantResult(t, res, pipeline.Result{Stored: 5, Repos: []string{"acme/ledger"}})
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 5, "pushes": 5})
	rows, err := st.Changes(context.Background(), store.ChangeQuery{Repo: "acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Errorf("changes = %+v, want none", rows)
	}

	// The same push to the default branch is a direct push.
	direct := pushes[3]
	direct.Ref = "refs/heads/trunk"
	process(t, p, delivery("push", "nc-direct", fixture.Push(direct)))
	rows, err = st.Changes(context.Background(), store.ChangeQuery{Repo: "acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Subject != "acme/ledger@"+y || rows[0].Kind != "direct_push" || rows[0].Actor != "dave" ||
		rows[0].Title != "LED-3 work" || !rows[0].OccurredAt.T().Equal(pipeTime) {
		t.Errorf("changes = %+v, want the direct push of %s", rows, y)
	}
}
