package backfill

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

// TestDepthCostAndRecords: with contributors and a required check on, the
// backfill makes exactly the requests it needs on top of the plain run (a
// PR's commits only when an approval by someone other than its author could
// count; its final head's check runs, and its commit statuses only when a
// required check is not among the runs), writes the records the webhooks
// of the same history would give, and records the active ruleset.
func TestDepthCostAndRecords(t *testing.T) {
	const merged = 120
	repo := githubfake.Scenario("acme/ledger", merged, 30)
	plain := githubfake.New(t, repo)
	clock := &fakeClock{now: now0}
	if _, err := Run(context.Background(), opts(plain.URL, clock), &MemState{}, &memSink{}, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}
	f := githubfake.New(t, repo)
	o := opts(f.URL, clock)
	o.Contributors, o.RequiredChecks = true, []string{"ci/test"}
	sink, st := &memSink{}, &MemState{}
	stats, err := Run(context.Background(), o, st, sink, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	wantCommits, wantStatus := 0, 0
	for _, p := range repo.PRs {
		if !p.Merged || p.MergedAt.Before(since) {
			continue
		}
		for _, rv := range repo.Reviews[p.Number] {
			if rv.State == "approved" && rv.Reviewer != p.Author {
				wantCommits++
				break
			}
		}
		if len(repo.CheckRuns[p.HeadSHA]) == 0 {
			wantStatus++
		}
	}
	extra := f.Total() - plain.Total()
	if want := wantCommits + merged + wantStatus; extra != want {
		t.Errorf("%d requests more than the plain run, want %d (%d commit lists, %d check-run reads, %d status reads)",
			extra, want, wantCommits, merged, wantStatus)
	}
	t.Logf("requests per merged PR: %.2f plain, %.2f with contributors and CM-7 (%d commit lists, %d status reads)",
		float64(plain.Total())/merged, float64(f.Total())/merged, wantCommits, wantStatus)
	if stats.PRCommitLists != wantCommits || stats.Rulesets != 1 {
		t.Errorf("stats %+v", stats)
	}

	// The records: bob on the PRs he pushed a fix-up to, every final
	// head's ci/test result, the ruleset with its bypass actor.
	bob := map[int]bool{}
	for _, c := range sink.b.Contributions {
		if c.Login == "bob" && c.How == model.ContribAuthored {
			bob[c.PRNumber] = true
		}
	}
	for n := 1; n <= merged; n++ {
		if want := n%5 == 0 && n%10 != 0 && n%11 != 0; bob[n] != want {
			t.Errorf("PR #%d: bob authored a commit: %v, want %v", n, bob[n], want)
		}
	}
	checks := map[string]string{}
	for _, c := range sink.b.Checks {
		checks[c.SHA] = c.Kind + " " + c.State
	}
	for _, p := range repo.PRs {
		if !p.Merged || p.MergedAt.Before(since) {
			continue
		}
		want := "check_run success"
		switch {
		case p.Number%8 == 0:
			want = "status success"
		case p.Number%6 == 0:
			want = "check_run failure"
		}
		if checks[p.HeadSHA] != want {
			t.Errorf("PR #%d: check %q, want %q", p.Number, checks[p.HeadSHA], want)
		}
	}
	if len(sink.b.Rulesets) != 1 {
		t.Fatalf("rulesets %+v", sink.b.Rulesets)
	}
	rs := sink.b.Rulesets[0]
	if rs.Repo != "acme/ledger" || rs.RulesetID != 42 || rs.Action != "observed" || !slices.Equal(rs.BypassActors, []string{"RepositoryRole:5"}) ||
		!rs.HasReviewRule || rs.RequiredApprovals != 1 || rs.DefaultBranch != "main" {
		t.Errorf("ruleset %+v", rs)
	}

	// Reconciliation moves Since every round; an unchanged history then
	// costs only 304s.
	before, nm := f.Total(), f.Total()-f.NonNotModified()
	o.Since = since.Add(90 * time.Minute)
	if _, err := Run(context.Background(), o, st, &memSink{}, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}
	rerun, rerun304 := f.Total()-before, f.Total()-f.NonNotModified()-nm
	t.Logf("re-run with a later since: %d requests, %d answered 304", rerun, rerun304)
	if rerun-rerun304 > 1 {
		t.Errorf("re-run with a later since made %d requests that were not 304: %v", rerun-rerun304, notModifiedMisses(f.Log()[before:]))
	}
}

func notModifiedMisses(log []string) []string {
	var out []string
	for _, l := range log {
		if l[:3] != "304" {
			out = append(out, l)
		}
	}
	return append(out, fmt.Sprint(len(out)))
}

// TestRerunOfUnprotectedRepository: on the REST path an unchanged re-run
// of a repository without branch protection is all 304s: the list of
// protected branches answers 304 and the protection probe, whose 404 would
// carry no ETag, is not made.
func TestRerunOfUnprotectedRepository(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 30, 10)
	repo.Protected = false
	f := githubfake.New(t, repo)
	clock := &fakeClock{now: now0}
	o := opts(f.URL, clock)
	o.Contributors, o.RequiredChecks = true, []string{"ci/test"}
	st := &MemState{}
	if _, err := Run(context.Background(), o, st, &memSink{}, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}
	before := len(f.Log())
	o.Since = since.Add(3 * time.Hour)
	if _, err := Run(context.Background(), o, st, &memSink{}, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}
	if miss := notModifiedMisses(f.Log()[before:]); len(miss) != 1 {
		t.Errorf("re-run made requests that were not 304: %v", miss)
	}
	if n := len(f.Requested("/branches/main/protection")); n != 0 {
		t.Errorf("the protection of an unprotected branch was probed %d times", n)
	}
}
