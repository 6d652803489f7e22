package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// yearZeroPush is the delivery that once stopped ingestion for good: a
// signed push whose repository.pushed_at is -62167219200 (year 0), a time
// the store cannot hold.
func yearZeroPush(id string) model.Delivery {
	return delivery("push", id, fixture.Push(fixture.PushEvent{Repo: billing, Before: fixture.SHA("z0"),
		After: fixture.SHA("z1"), Pusher: "mallory", PushedAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}))
}

func TestPoisonDeliveryIsDeadLetteredAndTheRestStored(t *testing.T) {
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: st}
	pr, review, push, rule, _ := pipeDeliveries()
	res := process(t, p, pr, yearZeroPush("poison"), review, push, rule)
	wantResult(t, res, pipeline.Result{Stored: 5, Dead: 1, Repos: []string{"acme/billing", "acme/ledger"}})
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 5, "pull_requests": 2, "reviews": 1, "pushes": 1,
		"protection_events": 1, "dead_letters": 1})
	dead, err := st.DeadLetters(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := "malformed payload: push poison: pushed_at: 0000-01-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)"
	if len(dead) != 1 || dead[0].DeliveryID != "poison" || dead[0].Reason != want {
		t.Fatalf("dead letters = %+v, want poison with reason %q", dead, want)
	}
	// Redelivered, it is a duplicate: nothing waits behind it.
	res = process(t, p, yearZeroPush("poison"))
	wantResult(t, res, pipeline.Result{Duplicates: 1})
}

// refusing is a store that refuses any write holding the delivery "bad"
// while it answers otherwise, like an engine refusing one row's value.
type refusing struct {
	*store.Store
	down    bool
	refuses int // how many writes holding "bad" are refused; 0 = all
	refused int
}

func (r *refusing) Write(ctx context.Context, b model.Batch) error {
	for _, d := range b.Deliveries {
		if d.DeliveryID == "bad" && len(b.DeadLetters) == 0 && (r.refuses == 0 || r.refused < r.refuses) {
			r.refused++
			return errors.New("Code: 69. DB::Exception: value out of bounds")
		}
	}
	return r.Store.Write(ctx, b)
}

func (r *refusing) Ping(ctx context.Context) error {
	if r.down {
		return errors.New("connection refused")
	}
	return nil
}

func TestRefusedRecordIsFoundAndDeadLettered(t *testing.T) {
	st := storetest.Open(t)
	w := &refusing{Store: st}
	p := &pipeline.Deriver{Store: w}
	pr, review, push, rule, ping := pipeDeliveries()
	bad := delivery("ping", "bad", fixture.Ping(ledger))
	res := process(t, p, pr, review, bad, push, rule, ping)
	wantResult(t, res, pipeline.Result{Stored: 6, Dead: 1, Repos: []string{"acme/billing", "acme/ledger"}})
	wantCounts(t, st, map[string]uint64{"raw_deliveries": 6, "pull_requests": 2, "reviews": 1, "pushes": 1,
		"protection_events": 1, "dead_letters": 1})
	dead, err := st.DeadLetters(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := "store refused the derived rows: store 1 events: Code: 69. DB::Exception: value out of bounds"; len(dead) != 1 || dead[0].Reason != want {
		t.Fatalf("dead letters = %+v, want bad with %q", dead, want)
	}

	// An unavailable store is not the event's fault: nothing is
	// dead-lettered, the batch fails and is retried as a whole.
	w.down = true
	again := delivery("ping", "bad", fixture.Ping(billing))
	again.DeliveryID = "bad"
	st2 := storetest.Open(t)
	w2 := &refusing{Store: st2, down: true}
	if _, err := (&pipeline.Deriver{Store: w2}).Process(context.Background(), []model.Delivery{pr, again}); err == nil ||
		!strings.Contains(err.Error(), "store unavailable: connection refused") {
		t.Fatalf("Process with the store down = %v, want the store's unavailability", err)
	}
	if n, _ := st2.Count(context.Background(), "dead_letters"); n != 0 {
		t.Errorf("%d dead letters while the store was down", n)
	}
}

// A refusal that passes (the engine's, not the record's) is retried, and
// the record stored, not dead-lettered.
func TestPassingRefusalIsNotADeadLetter(t *testing.T) {
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: &refusing{Store: st, refuses: 3}}
	pr, review, _, _, _ := pipeDeliveries()
	bad := delivery("ping", "bad", fixture.Ping(ledger))
	res := process(t, p, pr, bad, review)
	wantResult(t, res, pipeline.Result{Stored: 3, Repos: []string{"acme/ledger"}})
	if n, _ := st.Count(context.Background(), "dead_letters"); n != 0 {
		t.Errorf("%d dead letters for a refusal that passed", n)
	}
}

func accessRecord(t *testing.T, id, principal, raw string) model.Delivery {
	t.Helper()
	r, err := model.AccessRecord(model.AccessEvent{ID: id, System: "prod-db", Time: pipeTime, Principal: principal,
		Action: "login", Result: "success", Format: "generic", Raw: raw}, recv)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func deployRecord(t *testing.T, id, status, raw string) model.Delivery {
	t.Helper()
	r, err := model.DeployRecord(model.Deploy{ID: id, Source: "api", Service: "ledger", Environment: "production",
		SHA: fixture.SHA("dep"), Repo: "acme/ledger", Status: status, Actor: "ci", StartedAt: pipeTime, FinishedAt: pipeTime.Add(time.Minute),
		Raw: raw}, recv)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestConflictsKeepTheFirst: the same id with other bytes never rewrites
// the evidence, within a batch or across batches; the attempt is kept.
func TestConflictsKeepTheFirst(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: st}
	first := accessRecord(t, "db-7781", "mallory", `{"id":"db-7781","principal":"mallory"}`)
	rewrite := accessRecord(t, "db-7781", "alice", `{"id":"db-7781","principal":"alice"}`)
	dep := deployRecord(t, "deploy-1", "failure", `{"id":"deploy-1","status":"failure"}`)
	depRewrite := deployRecord(t, "deploy-1", "success", `{"id":"deploy-1","status":"success"}`)

	res, err := p.Process(ctx, []model.Delivery{first, dep, first, rewrite})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 2 || res.Duplicates != 1 || res.Conflicts != 1 || len(res.Access) != 1 {
		t.Fatalf("result = %+v", res)
	}
	res, err = p.Process(ctx, []model.Delivery{depRewrite, rewrite, dep})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 0 || res.Duplicates != 1 || res.Conflicts != 2 || len(res.Access) != 0 {
		t.Fatalf("result of the re-sends = %+v", res)
	}
	e, ok, err := st.AccessEvent(ctx, "prod-db", "db-7781")
	if err != nil || !ok || e.Principal != "mallory" || e.Raw != string(first.Body) {
		t.Fatalf("access event = %+v %v %v; the first must stay the evidence", e, ok, err)
	}
	deps, err := st.DeploysOf(ctx, "acme/ledger")
	if err != nil || len(deps) != 1 || deps[0].Status != "failure" {
		t.Fatalf("deploys = %+v %v; the first must stay the evidence", deps, err)
	}
	cs, err := st.Conflicts(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s %s kept %s refused %s", c.Source, c.ID, c.KeptSHA256[:8], c.SHA256[:8]))
	}
	want := []string{
		fmt.Sprintf("access prod-db:db-7781 kept %s refused %s", first.SHA256[:8], rewrite.SHA256[:8]),
		fmt.Sprintf("deploy deploy-1 kept %s refused %s", dep.SHA256[:8], depRewrite.SHA256[:8]),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("conflicts =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same conflicting bytes again are one kept attempt, not two.
	if _, err := p.Process(ctx, []model.Delivery{rewrite}); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(ctx, "conflicts"); n != 2 {
		t.Errorf("%d conflicts after a repeated attempt, want 2", n)
	}
}

// TestRawBytesExact: bytes that are not UTF-8 are stored as received
// (small inserts included), so the chain verifies.
func TestRawBytesExact(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	p := &pipeline.Deriver{Store: st}
	body := []byte("{\"zen\":\"caf\xe9 \xff\xfe\"}")
	d := delivery("ping", "latin1", body)
	d.SHA256 = sha(body)
	raw := accessRecord(t, "bin-1", "bob", "Mar  2 10:15:03 host sshd[1]: Accepted password for b\xf6b from 10.0.0.5 port 2 ssh2")
	if _, err := p.Process(ctx, []model.Delivery{d, raw}); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Hex string `json:"h"`
	}
	if err := storetest.DB(st).Query(ctx, "SELECT hex(body) AS h FROM raw_deliveries ORDER BY seq", nil, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Hex != fmt.Sprintf("%X", body) || rows[1].Hex != fmt.Sprintf("%X", raw.Body) {
		t.Fatalf("stored bodies = %+v", rows)
	}
	res, err := st.Verify(ctx, time.Time{}, time.Time{})
	if err != nil || !res.OK() || res.Links != 2 || res.BySource["access"] != 1 || res.BySource["github"] != 1 {
		t.Fatalf("verify = %+v, %v", res, err)
	}
}

// fakeLog is an ordered log in memory.
type fakeLog struct {
	mu   sync.Mutex
	recs []model.Delivery
	err  error
}

func (f *fakeLog) Enqueue(_ context.Context, ds []model.Delivery) (func(context.Context) error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.recs = append(f.recs, ds...)
	return func(context.Context) error { return nil }, nil
}

func refusedIDs(refused []error) []string {
	var out []string
	for i, e := range refused {
		var ce *model.ConflictError
		if errors.As(e, &ce) {
			out = append(out, fmt.Sprintf("%d:%s", i, ce.ID))
		}
	}
	return out
}

// TestIntakeAnswersWhatTheDeriverStores: the receivers' answers agree with
// what the pipeline keeps, for records on their way and in the store.
func TestIntakeAnswersWhatTheDeriverStores(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	log := &fakeLog{}
	in := &pipeline.Intake{Log: log, Known: st.KnownSHA, Track: true}
	loader := &pipeline.Loader{Deriver: &pipeline.Deriver{Store: st}, Intake: in}
	a1 := accessRecord(t, "e1", "alice", "line a1")
	a1x := accessRecord(t, "e1", "mallory", "line a1x")
	a2 := accessRecord(t, "e2", "bob", "line a2")

	// Within one append, and against a record still on its way.
	refused, err := in.Append(ctx, []model.Delivery{a1, a1, a1x})
	if err != nil {
		t.Fatal(err)
	}
	if got := refusedIDs(refused); strings.Join(got, ",") != "2:prod-db:e1" {
		t.Fatalf("refused = %v", got)
	}
	if refused[2].Error() != "id prod-db:e1 already holds a different event (sha256 "+a1.SHA256[:8]+"…); the first is kept" {
		t.Errorf("reason = %q", refused[2])
	}
	if refused, _ = in.Append(ctx, []model.Delivery{a2, a1x}); strings.Join(refusedIDs(refused), ",") != "1:prod-db:e1" {
		t.Fatalf("refused while on its way = %v", refusedIDs(refused))
	}
	if n := in.Pending(); n != 2 {
		t.Errorf("%d ids on their way, want 2", n)
	}
	// Every record went into the log, conflicts too; loading them keeps
	// the first and the attempts, as the answers said.
	if err := loader.Load(ctx, log.recs); err != nil {
		t.Fatal(err)
	}
	if n := in.Pending(); n != 0 {
		t.Errorf("%d ids on their way after loading, want 0", n)
	}
	if n, _ := st.Count(ctx, "conflicts"); n != 1 {
		t.Errorf("%d conflicts stored, want 1", n)
	}
	// Against the store.
	if refused, _ = in.Append(ctx, []model.Delivery{a1x, a1, a2}); strings.Join(refusedIDs(refused), ",") != "0:prod-db:e1" {
		t.Fatalf("refused against the store = %v", refusedIDs(refused))
	}
	// A log that cannot take the records answers an error, and forgets them.
	log.err = errors.New("spool: disk full")
	if _, err := in.Append(ctx, []model.Delivery{accessRecord(t, "e3", "carol", "line e3")}); err == nil {
		t.Fatal("append to a failing log succeeded")
	}
	log.err = nil
	if refused, err := in.Append(ctx, []model.Delivery{accessRecord(t, "e3", "dave", "line e3 other")}); err != nil || refused != nil {
		t.Fatalf("a record never appended still blocks its id: %v %v", refused, err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestLoaderReadiness: a store that cannot be reached makes the loader
// not ready (so /readyz answers 503) until a load succeeds again; a
// poison record does not.
func TestLoaderReadiness(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	w := &refusing{Store: st, down: true}
	l := &pipeline.Loader{Deriver: &pipeline.Deriver{Store: w}}
	bad := delivery("ping", "bad", fixture.Ping(ledger))
	if err := l.Load(ctx, []model.Delivery{bad}); err == nil {
		t.Fatal("load with the store down succeeded")
	}
	if err := l.Ready(); err == nil || !strings.Contains(err.Error(), "pipeline cannot store events since") {
		t.Fatalf("Ready with the store down = %v", err)
	}
	w.down = false
	if err := l.Load(ctx, []model.Delivery{bad}); err != nil {
		t.Fatalf("load of a poison record with the store up: %v", err)
	}
	if err := l.Ready(); err != nil {
		t.Fatalf("Ready after the store came back = %v", err)
	}
}
