package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRateLimitsAndRetries(t *testing.T) {
	repo := scenario("acme/ledger", 10, 4)
	f, srv := newFake(t, repo)
	reset := now0.Add(120 * time.Second)
	f.faults = []fault{
		{path: "/repos/acme/ledger/pulls/3/reviews", status: http.StatusForbidden,
			header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": fmt.Sprint(reset.Unix())},
			body:   `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`},
		{path: "/repos/acme/ledger/commits", status: http.StatusBadGateway, body: `{"message":"Server Error"}`},
		{path: "/repos/acme/ledger/branches/main/protection", status: http.StatusForbidden, header: map[string]string{"Retry-After": "7"},
			body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`},
	}
	clock := &fakeClock{now: now0}
	o := opts(srv.URL, clock)
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
	if len(f.faults) != 0 {
		t.Errorf("faults not served: %v", f.faults)
	}
	if stats.PRs != 10 || len(sink.b.Protections) != 1 || stats.Pushes != 12 || stats.RateWaits != 2 || stats.Retries != 1 {
		t.Errorf("stats %+v", stats)
	}
	if n := len(f.requested("/pulls/3/reviews")); n != 2 {
		t.Errorf("reviews of #3 requested %d times, want 2", n)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	repo := scenario("acme/ledger", 1, 0)
	f, srv := newFake(t, repo)
	for range 10 {
		f.faults = append(f.faults, fault{path: "/repos/acme/ledger/pulls", status: http.StatusServiceUnavailable, body: `{}`})
	}
	clock := &fakeClock{now: now0}
	o := opts(srv.URL, clock)
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
	a, b := scenario("acme/a", 20, 5), scenario("acme/b", 250, 50)
	f, srv := newFake(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// acme/a costs 1+1+20+1+1; acme/b: repo, page 1, 100 reviews, page 2, 10 reviews.
	const stopAt = 24 + 1 + 1 + 100 + 1 + 10
	f.onRequest = func(n int) {
		if n == stopAt {
			cancel()
		}
	}
	clock := &fakeClock{now: now0}
	o := opts(srv.URL, clock)
	o.Concurrency = 1
	st := &MemState{}
	sink := &memSink{}
	_, err := Run(ctx, o, st, sink, []string{"acme/a", "acme/b"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want canceled", err)
	}
	f.mu.Lock()
	mark := len(f.log)
	firstTotal := f.total
	f.onRequest = nil
	f.mu.Unlock()

	stats, err := Run(context.Background(), o, st, sink, []string{"acme/a", "acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	second := append([]string(nil), f.log[mark:]...)
	f.mu.Unlock()
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
	if total := firstTotal + len(second); float64(total) > 1.1*270 {
		t.Errorf("interrupted + resumed cost %d requests for 270 PRs", total)
	}
}
