package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

const (
	testSecret = "e2e-webhook-secret"
	testToken  = "e2e-auditor-token"
)

// testConfig is the demo organisation's scope and identities, as the
// generator's expectations assume.
func testConfig(t *testing.T, database string) (config.Config, string) {
	return testConfigExtra(t, database, aliceIdentity)
}

const aliceIdentity = `identities:
  - name: alice
    logins: [alice, alice-alt]
`

// testConfigExtra is testConfig with more YAML appended (sections the base
// does not set).
func testConfigExtra(t *testing.T, database, extra string) (config.Config, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "changeproof.yaml")
	text := fmt.Sprintf(`server:
  tokens:
    - {name: auditor, role: auditor, token: %q}
    - {name: ci, role: ingest, token: "e2e-ingest-token"}
github:
  webhook_secret: %q
clickhouse:
  database: %s
scope:
  repos: ["acme/*"]
  exclude_repos: ["acme/sandbox"]
  services:
    payments-api: {repos: [acme/payments-api]}
    payments-web: {repos: [acme/payments-web]}
    ledger: {repos: [acme/ledger]}
policy:
  require_ticket: true
`, testToken, testSecret, database) + extra
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWithEnv(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, path
}

// checkOutcomes compares current findings with what the generator meant
// each subject to show.
func checkOutcomes(t *testing.T, fs []model.Finding, want map[string]map[string]model.Outcome) {
	t.Helper()
	got := map[string]model.Finding{}
	for _, f := range fs {
		got[f.Rule+" "+f.Subject] = f
	}
	var bad []string
	for rule, subjects := range want {
		for subject, outcome := range subjects {
			f, ok := got[rule+" "+subject]
			// A merge push that was never judged before its PR arrived has
			// no provisional finding to withdraw.
			if !ok && outcome == model.NotApplicable && strings.Contains(subject, "@") {
				continue
			}
			if !ok {
				bad = append(bad, fmt.Sprintf("%s %s: no finding, want %s", rule, subject, outcome))
				continue
			}
			if f.Outcome != outcome {
				bad = append(bad, fmt.Sprintf("%s %s: %s (%s), want %s", rule, subject, f.Outcome, f.Reason, outcome))
			}
			delete(got, rule+" "+subject)
		}
	}
	for k, f := range got {
		if f.Outcome == model.NotApplicable && strings.HasPrefix(f.Reason, "merge of ") {
			continue // a withdrawn provisional subject, judged as its PR
		}
		bad = append(bad, fmt.Sprintf("%s: unexpected finding %s (%s)", k, f.Outcome, f.Reason))
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("... and %d more", len(bad)-20))
		}
		t.Fatalf("%d findings differ from the generated history's intent:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}

// TestDemoHistoryThroughPipeline sends the demo organisation's history as
// signed webhooks over HTTP, concurrently (so in scrambled order), and
// checks every finding against what the history was built to show.
func TestDemoHistoryThroughPipeline(t *testing.T) {
	dir, err := storetest.DataDir()
	if err != nil {
		t.Fatal(err)
	}
	hist := demoorg.Generate(demoorg.Options{Seed: 7, Now: time.Now().UTC(), PRs: 120, Operations: true})
	cfg := orgConfig(t, "e2e_demo", hist)
	a, err := newApp(context.Background(), cfg, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sendAll(ctx, "http://"+addr+"/webhooks/github", testSecret, hist.Deliveries, 8); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sendOperations(ctx, "http://"+addr, ingestToken, hist); err != nil {
		t.Fatal(err)
	}
	if err := a.waitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	fs, err := a.store.Findings(ctx, store.FindingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, fs, hist.Expect.Outcomes)
	for _, rule := range []string{"CM-5", "AC-1", "AC-2", "AC-3"} {
		if len(hist.Expect.Outcomes[rule]) == 0 {
			t.Fatalf("the history has no %s subjects to check", rule)
		}
	}
	// What each deploy shipped, in chain order, as the generator built it.
	shipped := 0
	for _, f := range fs {
		want, ok := hist.Expect.Shipped[f.Subject]
		if f.Rule != "CM-5" || !ok {
			continue
		}
		shipped++
		if strings.Join(f.Evidence.Shipped, " ") != strings.Join(want, " ") {
			t.Errorf("%s shipped %v, want %v", f.Subject, f.Evidence.Shipped, want)
		}
	}
	if shipped == 0 {
		t.Fatal("no deploy's shipped changes were checked")
	}

	// The same history again, in order this time: nothing changes.
	before, _ := a.store.Findings(ctx, store.FindingQuery{History: true})
	if _, err := sendAll(ctx, "http://"+addr+"/webhooks/github", testSecret, hist.Deliveries, 1); err != nil {
		t.Fatal(err)
	}
	if err := a.waitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := a.store.Findings(ctx, store.FindingQuery{History: true})
	if len(after) != len(before) {
		t.Fatalf("re-sending every delivery changed the findings history: %d -> %d rows", len(before), len(after))
	}
	var raw []struct {
		N uint64 `json:"n"`
	}
	if err := storetest.DB(a.store).Query(ctx, "SELECT count() AS n FROM raw_deliveries WHERE source = 'github'", nil, &raw); err != nil {
		t.Fatal(err)
	}
	if raw[0].N != uint64(len(hist.Deliveries)) {
		t.Fatalf("raw_deliveries holds %d GitHub deliveries, want %d", raw[0].N, len(hist.Deliveries))
	}
}

// TestSignedDeliveryBecomesFinding is the foundation's promise in small: a
// signed merge of a self-approved PR becomes a self-explaining fail, a
// forged one leaves no trace.
func TestSignedDeliveryBecomesFinding(t *testing.T) {
	dir, err := storetest.DataDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := testConfig(t, "e2e_single")
	a, err := newApp(context.Background(), cfg, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/webhooks/github"
	ctx := context.Background()
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	merged := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	pr := fixture.PR{Repo: repo, Number: 42, Author: "alice", MergedBy: "alice", Title: "PAY-42 round up",
		HeadRef: "round", HeadSHA: fixture.SHA("head42"), MergeCommitSHA: fixture.SHA("merge42"),
		Merged: true, MergedAt: merged, ClosedAt: merged}
	review := fixture.Delivery{Event: "pull_request_review", ID: "rv-42", Body: fixture.PullRequestReview("submitted",
		fixture.ReviewEvent{PR: pr, ReviewID: 4200, Reviewer: "alice-alt", State: "approved", SubmittedAt: merged.Add(-time.Minute)})}
	closed := fixture.Delivery{Event: "pull_request", ID: "pr-42", Body: fixture.PullRequest("closed", pr)}

	forged := closed
	if code, err := fixture.Post(ctx, http.DefaultClient, url, "forger", forged); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("forged: %d %v", code, err)
	}
	for _, d := range []fixture.Delivery{review, closed} {
		if code, err := fixture.Post(ctx, http.DefaultClient, url, testSecret, d); err != nil || code != http.StatusAccepted {
			t.Fatalf("%s: %d %v", d.ID, code, err)
		}
	}
	if err := a.waitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	fs, err := a.store.Findings(ctx, store.FindingQuery{Subject: "acme/payments-api#42"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range fs {
		got[f.Rule] = string(f.Outcome) + ": " + f.Reason
	}
	want := map[string]string{
		"CM-1": "pass: merged via pull request #42 by alice",
		"CM-2": "fail: approved only by the author (alice via alice-alt)",
		"CM-4": "pass: ticket PAY-42 in title",
	}
	for rule, w := range want {
		if got[rule] != w {
			t.Errorf("%s = %q, want %q", rule, got[rule], w)
		}
	}
	if _, ok := got["CM-3"]; ok {
		t.Errorf("CM-3 judged a PR that fails CM-2: %q", got["CM-3"])
	}
	raw, _ := a.store.Count(ctx, "raw_deliveries")
	if raw != 2 {
		t.Fatalf("raw_deliveries = %d, want 2 (the forged one leaves no trace)", raw)
	}
}

// orgConfig is the generated organisation's configuration (scope, systems,
// identities, waivers) with this test's tokens, secret and database.
func orgConfig(t *testing.T, database string, hist demoorg.History) config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "changeproof.yaml")
	text := fmt.Sprintf(`server:
  tokens:
    - {name: auditor, role: auditor, token: %q}
    - {name: ci, role: ingest, token: %q}
github:
  webhook_secret: %q
clickhouse:
  database: %s
policy:
  require_ticket: true
`, testToken, ingestToken, testSecret, database) + hist.Expect.ConfigYAML()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWithEnv(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
