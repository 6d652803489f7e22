package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/change"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

func TestStreamRowsAcrossChunks(t *testing.T) {
	db := storetest.OpenDB(t)
	const n = 300_000 // the engine sends blocks of ~65k rows: several chunks
	i := 0
	err := db.StreamRows(context.Background(), "SELECT toString(number) AS n, repeat('x', number % 7) AS s FROM numbers({n:UInt64})",
		store.Params{"n": strconv.Itoa(n)}, func(row []string) error {
			if len(row) != 2 || row[0] != strconv.Itoa(i) || row[1] != strings.Repeat("x", i%7) {
				return fmt.Errorf("row %d = %q", i, row)
			}
			i++
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("%d rows, want %d", i, n)
	}
}

func TestStreamRowsKeepEveryByte(t *testing.T) {
	db := storetest.OpenDB(t)
	var got []string
	err := db.StreamRows(context.Background(), `SELECT s FROM (
    SELECT char(number) AS s, number AS k FROM numbers(256)
    UNION ALL SELECT '' AS s, 256 AS k
    UNION ALL SELECT concat('tab', char(9), 'here, "quotes", comma', char(10), 'newline \\ backslash ünïcödé 😀') AS s, 257 AS k)
ORDER BY k`, nil, func(row []string) error {
		got = append(got, row[0])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 258 {
		t.Fatalf("%d rows", len(got))
	}
	for b := 0; b < 256; b++ {
		if got[b] != string([]byte{byte(b)}) {
			t.Errorf("byte %d came back as %q", b, got[b])
		}
	}
	if got[256] != "" || got[257] != "tab\there, \"quotes\", comma\nnewline \\ backslash ünïcödé 😀" {
		t.Errorf("got %q, %q", got[256], got[257])
	}
}

func TestStreamRowsErrors(t *testing.T) {
	db := storetest.OpenDB(t)
	ctx := context.Background()
	noop := func([]string) error { return nil }
	if err := db.StreamRows(ctx, "SELECT number FROM numbers(3)", nil, noop); err == nil || !strings.Contains(err.Error(), "String") {
		t.Errorf("a UInt64 column: %v", err)
	}
	if err := db.StreamRows(ctx, "SELECT nonsense FROM nowhere", nil, noop); err == nil {
		t.Error("a bad query streamed")
	}
	// A walk stopped early frees its connection: every connection still
	// answers afterwards.
	stop := errors.New("stop")
	rows := 0
	err := db.StreamRows(ctx, "SELECT toString(number) FROM numbers(10000000)", nil, func([]string) error {
		if rows++; rows == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's", err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out []struct {
				N uint64 `json:"n"`
			}
			if err := db.Query(ctx, "SELECT count() AS n FROM numbers(1000)", nil, &out); err != nil || len(out) != 1 || out[0].N != 1000 {
				t.Errorf("after a stopped walk: %v %v", out, err)
			}
			n := 0
			if err := db.StreamRows(ctx, "SELECT toString(number) FROM numbers(100000)", nil, func([]string) error { n++; return nil }); err != nil || n != 100000 {
				t.Errorf("streaming after a stopped walk: %d rows, %v", n, err)
			}
		}()
	}
	wg.Wait()
	// A stream of no rows ends differently from others (see StreamRows).
	for _, q := range []string{"SELECT toString(number) FROM numbers(0)", "SELECT toString(number) FROM numbers(10) WHERE number > 10"} {
		n := 0
		if err := db.StreamRows(ctx, q, nil, func([]string) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("%s: %d rows, %v", q, n, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.StreamRows(cancelled, "SELECT toString(number) FROM numbers(10)", nil, noop); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// noStreamDB hides the engine's RowStreamer: the store reads populations
// whole, as over a DB that cannot stream.
type noStreamDB struct{ store.DB }

// seedPopulations stores changes, deploys and access events around a
// period, with findings.
func seedPopulations(t *testing.T, s *store.Store) (from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	from, to = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	pr := func(n int, at time.Time, merge string) model.PullRequest {
		return model.PullRequest{Repo: "acme/api", Number: n, DeliveryID: fmt.Sprint("pr-", n), Action: "closed", State: "closed",
			Merged: true, MergedAt: at, MergeCommitSHA: merge, HeadSHA: shaC, BaseRef: "main", DefaultBranch: "main",
			Author: "alice", Title: fmt.Sprintf("PR %d, \"quoted\"\nline", n), URL: fmt.Sprint("https://x/", n), ReceivedAt: at}
	}
	direct := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: shaA, After: shaC, DeliveryID: "push",
		DefaultBranch: "main", Pusher: "carol", PushedAt: from.Add(time.Hour), Messages: []string{"a", "hotfix"}, ReceivedAt: from}
	batch := model.Batch{
		PullRequests: []model.PullRequest{pr(1, from, shaA), pr(2, to.Add(-time.Millisecond), shaB), pr(3, to, strings.Repeat("d", 40)),
			pr(10, from.Add(time.Minute), strings.Repeat("e", 40))},
		Pushes: []model.Push{direct},
		Deploys: []model.Deploy{
			{ID: "1", Source: "api", Service: "pay", Environment: "production", Repo: "acme/api", SHA: shaA, Status: "success",
				StartedAt: from.Add(-time.Hour), FinishedAt: from, ReceivedAt: from},
			{ID: "2", Source: "api", Service: "pay", Environment: "staging", Repo: "acme/api", SHA: shaB, Status: "failure",
				StartedAt: from.Add(time.Hour), ReceivedAt: from},
			{ID: "3", Source: "api", Service: "pay", Environment: "production", Repo: "acme/api", SHA: shaB, Status: "success",
				StartedAt: to, ReceivedAt: to},
		},
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAccess(ctx, []model.AccessEvent{
		{ID: "a", System: "ssh", Time: from, Principal: "p, q", Action: "login", Result: "success", Format: "generic", ReceivedAt: from},
		{ID: "b", System: "db", Time: to.Add(-time.Millisecond), Principal: "r", Action: "query", Result: "failure", Format: "generic", ReceivedAt: from},
	}); err != nil {
		t.Fatal(err)
	}
	f := func(rule, subject, outcome string, evaluated time.Duration) model.Finding {
		return model.Finding{Rule: rule, Subject: subject, Outcome: model.Outcome(outcome), Reason: "r", Repo: "acme/api",
			OccurredAt: from, EvaluatedAt: from.Add(evaluated)}
	}
	if err := s.AppendFindings(ctx, []model.Finding{
		f("CM-1", "acme/api#1", "fail", time.Hour), f("CM-1", "acme/api#1", "pass", 2*time.Hour), f("CM-2", "acme/api#1", "pending", time.Hour),
		f("CM-1", "acme/api@"+shaC, "fail", time.Hour), f("CM-5", "pay@production@1", "pass", time.Hour),
		f("AC-1", "ssh:a", "error", time.Hour), f("AC-9", "ssh:a", "fail", time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	return from, to
}

func TestWalkPopulation(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	from, to := seedPopulations(t, s)
	walk := func(s *store.Store, pop string, rules []string) []string {
		var out []string
		err := s.WalkPopulation(ctx, pop, from, to, rules, func(r store.PopulationRow) error {
			out = append(out, fmt.Sprintf("%s %s %q %q", r.Subject, r.OccurredAt.Format(time.RFC3339Nano), r.Fields, r.Outcomes))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		pop   string
		rules []string
		want  []string
	}{
		{store.PopulationChanges, []string{"CM-1", "CM-2", "CM-3"}, []string{
			`acme/api#1 2026-03-01T00:00:00Z ["pull_request" "acme/api" "` + shaA + `" "alice" "PR 1, \"quoted\"\nline" "https://x/1"] ["pass" "pending" ""]`,
			`acme/api#10 2026-03-01T00:01:00Z ["pull_request" "acme/api" "` + strings.Repeat("e", 40) + `" "alice" "PR 10, \"quoted\"\nline" "https://x/10"] ["" "" ""]`,
			`acme/api#2 2026-03-31T23:59:59.999Z ["pull_request" "acme/api" "` + shaB + `" "alice" "PR 2, \"quoted\"\nline" "https://x/2"] ["" "" ""]`,
			`acme/api@` + shaC + ` 2026-03-01T01:00:00Z ["direct_push" "acme/api" "` + shaC + `" "carol" "hotfix" ""] ["fail" "" ""]`,
		}},
		{store.PopulationDeploys, []string{"CM-5"}, []string{
			`pay@production@1 2026-03-01T00:00:00Z ["pay" "production" "1" "acme/api" "` + shaA + `" "success" "" ""] ["pass"]`,
			`pay@staging@2 2026-03-01T01:00:00Z ["pay" "staging" "2" "acme/api" "` + shaB + `" "failure" "" ""] [""]`,
		}},
		{store.PopulationAccess, []string{"AC-1", "AC-2"}, []string{
			`db:b 2026-03-31T23:59:59.999Z ["db" "b" "r" "query" "failure" "" "" ""] ["" ""]`,
			`ssh:a 2026-03-01T00:00:00Z ["ssh" "a" "p, q" "login" "success" "" "" ""] ["error" ""]`,
		}},
		{store.PopulationAccess, nil, []string{
			`db:b 2026-03-31T23:59:59.999Z ["db" "b" "r" "query" "failure" "" "" ""] []`,
			`ssh:a 2026-03-01T00:00:00Z ["ssh" "a" "p, q" "login" "success" "" "" ""] []`,
		}},
	}
	plain := store.New(noStreamDB{storetest.DB(s)})
	for _, c := range cases {
		if got := walk(s, c.pop, c.rules); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n%s\nwant\n%s", c.pop, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
		if got := walk(plain, c.pop, c.rules); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s without streaming:\n%s", c.pop, strings.Join(got, "\n"))
		}
		fields, err := store.PopulationFields(c.pop)
		if err != nil || len(fields) == 0 {
			t.Errorf("fields of %s: %v %v", c.pop, fields, err)
		}
	}
	// The same members as the population of changes the API lists.
	rows, err := s.Changes(ctx, store.ChangeQuery{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	_ = s.WalkPopulation(ctx, store.PopulationChanges, from, to, nil, func(r store.PopulationRow) error {
		subjects = append(subjects, r.Subject)
		return nil
	})
	if len(rows) != len(subjects) {
		t.Fatalf("Changes has %d rows, the walk %d", len(rows), len(subjects))
	}
	for i, r := range rows {
		if r.Subject != subjects[i] {
			t.Errorf("row %d: %s, walked %s", i, r.Subject, subjects[i])
		}
	}
	for _, pop := range []string{store.PopulationChanges, store.PopulationDeploys, store.PopulationAccess} {
		n := 0
		if err := s.WalkPopulation(ctx, pop, from.AddDate(-1, 0, 0), from.AddDate(0, 0, -1), []string{"CM-1"}, func(store.PopulationRow) error {
			n++
			return nil
		}); err != nil || n != 0 {
			t.Errorf("%s of an empty period: %d members, %v", pop, n, err)
		}
	}
	if err := s.WalkPopulation(ctx, "pushes", from, to, nil, func(store.PopulationRow) error { return nil }); err == nil {
		t.Error("an unknown population walked")
	}
}

// TestEvidenceOfManyMatchesOne: each reader of many answers per key what
// the reader of one answers.
func TestEvidenceOfManyMatchesOne(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	from, _ := seedPopulations(t, s)
	// A second PR merged as shaA: the lower number is the change of shaA.
	late := model.PullRequest{Repo: "acme/api", Number: 20, DeliveryID: "pr-20", Action: "closed", State: "closed", Merged: true,
		MergedAt: from, MergeCommitSHA: shaA, BaseRef: "main", DefaultBranch: "main", ReceivedAt: from}
	merge := model.Push{Repo: "acme/api", Ref: "refs/heads/main", Before: shaC, After: shaA, DeliveryID: "m1",
		DefaultBranch: "main", PushedAt: from, ReceivedAt: from}
	again := merge
	again.Before, again.DeliveryID = shaB, "m2"
	if err := s.Write(ctx, model.Batch{PullRequests: []model.PullRequest{late}, Pushes: []model.Push{merge, again},
		Reviews: []model.Review{{Repo: "acme/api", PRNumber: 1, ReviewID: 1, DeliveryID: "r1", Action: "submitted", Reviewer: "bob",
			State: "approved", SubmittedAt: from, ReceivedAt: from}}}); err != nil {
		t.Fatal(err)
	}
	keys := []model.ChangeKey{{Repo: "acme/api", Number: 1}, {Repo: "acme/api", Number: 20}, {Repo: "acme/api", SHA: shaA},
		{Repo: "acme/api", SHA: shaC}, {Repo: "acme/api", Number: 99}, {Repo: "acme/api", SHA: strings.Repeat("9", 40)},
		{Repo: "acme/web", Number: 1}, {Repo: "acme/api", Number: 2, SHA: shaA}}
	rec, err := s.ChangeRecordsOf(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	many := change.Lookup(rec, keys)
	for _, k := range keys {
		one, ok, err := s.Change(ctx, k.Repo, k.Number, k.SHA)
		if err != nil {
			t.Fatal(err)
		}
		got, gotOK := many[k]
		if ok != gotOK || !reflect.DeepEqual(one, got) {
			t.Errorf("%+v: one %v %+v; many %v %+v", k, ok, one, gotOK, got)
		}
	}
	if many[model.ChangeKey{Repo: "acme/api", SHA: shaA}].Subject != "acme/api#1" {
		t.Errorf("change of %s: %+v", shaA, many[model.ChangeKey{Repo: "acme/api", SHA: shaA}])
	}

	repos, shas := []string{"acme/api", "acme/api", "acme/web"}, []string{shaA, shaC, shaA}
	pushes, err := s.PushesToEach(ctx, repos, shas)
	if err != nil {
		t.Fatal(err)
	}
	for i := range repos {
		one, err := s.PushesTo(ctx, repos[i], shas[i])
		if err != nil {
			t.Fatal(err)
		}
		got := pushes[[2]string{repos[i], shas[i]}]
		if len(one) != len(got) || (len(one) > 0 && !reflect.DeepEqual(one, got)) {
			t.Errorf("pushes to %s@%s: one %v, many %v", repos[i], shas[i], one, got)
		}
	}

	subjects := []string{"acme/api#1", "acme/api@" + shaC, "pay@production@1", "none"}
	hist, err := s.FindingHistories(ctx, subjects)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range subjects {
		one, err := s.Findings(ctx, store.FindingQuery{Subject: subj, History: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != len(hist[subj]) || (len(one) > 0 && !reflect.DeepEqual(one, hist[subj])) {
			t.Errorf("history of %s: one %v, many %v", subj, one, hist[subj])
		}
	}
	if len(hist["acme/api#1"]) != 3 {
		t.Errorf("acme/api#1 history %v", hist["acme/api#1"])
	}

	cur, err := s.CurrentFindingsOf(ctx, "CM-1", []string{"acme/api", "acme/web"})
	if err != nil {
		t.Fatal(err)
	}
	deploys, err := s.DeploysOfEach(ctx, []string{"acme/api", "acme/web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"acme/api", "acme/web"} {
		one, err := s.Findings(ctx, store.FindingQuery{Rule: "CM-1", Repo: repo})
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != len(cur[repo]) || (len(one) > 0 && !reflect.DeepEqual(one, cur[repo])) {
			t.Errorf("CM-1 of %s: one %v, many %v", repo, one, cur[repo])
		}
		ds, err := s.DeploysOf(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != len(deploys[repo]) || (len(ds) > 0 && !reflect.DeepEqual(ds, deploys[repo])) {
			t.Errorf("deploys of %s: one %v, many %v", repo, ds, deploys[repo])
		}
	}
	if len(cur["acme/api"]) != 2 || len(deploys["acme/api"]) != 3 {
		t.Errorf("CM-1 %v, deploys %v", cur["acme/api"], deploys["acme/api"])
	}

	all, err := s.DeploysBetween(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	bySubject, err := s.DeploysBySubject(ctx, []string{"pay@production@1", "pay@staging@2", "pay@nowhere@9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bySubject) != 2 {
		t.Errorf("deploys by subject: %v", bySubject)
	}
	for _, d := range all {
		if got, ok := bySubject[d.Subject()]; ok && !reflect.DeepEqual(got, d) {
			t.Errorf("%s: %+v, want %+v", d.Subject(), got, d)
		}
	}
	events, err := s.AccessEventsOf(ctx, []string{"ssh", "db", "ssh"}, []string{"a", "b", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range [][2]string{{"ssh", "a"}, {"db", "b"}, {"ssh", "zz"}, {"db", "a"}} {
		one, ok, err := s.AccessEvent(ctx, k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		got, gotOK := events[k]
		if k == [2]string{"db", "a"} { // not asked for
			ok = false
		}
		if ok != gotOK || (ok && !reflect.DeepEqual(one, got)) {
			t.Errorf("access %v: one %v %+v, many %v %+v", k, ok, one, gotOK, got)
		}
	}
}
