package backfill

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

// TestGraphQLQueryMatchesSchema validates the query against GitHub's
// published GraphQL schema: every type, field, argument, enum value and
// variable must exist and fit.
func TestGraphQLQueryMatchesSchema(t *testing.T) {
	f, err := os.Open("testdata/github-schema.graphql.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sdl, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	doc, perr := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: "github", Input: string(sdl)})
	if perr != nil {
		t.Fatalf("parse GitHub's schema: %v", perr)
	}
	// The published schema defines a few fields twice, identically (e.g.
	// EnterpriseOwnerInfo.repositoryDeployKeySetting), which a strict
	// validator refuses; keep the first of each.
	dropped := 0
	for _, def := range doc.Definitions {
		seen := map[string]bool{}
		fields := def.Fields[:0]
		for _, fd := range def.Fields {
			if seen[fd.Name] {
				dropped++
				continue
			}
			seen[fd.Name] = true
			fields = append(fields, fd)
		}
		def.Fields = fields
	}
	schema, gerr := validator.ValidateSchemaDocument(doc)
	if gerr != nil {
		t.Fatalf("load GitHub's schema (%d duplicate fields dropped): %v", dropped, gerr)
	}
	if _, errs := gqlparser.LoadQuery(schema, pullsQuery); len(errs) > 0 {
		t.Fatalf("the query does not match GitHub's schema: %v", errs)
	}
	// The check itself can fail: a misspelt field is refused.
	if _, errs := gqlparser.LoadQuery(schema, strings.Replace(pullsQuery, "fullDatabaseId", "fullDatabaseID", 1)); len(errs) == 0 {
		t.Error("a field the schema lacks was accepted")
	}
	if PullsOperation != githubfake.PullsOperation || !strings.HasPrefix(pullsQuery, "query "+PullsOperation+"(") {
		t.Errorf("operation %q, fake answers %q", PullsOperation, githubfake.PullsOperation)
	}
}

func TestBotLogin(t *testing.T) {
	for email, want := range map[string]string{
		"49699333+dependabot[bot]@users.noreply.github.com":     "dependabot[bot]",
		"41898282+github-actions[bot]@users.noreply.github.com": "github-actions[bot]",
		"dependabot[bot]@users.noreply.github.com":              "dependabot[bot]",
		"29139614+renovate[bot]@Users.Noreply.GitHub.com":       "renovate[bot]",
		"1+octocat@users.noreply.github.com":                    "", // a user: GraphQL names users itself
		"support@github.com":                                    "",
		"49699333+[bot]@users.noreply.github.com":               "",
		"dependabot[bot]@example.com":                           "",
		"":                                                      "",
	} {
		if got := botLogin(email); got != want {
			t.Errorf("botLogin(%q) = %q, want %q", email, got, want)
		}
	}
}

func TestGraphQLURL(t *testing.T) {
	for base, want := range map[string]string{
		"":                                "https://api.github.com/graphql",
		"https://api.github.com/":         "https://api.github.com/graphql",
		"https://ghe.example.com/api/v3/": "https://ghe.example.com/api/graphql",
		"https://ghe.example.com/api/v3":  "https://ghe.example.com/api/graphql",
		"http://127.0.0.1:8080/":          "http://127.0.0.1:8080/graphql",
	} {
		if got, err := graphqlURL(base); err != nil || got != want {
			t.Errorf("graphqlURL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
}

// canonical renders a batch's records as sorted JSON lines per kind, for
// comparing two runs record by record.
func canonical(t *testing.T, b model.Batch) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(kind string, v any) {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[kind] = append(out[kind], string(j))
	}
	for _, x := range b.PullRequests {
		add("pull_request", x)
	}
	for _, x := range b.Reviews {
		add("review", x)
	}
	for _, x := range b.Pushes {
		add("push", x)
	}
	for _, x := range b.Protections {
		add("protection", x)
	}
	for _, x := range b.Contributions {
		add("contribution", x)
	}
	for _, x := range b.Checks {
		add("check", x)
	}
	for _, x := range b.Rulesets {
		add("ruleset", x)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

func sameRecords(t *testing.T, what string, got, want model.Batch) {
	t.Helper()
	g, w := canonical(t, got), canonical(t, want)
	for kind, ws := range w {
		gs := g[kind]
		if len(gs) != len(ws) {
			t.Errorf("%s: %d %s records, want %d", what, len(gs), kind, len(ws))
			continue
		}
		for i := range ws {
			if gs[i] != ws[i] {
				t.Errorf("%s: %s record\n  got  %s\n  want %s", what, kind, gs[i], ws[i])
				break
			}
		}
	}
	for kind := range g {
		if _, ok := w[kind]; !ok {
			t.Errorf("%s: %d unexpected %s records", what, len(g[kind]), kind)
		}
	}
}

// TestGraphQLRecordsAndBudget: the GraphQL path writes exactly the records
// the REST path writes for the same history (and the REST path's equal the
// webhooks', TestFirstBackfillEqualsWebhooksAndCost), within the request
// budget per merged pull request: at most 1.5 with contributors and a
// required check on, at most 1.1 with them off. Every GraphQL response is
// logged as evidence; an unchanged re-run costs 304s and one small query.
func TestGraphQLRecordsAndBudget(t *testing.T) {
	const merged = 120
	repo := githubfake.Scenario("acme/ledger", merged, 30)
	// Bot-authored commits: GraphQL gives no user for a bot, so only the
	// noreply address says it was dependabot[bot] (REST names it).
	var botPRs int
	for n, cs := range repo.PRCommits {
		if len(cs) > 1 && n%3 == 0 {
			cs[0].Author, cs[0].Committer = "dependabot[bot]", "github-actions[bot]"
			botPRs++
		}
	}
	if botPRs == 0 {
		t.Fatal("no pull request with bot commits in the scenario")
	}
	for _, depth := range []bool{true, false} {
		t.Run(fmt.Sprintf("cm7=%t", depth), func(t *testing.T) {
			setDepth := func(o *Options) {
				if depth {
					o.Contributors, o.RequiredChecks = true, []string{"ci/test"}
				}
			}
			rest := githubfake.New(t, repo)
			ro := opts(rest.URL, &fakeClock{now: now0})
			setDepth(&ro)
			restSink := &memSink{}
			if _, err := Run(context.Background(), ro, &MemState{}, restSink, []string{"acme/ledger"}); err != nil {
				t.Fatal(err)
			}

			f := githubfake.New(t, repo)
			o := gqlOpts(f.URL, &fakeClock{now: now0})
			setDepth(&o)
			sink, st := &memSink{}, &MemState{}
			stats, err := Run(context.Background(), o, st, sink, []string{"acme/ledger"})
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, "graphql vs rest", sink.b, restSink.b)
			if depth {
				bots := map[string]int{}
				for _, c := range sink.b.Contributions {
					if strings.HasSuffix(c.Login, "[bot]") {
						bots[c.Login+" "+c.How]++
					}
				}
				if bots["dependabot[bot] "+model.ContribAuthored] == 0 || bots["github-actions[bot] "+model.ContribCommitted] == 0 {
					t.Errorf("bot contributions over GraphQL: %v", bots)
				}
			}
			if len(sink.b.PullRequests) != merged {
				t.Fatalf("%d pull requests, want %d", len(sink.b.PullRequests), merged)
			}

			// Requests: the repository, two GraphQL pages, two commit
			// pages, the protected branches and the protection, the
			// ruleset list and the ruleset; with
			// CM-7 on also the commit statuses of the heads with statuses
			// and no ci/test check run (every 8th), nothing else per PR.
			want := 1 + 2 + 2 + 2 + 2
			if depth {
				want += merged / 8
			}
			perPR := float64(f.Total()) / merged
			t.Logf("GraphQL path: %d requests for %d merged PRs = %.3f per merged PR (REST path: %.3f); stats %+v",
				f.Total(), merged, perPR, float64(rest.Total())/merged, stats)
			if f.Total() != want {
				t.Errorf("%d requests, want %d: %v", f.Total(), want, f.Log())
			}
			if limit := map[bool]float64{true: 1.5, false: 1.1}[depth]; perPR > limit {
				t.Errorf("%.3f requests per merged PR, budget %.1f", perPR, limit)
			}
			if n := len(f.Requested("/graphql")); n != 2 || stats.GraphQLQueries != 2 || stats.RESTFallbacks != 0 {
				t.Errorf("%d GraphQL requests, stats %+v", n, stats)
			}
			if n := len(f.Requested("/issues/events")) + len(f.Requested("/reviews")) + len(f.Requested("/check-runs")) +
				len(f.Requested("/pulls/")); n != 0 {
				t.Errorf("%d per-PR REST requests", n)
			}
			// Evidence: each GraphQL response, with its request.
			ids := st.Responses()
			if len(ids) != 2 {
				t.Fatalf("logged responses %v", ids)
			}
			for _, id := range ids {
				if !strings.HasPrefix(id, "graphql:"+f.URL+"/graphql#") {
					t.Errorf("response id %q", id)
				}
			}

			// An unchanged re-run, Since moved as reconciliation does: 304s
			// and one GraphQL query of a small page, nothing written that
			// was not before.
			before := len(f.Log())
			o.Since = since.Add(90 * time.Minute)
			again := &memSink{}
			stats2, err := Run(context.Background(), o, st, again, []string{"acme/ledger"})
			if err != nil {
				t.Fatal(err)
			}
			miss := notModifiedMisses(f.Log()[before:])
			t.Logf("unchanged re-run: %d requests, not 304: %v", len(f.Log())-before, miss)
			if len(miss) != 2 || !strings.HasPrefix(miss[0], "200 POST /graphql") {
				t.Errorf("re-run requests that were not 304: %v", miss)
			}
			if stats2.GraphQLQueries != 1 || len(again.b.Pushes) == 0 {
				t.Errorf("re-run stats %+v, %d pushes", stats2, len(again.b.Pushes))
			}
			// Pushes are still told from merges (pusher: the merger): the
			// merges carried over.
			sameRecords(t, "re-run pushes", model.Batch{Pushes: again.b.Pushes}, model.Batch{Pushes: pushesSince(sink.b.Pushes, o.Since)})
			// The same re-run once more logs the same response id.
			n := len(st.Responses())
			if _, err := Run(context.Background(), o, st, &memSink{}, []string{"acme/ledger"}); err != nil {
				t.Fatal(err)
			}
			if len(st.Responses()) != n {
				t.Errorf("an identical re-run logged a new response id: %v", st.Responses())
			}
		})
	}
}

func pushesSince(ps []model.Push, since time.Time) []model.Push {
	var out []model.Push
	for _, p := range ps {
		if !p.PushedAt.Before(since) {
			out = append(out, p)
		}
	}
	return out
}

// TestGraphQLLearnsNewChanges: after a finished pass, a pull request merged
// since is learned by the next pass's one query, and a changed review
// policy (contributors turned on) makes the next pass read everything.
func TestGraphQLLearnsNewChanges(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 30, 0)
	f := githubfake.New(t, repo)
	clock := &fakeClock{now: now0}
	o := gqlOpts(f.URL, clock)
	st := &MemState{}
	if _, err := Run(context.Background(), o, st, &memSink{}, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}
	at := since.Add(40 * time.Hour)
	p := fixture.PR{Repo: fixture.Repo{FullName: "acme/ledger", DefaultBranch: "main"}, Number: 31, Author: "alice", Title: "late",
		HeadRef: "late", HeadSHA: fixture.SHA("late-head"), MergeCommitSHA: fixture.SHA("late-merge"), Merged: true,
		CreatedAt: at.Add(-time.Hour), MergedAt: at, MergedBy: "carol"}
	repo.PRs = append(repo.PRs, p)
	repo.Reviews[31] = []fixture.ReviewEvent{{PR: p, ReviewID: 131, Reviewer: "bob", State: "approved", SubmittedAt: at.Add(-time.Minute)}}
	repo.Commits = append([]githubfake.Commit{{SHA: p.MergeCommitSHA, Parent: repo.Commits[0].SHA, Message: "late (#31)",
		Author: "alice", Committer: "web-flow", At: at}}, repo.Commits...)
	o.Since = since.Add(2 * time.Hour)
	sink := &memSink{}
	stats, err := Run(context.Background(), o, st, sink, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	// #31, and #30 and #29, updated within the hour before the previous
	// pass's newest update (the overlap for GitHub's lag).
	if stats.GraphQLQueries != 1 || len(sink.b.PullRequests) != 3 || sink.b.PullRequests[0].Number != 31 ||
		sink.b.PullRequests[0].MergedBy != "carol" || len(sink.b.Reviews) == 0 {
		t.Errorf("stats %+v, pull requests %+v", stats, sink.b.PullRequests)
	}
	var late *model.Push
	for i, ps := range sink.b.Pushes {
		if ps.After == p.MergeCommitSHA {
			late = &sink.b.Pushes[i]
		}
	}
	if late == nil || late.Pusher != "carol" {
		t.Errorf("push of the late merge %+v", late)
	}

	// Contributors on: the carried high-water mark does not apply.
	o.Contributors = true
	sink = &memSink{}
	if _, err := Run(context.Background(), o, st, sink, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}
	if len(sink.b.PullRequests) != 30 { // #2..#31: merged at or after Since+2h
		t.Errorf("with contributors on, %d pull requests read, want all 30 since", len(sink.b.PullRequests))
	}
}

// TestGraphQLFallsBackToREST: a pull request with more reviews, commits or
// check runs than a query holds is read over REST (only that one), and a
// server without GraphQL gets the REST path; the records are the REST
// path's either way.
func TestGraphQLFallsBackToREST(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 20, 0)
	var big fixture.PR
	for _, p := range repo.PRs {
		if p.Number == 5 { // bob's fix-up and approval: commits are read
			big = p
		}
	}
	for i := range 101 {
		repo.Reviews[5] = append(repo.Reviews[5], fixture.ReviewEvent{PR: big, ReviewID: int64(700000 + i), Reviewer: "erin",
			State: "commented", SubmittedAt: big.MergedAt.Add(-time.Duration(i+2) * time.Minute)})
	}
	cs := repo.PRCommits[5]
	var more []githubfake.Commit
	for i := range 101 {
		more = append(more, githubfake.Commit{SHA: fixture.SHA(fmt.Sprint("more", i)), Message: "more", Author: "alice", Committer: "alice",
			At: big.CreatedAt.Add(time.Duration(i) * time.Second)})
	}
	repo.PRCommits[5] = append(more, cs...)
	head := repo.PRs[0]
	for _, p := range repo.PRs {
		if p.Number == 7 {
			head = p
		}
	}
	run := repo.CheckRuns[head.HeadSHA][0]
	for i := range 101 {
		r := run
		r.ID, r.Name = int64(800000+i), fmt.Sprintf("lint-%03d", i)
		repo.CheckRuns[head.HeadSHA] = append(repo.CheckRuns[head.HeadSHA], r)
	}
	depth := func(o *Options) { o.Contributors, o.RequiredChecks = true, []string{"ci/test"} }

	rest := githubfake.New(t, repo)
	ro := opts(rest.URL, &fakeClock{now: now0})
	depth(&ro)
	want := &memSink{}
	if _, err := Run(context.Background(), ro, &MemState{}, want, []string{"acme/ledger"}); err != nil {
		t.Fatal(err)
	}

	f := githubfake.New(t, repo)
	o := gqlOpts(f.URL, &fakeClock{now: now0})
	depth(&o)
	got := &memSink{}
	stats, err := Run(context.Background(), o, &MemState{}, got, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "graphql with fallbacks vs rest", got.b, want.b)
	if stats.RESTFallbacks != 3 || len(f.Requested("/pulls/5/reviews")) != 2 || len(f.Requested("/pulls/5/commits")) != 2 ||
		len(f.Requested("/commits/"+head.HeadSHA+"/check-runs")) != 1 || len(f.Requested("/reviews")) != 2 {
		t.Errorf("stats %+v, requests %v", stats, f.Log())
	}

	// No GraphQL endpoint: the REST path.
	g := githubfake.New(t, repo)
	g.DisableGraphQL()
	o = gqlOpts(g.URL, &fakeClock{now: now0})
	depth(&o)
	none := &memSink{}
	stats, err = Run(context.Background(), o, &MemState{}, none, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "no graphql vs rest", none.b, want.b)
	if stats.GraphQLQueries != 0 || len(g.Requested("/graphql")) != 1 {
		t.Errorf("stats %+v, graphql requests %v", stats, g.Requested("/graphql"))
	}
}

// TestGraphQLRetries: a 502 is retried with the same request body, and a
// RATE_LIMITED error waits for the reset the response names.
func TestGraphQLRetries(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 10, 0)
	f := githubfake.New(t, repo)
	clock := &fakeClock{now: now0}
	reset := now0.Add(3 * time.Minute).Unix()
	f.AddFaults(githubfake.Fault{Path: "/graphql", Status: 502, Body: `{"message":"Server Error"}`},
		githubfake.Fault{Path: "/graphql", Status: 200, Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(reset)},
			Body: `{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}`})
	sink := &memSink{}
	stats, err := Run(context.Background(), gqlOpts(f.URL, clock), &MemState{}, sink, []string{"acme/ledger"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.PendingFaults()) != 0 || len(sink.b.PullRequests) != 10 || stats.Retries != 1 || stats.RateWaits < 1 {
		t.Errorf("stats %+v, faults left %v, %d pull requests", stats, f.PendingFaults(), len(sink.b.PullRequests))
	}
	found := false
	for _, d := range clock.sleeps {
		if d >= 3*time.Minute {
			found = true
		}
	}
	if !found {
		t.Errorf("sleeps %v, want one until the reset", clock.sleeps)
	}

	// Another GraphQL error is an error, not an empty history.
	g := githubfake.New(t, repo)
	g.AddFaults(githubfake.Fault{Path: "/graphql", Status: 200, Body: `{"errors":[{"type":"FORBIDDEN","message":"Resource not accessible by integration"}]}`})
	_, err = Run(context.Background(), gqlOpts(g.URL, &fakeClock{now: now0}), &MemState{}, &memSink{}, []string{"acme/ledger"})
	var ge *GraphQLError
	if !errors.As(err, &ge) || ge.Type != "FORBIDDEN" {
		t.Errorf("err %v, want the GraphQL error", err)
	}
}

// TestGraphQLResumeAfterInterrupt: a run interrupted after a GraphQL page
// resumes at the next page (the cursor keeps GraphQL's endCursor), and
// together the two runs write every merged pull request once.
func TestGraphQLResumeAfterInterrupt(t *testing.T) {
	f := githubfake.New(t, githubfake.Scenario("acme/b", 250, 50))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := &fakeClock{now: now0}
	o := gqlOpts(f.URL, clock)
	o.Concurrency = 1
	st := &MemState{}
	first := &memSink{}
	var once bool
	sink := SinkFunc(func(ctx context.Context, b model.Batch) error {
		if err := first.Write(ctx, b); err != nil {
			return err
		}
		if len(b.PullRequests) > 0 && !once { // after the first page is written
			once = true
			cancel()
		}
		return nil
	})
	if _, err := Run(ctx, o, st, sink, []string{"acme/b"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want canceled", err)
	}
	if len(first.b.PullRequests) != 100 {
		t.Fatalf("first run wrote %d pull requests, want a page of 100", len(first.b.PullRequests))
	}
	mark := len(f.Log())
	second := &memSink{}
	stats, err := Run(context.Background(), o, st, second, []string{"acme/b"})
	if err != nil {
		t.Fatal(err)
	}
	if stats.GraphQLQueries != 2 || len(second.b.PullRequests) != 150 {
		t.Errorf("resumed: stats %+v, %d pull requests, requests %v", stats, len(second.b.PullRequests), f.Log()[mark:])
	}
	seen := map[int]bool{}
	for _, p := range append(first.b.PullRequests, second.b.PullRequests...) {
		if seen[p.Number] {
			t.Errorf("#%d written twice", p.Number)
		}
		seen[p.Number] = true
	}
	if len(seen) != 250 {
		t.Errorf("%d distinct pull requests, want 250", len(seen))
	}
}

// TestGraphQLRerunOfUnprotectedRepository: on the GraphQL path, an
// unchanged re-run of a repository without branch protection makes one
// request that is not 304, the GraphQL query: the list of protected
// branches answers 304, and the protection probe (whose 404 would carry no
// ETag) is not made.
func TestGraphQLRerunOfUnprotectedRepository(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 30, 10)
	repo.Protected = false
	f := githubfake.New(t, repo)
	o := gqlOpts(f.URL, &fakeClock{now: now0})
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
	miss := notModifiedMisses(f.Log()[before:])
	if len(miss) != 2 || !strings.HasPrefix(miss[0], "200 POST /graphql") {
		t.Errorf("re-run requests that were not 304: %v", miss)
	}
}
