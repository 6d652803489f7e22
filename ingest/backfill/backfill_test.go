package backfill

import (
	"cmp"
	"context"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

type memSink struct {
	mu sync.Mutex
	b  model.Batch
}

func (s *memSink) Write(_ context.Context, b model.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.PullRequests = append(s.b.PullRequests, b.PullRequests...)
	s.b.Reviews = append(s.b.Reviews, b.Reviews...)
	s.b.Pushes = append(s.b.Pushes, b.Pushes...)
	s.b.Protections = append(s.b.Protections, b.Protections...)
	s.b.Contributions = append(s.b.Contributions, b.Contributions...)
	s.b.Checks = append(s.b.Checks, b.Checks...)
	s.b.Rulesets = append(s.b.Rulesets, b.Rulesets...)
	return nil
}

// opts are the options of the REST path's tests; gqlOpts those of the
// GraphQL path (the default).
func opts(url string, c *fakeClock) Options {
	return Options{BaseURL: url, Token: "tok", Since: since, Now: c.Now, Sleep: c.Sleep, RESTOnly: true}
}

func gqlOpts(url string, c *fakeClock) Options {
	o := opts(url, c)
	o.RESTOnly = false
	return o
}

// webhook parses one delivery the way the webhook path does.
func webhook(t *testing.T, event string, body []byte) model.Batch {
	t.Helper()
	var b model.Batch
	d := model.Delivery{Source: "github", Event: event, DeliveryID: fixture.DeliveryID(string(body)), ReceivedAt: now0, Body: body}
	if err := enrich.ParseGitHub(d, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFirstBackfillEqualsWebhooksAndCost: over REST and over GraphQL, a
// first backfill writes the records the webhooks of the same history give.
func TestFirstBackfillEqualsWebhooksAndCost(t *testing.T) {
	t.Run("rest", func(t *testing.T) { firstBackfillEqualsWebhooks(t, opts) })
	t.Run("graphql", func(t *testing.T) { firstBackfillEqualsWebhooks(t, gqlOpts) })
}

func firstBackfillEqualsWebhooks(t *testing.T, opts func(string, *fakeClock) Options) {
	// Enough PRs for the per-repository requests (repository, protection,
	// the last partial page of each list) to amortise as they do in use.
	const merged = 300
	repo := githubfake.Scenario("acme/ledger", merged, 30)
	f := githubfake.New(t, repo)
	clock := &fakeClock{now: now0}
	sink := &memSink{}
	st := &MemState{}
	stats, err := Run(context.Background(), opts(f.URL, clock), st, sink, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	if stats.PRs != merged || len(sink.b.PullRequests) != merged {
		t.Fatalf("PRs: stats %d, written %d, want %d", stats.PRs, len(sink.b.PullRequests), merged)
	}
	perPR := float64(f.Total()) / merged
	t.Logf("first backfill: %d requests for %d merged PRs = %.2f/PR (stats %+v)", f.Total(), merged, perPR, stats)
	if perPR > 1.1 {
		t.Errorf("%.3f requests per merged PR, want <= 1.1", perPR)
	}
	if stats.Requests != f.Total() {
		t.Errorf("stats.Requests %d, fake saw %d", stats.Requests, f.Total())
	}

	// Pull requests and reviews: the same records as the webhooks of the same PRs.
	got := map[int]model.PullRequest{}
	for _, p := range sink.b.PullRequests {
		got[p.Number] = p
	}
	gotRv := map[int64]model.Review{}
	for _, r := range sink.b.Reviews {
		gotRv[r.ReviewID] = r
	}
	reviews := 0
	for _, p := range repo.PRs {
		if !p.Merged || p.MergedAt.Before(since) {
			if _, ok := got[p.Number]; ok {
				t.Errorf("PR %d (unmerged or before since) was written", p.Number)
			}
			continue
		}
		want := webhook(t, "pull_request", fixture.PullRequest("closed", p)).PullRequests[0]
		g, ok := got[p.Number]
		if !ok {
			t.Errorf("PR %d missing", p.Number)
			continue
		}
		if g.DeliveryID != "backfill:acme/ledger#"+itoa(p.Number) {
			t.Errorf("PR delivery id %q", g.DeliveryID)
		}
		g.DeliveryID, want.DeliveryID = "", ""
		if !reflect.DeepEqual(g, want) {
			t.Errorf("PR %d:\nbackfill %+v\nwebhook  %+v", p.Number, g, want)
		}
		for _, rv := range repo.Reviews[p.Number] {
			action := "submitted"
			if rv.State == "dismissed" {
				action = "dismissed"
			}
			w := webhook(t, "pull_request_review", fixture.PullRequestReview(action, rv)).Reviews[0]
			g, ok := gotRv[rv.ReviewID]
			if !ok {
				t.Errorf("review %d missing", rv.ReviewID)
				continue
			}
			reviews++
			if g.DeliveryID != "backfill:review:"+itoa(int(rv.ReviewID)) {
				t.Errorf("review delivery id %q", g.DeliveryID)
			}
			g.DeliveryID, w.DeliveryID = "", ""
			if !reflect.DeepEqual(g, w) {
				t.Errorf("review %d:\nbackfill %+v\nwebhook  %+v", rv.ReviewID, g, w)
			}
		}
	}
	if reviews != len(sink.b.Reviews) || reviews != stats.Reviews {
		t.Errorf("reviews: matched %d, written %d, stats %d", reviews, len(sink.b.Reviews), stats.Reviews)
	}

	// Pushes: the chain since `since`, merges included, each equal to the
	// webhook push of that one commit.
	if want := merged + merged/30; len(sink.b.Pushes) != want || stats.DirectPushes != merged/30 {
		t.Fatalf("pushes %d (direct %d), want %d (direct %d)", len(sink.b.Pushes), stats.DirectPushes, want, merged/30)
	}
	byAfter := map[string]model.Push{}
	for _, p := range sink.b.Pushes {
		byAfter[p.After] = p
	}
	mergers := map[string]string{}
	for _, p := range repo.PRs {
		mergers[p.MergeCommitSHA] = cmp.Or(p.MergedBy, p.Author)
	}
	for i, c := range repo.Commits {
		if c.At.Before(since) {
			continue
		}
		pusher := c.Committer
		if m, ok := mergers[c.SHA]; ok {
			pusher = m // GitHub's push of a merge names the merger
		}
		w := webhook(t, "push", fixture.Push(fixture.PushEvent{Repo: fixture.Repo{FullName: repo.FullName, DefaultBranch: "main"},
			Before: c.Parent, After: c.SHA, Pusher: pusher,
			Commits: []fixture.Commit{{SHA: c.SHA, Message: c.Message, Author: c.Author, Timestamp: c.At, Committer: c.Committer}}})).Pushes[0]
		g, ok := byAfter[c.SHA]
		if !ok {
			t.Errorf("push %d %s missing", i, c.SHA)
			continue
		}
		if g.DeliveryID != "backfill:push:"+c.SHA {
			t.Errorf("push delivery id %q", g.DeliveryID)
		}
		g.DeliveryID, w.DeliveryID = "", ""
		if !reflect.DeepEqual(g, w) {
			t.Errorf("push %s:\nbackfill %+v\nwebhook  %+v", c.SHA, g, w)
		}
	}
	for i := 1; i < len(sink.b.Pushes); i++ {
		if sink.b.Pushes[i].Before != sink.b.Pushes[i-1].After {
			t.Fatalf("chain broken at %d", i)
		}
	}

	// Protection: the same settings as a branch_protection_rule webhook.
	if len(sink.b.Protections) != 1 {
		t.Fatalf("protections %d", len(sink.b.Protections))
	}
	w := webhook(t, "branch_protection_rule", fixture.BranchProtectionRule(fixture.ProtectionRule{Repo: fixture.Repo{FullName: repo.FullName},
		Action: "edited", Name: "main", ReviewEnforcement: "everyone", RequiredApprovals: 1, DismissStale: true, AdminEnforced: true,
		UpdatedAt: now0})).Protections[0]
	g := sink.b.Protections[0]
	if !strings.HasPrefix(g.DeliveryID, "backfill:protection:acme/ledger:") {
		t.Errorf("protection delivery id %q", g.DeliveryID)
	}
	g.DeliveryID, w.DeliveryID, w.Sender = "", "", ""
	if !reflect.DeepEqual(g, w) {
		t.Errorf("protection:\nbackfill %+v\nwebhook  %+v", g, w)
	}

	// An unchanged re-run: only 304s, and the same records (same ids).
	// (The GraphQL path's re-run: TestGraphQLRecordsAndBudget.)
	if !opts("", clock).RESTOnly {
		return
	}
	before := f.Total()
	first := sink.b
	sink2 := &memSink{}
	stats2, err := Run(context.Background(), opts(f.URL, clock), st, sink2, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	rerun := f.Total() - before
	t.Logf("re-run: %d requests, %d not modified", rerun, stats2.NotModified)
	if f.NonNotModified() != before || stats2.NotModified != rerun || rerun == 0 {
		t.Errorf("re-run made %d non-304 requests (%d requests, %d 304)", f.NonNotModified()-before, rerun, stats2.NotModified)
	}
	if len(sink2.b.PullRequests) != len(first.PullRequests) || len(sink2.b.Pushes) != len(first.Pushes) ||
		sink2.b.Protections[0].DeliveryID != first.Protections[0].DeliveryID {
		t.Errorf("re-run records differ: %d PRs, %d pushes", len(sink2.b.PullRequests), len(sink2.b.Pushes))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
