package backfill

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

// TestReconcileFindsLostWebhooks: the store knows PRs 1..15 (their webhooks
// arrived); reconciliation finds 16..20, writes them, and says it learned
// them; a second round learns nothing.
func TestReconcileFindsLostWebhooks(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 20, 0)
	srv := githubfake.New(t, repo)
	var mu sync.Mutex
	stored := map[int]bool{}
	for n := 1; n <= 15; n++ {
		stored[n] = true
	}
	var learned [][]int
	clock := &fakeClock{now: now0}
	r := &Reconciler{
		Options: Options{BaseURL: srv.URL, Token: "tok", Now: clock.Now, Sleep: clock.Sleep},
		State:   &MemState{},
		Sink: SinkFunc(func(_ context.Context, b model.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range b.PullRequests {
				if p.Merged {
					stored[p.Number] = true
				}
			}
			return nil
		}),
		Repos: func(context.Context) ([]string, error) { return []string{"acme/ledger"}, nil },
		Known: func(_ context.Context, _ string, numbers []int) (map[int]bool, error) {
			mu.Lock()
			defer mu.Unlock()
			k := map[int]bool{}
			for _, n := range numbers {
				k[n] = stored[n]
			}
			return k, nil
		},
		Learned: func(_ string, ns []int) { learned = append(learned, ns) },
	}
	if _, err := r.Round(context.Background(), since); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, ns := range learned {
		got = append(got, ns...)
	}
	if want := []int{16, 17, 18, 19, 20}; !reflect.DeepEqual(got, want) {
		t.Fatalf("learned %v, want %v", got, want)
	}
	learned = nil
	if _, err := r.Round(context.Background(), since); err != nil {
		t.Fatal(err)
	}
	if len(learned) != 0 {
		t.Fatalf("a second round learned %v", learned)
	}
	if err := (&Reconciler{}).Run(context.Background()); err == nil {
		t.Fatal("Run without a schedule must fail")
	}
}

// TestReconcileWake: a Wake starts a round at once instead of at the next
// tick (an hour away); Wake never blocks, also on a Reconciler that is not
// running.
func TestReconcileWake(t *testing.T) {
	(&Reconciler{}).Wake()
	(&Reconciler{}).Wake()
	srv := githubfake.New(t, githubfake.Scenario("acme/ledger", 2, 0))
	rounds := make(chan struct{}, 10)
	r := &Reconciler{
		Options: Options{BaseURL: srv.URL, Token: "tok"},
		State:   &MemState{},
		Sink:    SinkFunc(func(context.Context, model.Batch) error { return nil }),
		Repos: func(context.Context) ([]string, error) {
			rounds <- struct{}{}
			return nil, nil
		},
		Known: func(context.Context, string, []int) (map[int]bool, error) { return nil, nil },
		Every: time.Hour,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-rounds:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no round", what)
		}
	}
	wait("first round")
	for range 100 {
		r.Wake() // never blocks, however many
	}
	wait("woken round")
}

// TestReconcileWaitsForExclusive: while another reader (a backfill job)
// holds Exclusive, a round reads nothing from GitHub; it starts once the
// holder lets go.
func TestReconcileWaitsForExclusive(t *testing.T) {
	srv := githubfake.New(t, githubfake.Scenario("acme/ledger", 2, 0))
	clock := &fakeClock{now: now0}
	var busy sync.Mutex
	r := &Reconciler{
		Options:   Options{BaseURL: srv.URL, Token: "tok", Now: clock.Now, Sleep: clock.Sleep},
		State:     &MemState{},
		Sink:      SinkFunc(func(context.Context, model.Batch) error { return nil }),
		Repos:     func(context.Context) ([]string, error) { return []string{"acme/ledger"}, nil },
		Known:     func(context.Context, string, []int) (map[int]bool, error) { return map[int]bool{}, nil },
		Exclusive: &busy,
	}
	busy.Lock()
	done := make(chan error, 1)
	go func() { _, err := r.Round(context.Background(), since); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("the round ran while Exclusive was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if n := srv.Total(); n != 0 {
		t.Fatalf("%d requests while Exclusive was held", n)
	}
	busy.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if srv.Total() == 0 {
		t.Fatal("the round read nothing once Exclusive was free")
	}
	if !busy.TryLock() {
		t.Fatal("the round kept Exclusive")
	}
}
