package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/githubfake"
)

func TestRateLimitsAndRetries(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 10, 4)
	f := githubfake.New(t, repo)
	reset := now0.Add(120 * time.Second)
	f.AddFaults(
		githubfake.Fault{Path: "/repos/acme/ledger/pulls/3/reviews", Status: http.StatusForbidden,
			Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": fmt.Sprint(reset.Unix())},
			Body:   `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`},
		githubfake.Fault{Path: "/repos/acme/ledger/commits", Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`},
		githubfake.Fault{Path: "/repos/acme/ledger/branches/main/protection", Status: http.StatusForbidden, Header: map[string]string{"Retry-After": "7"},
			Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`},
	)
	clock := &fakeClock{now: now0}
	o := opts(f.URL, clock)
	o.Concurrency = 1
	sink := &memSink{}
	stats, err := Run(context.Background(), o, &MemState{}, sink, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{121 * time.Second, time.Second, 7 * time.Second}
	if !reflect.DeepEqual(clock.sleeps, want) {
		t.Errorf("sleeps %v, want %v", clock.sleeps, want)
	}
	if p := f.PendingFaults(); len(p) != 0 {
		t.Errorf("faults not served: %v", p)
	}
	if stats.PRs != 10 || len(sink.b.Protections) != 1 || stats.Pushes != 12 || stats.RateWaits != 2 || stats.Retries != 1 {
		t.Errorf("stats %+v", stats)
	}
	if n := len(f.Requested("/pulls/3/reviews")); n != 2 {
		t.Errorf("reviews of #3 requested %d times, want 2", n)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 1, 0)
	f := githubfake.New(t, repo)
	for range 10 {
		f.AddFaults(githubfake.Fault{Path: "/repos/acme/ledger/pulls", Status: http.StatusServiceUnavailable, Body: `{}`})
	}
	clock := &fakeClock{now: now0}
	o := opts(f.URL, clock)
	o.MaxRetries = 3
	_, err := Run(context.Background(), o, &MemState{}, nil, []string{"acme/ledger"})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err %v, want the 503", err)
	}
	if len(clock.sleeps) != 3 || clock.sleeps[0] != time.Second || clock.sleeps[2] != 4*time.Second {
		t.Errorf("sleeps %v", clock.sleeps)
	}
}

func TestResumeAfterInterrupt(t *testing.T) {
	a, b := githubfake.Scenario("acme/a", 20, 5), githubfake.Scenario("acme/b", 250, 50)
	f := githubfake.New(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// acme/a costs repo, 1 page of issue events, 1 page of PRs, 20 reviews,
	// commits, protection; acme/b: repo, 11 pages of issue events (4 per
	// PR), PR page 1, 100 reviews, page 2, 10 reviews.
	const stopAt = 25 + 1 + 11 + 1 + 100 + 1 + 10
	f.OnRequest(func(n int) {
		if n == stopAt {
			cancel()
		}
	})
	clock := &fakeClock{now: now0}
	o := opts(f.URL, clock)
	o.Concurrency = 1
	st := &MemState{}
	sink := &memSink{}
	_, err := Run(ctx, o, st, sink, []string{"acme/a", "acme/b"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want canceled", err)
	}
	f.OnRequest(nil)
	mark := len(f.Log())
	firstTotal := f.Total()

	stats, err := Run(context.Background(), o, st, sink, []string{"acme/a", "acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	second := f.Log()[mark:]
	for _, l := range second {
		if strings.Contains(l, "/repos/acme/a") {
			t.Errorf("finished repository fetched again: %s", l)
		}
		if strings.Contains(l, "/repos/acme/b/pulls?") && !strings.Contains(l, "page=") {
			t.Errorf("finished page fetched again: %s", l)
		}
		for n := 151; n <= 250; n++ { // page 1 (newest updates first)
			if strings.Contains(l, fmt.Sprintf("/pulls/%d/reviews", n)) {
				t.Errorf("review of a finished page fetched again: %s", l)
			}
		}
	}
	if stats.Skipped != 1 || stats.Repos != 1 {
		t.Errorf("second run stats %+v", stats)
	}
	seen := map[string]bool{}
	for _, p := range sink.b.PullRequests {
		seen[p.DeliveryID] = true
	}
	if len(seen) != 270 {
		t.Errorf("distinct PRs written %d, want 270", len(seen))
	}
	t.Logf("interrupted after %d requests, resumed with %d (%d of them 304)", firstTotal, len(second), stats.NotModified)
	// Nothing fetched twice: the requests answered with a body are those of
	// an uninterrupted run, plus at most the one in flight at the interrupt.
	g := githubfake.New(t, githubfake.Scenario("acme/a", 20, 5), githubfake.Scenario("acme/b", 250, 50))
	if _, err := Run(context.Background(), opts(g.URL, &fakeClock{now: now0}), &MemState{}, &memSink{}, []string{"acme/a", "acme/b"}); err != nil {
		t.Fatal(err)
	}
	if nm := f.NonNotModified(); nm > g.Total()+o.Concurrency {
		t.Errorf("interrupted + resumed: %d requests answered with a body; an uninterrupted run makes %d", nm, g.Total())
	}
}

// A merged PR missing from the issue events is looked up on its own.
func TestMergerLookupWhenEventsMissing(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 10, 0)
	repo.HiddenEvents = []int{3, 4}
	f := githubfake.New(t, repo)
	sink := &memSink{}
	stats, err := Run(context.Background(), opts(f.URL, &fakeClock{now: now0}), &MemState{}, sink, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, p := range sink.b.PullRequests {
		got[p.Number] = p.MergedBy
	}
	want := map[int]string{1: "alice", 2: "alice", 3: "alice", 4: "carol", 5: "alice", 6: "alice", 7: "alice", 8: "carol", 9: "alice", 10: "alice"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mergers %v, want %v", got, want)
	}
	if stats.MergerLookups != 2 {
		t.Errorf("merger lookups %d, want 2", stats.MergerLookups)
	}
	var lookups []string
	for _, l := range f.Log() {
		if strings.HasPrefix(l, "200 GET /repos/acme/ledger/pulls/") && !strings.Contains(l, "reviews") {
			lookups = append(lookups, l)
		}
	}
	sort.Strings(lookups)
	if want := []string{"200 GET /repos/acme/ledger/pulls/3", "200 GET /repos/acme/ledger/pulls/4"}; !reflect.DeepEqual(lookups, want) {
		t.Errorf("single-PR requests %v, want %v", lookups, want)
	}
}
