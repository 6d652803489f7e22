package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

// TestBackfillMatchesWebhooks learns one history three ways, through the
// real binary: by webhooks only, by `backfill github` only (against a
// GitHub-compatible server: pull requests over GraphQL, the rest over
// REST), and by both. The findings must be the
// same, without a duplicate subject. CM-6 is left out on purpose: the REST
// API has the current branch protection only, not the history of changes
// the webhooks carry (ingest/backfill's doc lists what differs).
func TestBackfillMatchesWebhooks(t *testing.T) {
	repo := githubfake.Scenario("acme/ledger", 40, 10)
	gh := githubfake.New(t, repo)
	cfgPath, bfPath := backfillConfig(t, gh.URL)

	webhookOnly := func(dir string) {
		c := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0")
		if _, err := sendAll(context.Background(), "http://"+c.addr+"/webhooks/github", testSecret, repo.Deliveries(githubfake.Since), 4); err != nil {
			t.Fatal(err)
		}
		// Settled twice over: on a loaded machine one second without a
		// change is not yet the end of 450 deliveries.
		for i, prev := 0, settled(t, c.addr); i < 10; i++ {
			next := settled(t, c.addr)
			if len(next) == len(prev) {
				break
			}
			prev = next
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("serve: %v", err)
		}
	}
	backfill := func(dir string) string {
		return runChild(t, "backfill", "github", "--since", "2026-01-01", "--repo", "acme/ledger", "--config", bfPath, "--data-dir", dir)
	}
	findings := func(dir string) []model.Finding {
		var out struct {
			Findings []model.Finding `json:"findings"`
		}
		if err := json.Unmarshal([]byte(runChild(t, "findings", "--format", "json", "--config", cfgPath, "--data-dir", dir)), &out); err != nil {
			t.Fatal(err)
		}
		return out.Findings
	}
	wDir, bDir, both := t.TempDir(), t.TempDir(), t.TempDir()
	webhookOnly(wDir)
	summary := backfill(bDir)
	t.Log(strings.TrimSpace(summary))
	if !strings.Contains(summary, "40 merged PRs") || !strings.Contains(summary, "(4 direct)") {
		t.Fatalf("backfill summary: %s", summary)
	}
	// What the backfill learned is in the hash-chained raw log: every
	// response of the first run (all 200s).
	if out := runChild(t, "verify", "--config", cfgPath, "--data-dir", bDir); !strings.Contains(out, fmt.Sprintf("raw log intact: %d links", requestsOf(t, summary))) {
		t.Errorf("verify after backfill: %s, want a link per request of %q", out, summary)
	}
	// A re-run costs 304s, which GitHub does not count against the limit,
	// and one GraphQL query (of the pull requests updated since the first
	// run's newest), which has no conditional form.
	again := backfill(bDir)
	if m := regexp.MustCompile(`; (\d+) requests \((\d+) answered 304, (\d+) GraphQL queries`).FindStringSubmatch(again); m == nil ||
		atoi(m[1])-atoi(m[2]) != 1 || m[3] != "1" {
		t.Errorf("re-run: %s, want 304s and one GraphQL query", again)
	}
	// Requests per merged PR: this run (contributors and CM-7 on), and
	// one with CM-7 off.
	requests := func(summary string) int { return requestsOf(t, summary) }
	on := float64(requests(summary)) / 40
	noChecks := filepath.Join(t.TempDir(), "nochecks.yaml")
	text, err := os.ReadFile(bfPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noChecks, []byte(strings.Replace(string(text), "  required_checks: [ci/test]\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	off := float64(requests(runChild(t, "backfill", "github", "--since", "2026-01-01", "--repo", "acme/ledger", "--config", noChecks,
		"--data-dir", t.TempDir()))) / 40
	t.Logf("requests per merged PR: %.2f with CM-7 on, %.2f with it off", on, off)
	if on > 1.5 || off > 1.1 {
		t.Errorf("requests per merged PR: %.2f with CM-7 on (budget 1.5), %.2f with it off (budget 1.1)", on, off)
	}
	webhookOnly(both)
	backfill(both)

	w, b, wb := comparable(t, findings(wDir), false), comparable(t, findings(bDir), true), comparable(t, findings(both), false)
	if len(w) < 40*4 {
		t.Fatalf("webhook-only run has %d findings", len(w))
	}
	for _, c := range []struct {
		name string
		got  map[string]string
	}{{"backfill only", b}, {"webhooks and backfill", wb}} {
		for k, v := range w {
			if c.got[k] != v {
				t.Errorf("%s: %s\n  got  %s\n  want %s (webhooks)", c.name, k, c.got[k], v)
			}
		}
		for k, v := range c.got {
			if _, ok := w[k]; !ok {
				t.Errorf("%s: extra finding %s: %s", c.name, k, v)
			}
		}
	}
	// The history has what the comparison should cover.
	for _, want := range []string{
		"CM-1 acme/ledger@",   // direct pushes
		"AC-3 acme/ledger#28", // merged by carol after she left
		"CM-2 acme/ledger#11",
		"CM-2 acme/ledger#5", // approved by bob, who pushed a fix-up: a contributor
		"CM-7 acme/ledger#6", // ci/test failed on the final head
	} {
		found := false
		for k, v := range w {
			if strings.HasPrefix(k, want) && strings.Contains(v, "fail") {
				found = true
			}
		}
		if !found {
			t.Errorf("no failing finding %q in the history", want)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// requestsOf reads the request count of a backfill summary.
func requestsOf(t *testing.T, summary string) int {
	t.Helper()
	m := regexp.MustCompile(`; (\d+) requests`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no request count in %q", summary)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// backfillConfig returns two configurations: testConfig with carol
// leaving on day 2 (the PRs she merges after that fail AC-3, which a
// backfill sees only by learning who merged each PR), and the same with a
// GitHub token and base URL pointing at the fake, for `backfill`. serve
// gets no token, so that no reconciliation backfills the webhook-only run.
func backfillConfig(t *testing.T, baseURL string) (serve, backfill string) {
	t.Helper()
	_, serve = testConfigExtra(t, "changeproof", `  required_checks: [ci/test]
identities:
  - name: carol
    logins: [carol]
    terminated_at: "2026-01-02T00:00:00Z"
`)
	text, err := os.ReadFile(serve)
	if err != nil {
		t.Fatal(err)
	}
	withToken := strings.Replace(string(text), "github:\n", fmt.Sprintf("github:\n  token: %q\n  base_url: %q\n", githubfake.Token, baseURL), 1)
	backfill = filepath.Join(t.TempDir(), "backfill.yaml")
	if err := os.WriteFile(backfill, []byte(withToken), 0o600); err != nil {
		t.Fatal(err)
	}
	return serve, backfill
}

// comparable renders findings as "rule subject" -> "outcome | reason |
// evidence without delivery ids", leaving out CM-6 and the provisional
// direct pushes that depend on arrival order. With fromBackfill, every
// delivery id must carry the "backfill:" mark.
func comparable(t *testing.T, fs []model.Finding, fromBackfill bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range fs {
		if f.Rule == "CM-6" || (f.Outcome == model.NotApplicable && strings.HasPrefix(f.Reason, "merge of ")) {
			continue
		}
		if fromBackfill {
			for _, id := range f.Evidence.DeliveryIDs {
				if !strings.HasPrefix(id, "backfill:") {
					t.Errorf("%s %s: delivery id %q without the backfill mark", f.Rule, f.Subject, id)
				}
			}
		}
		ev := f.Evidence
		ev.DeliveryIDs = nil
		// The REST API keeps a dismissed review's state as "dismissed" only,
		// where the webhooks also told what it was before (documented).
		ev.Reviews = append([]model.ReviewVerdict(nil), ev.Reviews...)
		for i, r := range ev.Reviews {
			if !r.Counted && strings.HasSuffix(r.Why, " was dismissed") {
				ev.Reviews[i].State, ev.Reviews[i].Why = "dismissed", "dismissed by "+r.Reviewer
			}
		}
		sort.Strings(ev.Labels)
		e, _ := json.Marshal(ev)
		key := f.Rule + " " + f.Subject
		if _, dup := out[key]; dup {
			t.Errorf("duplicate finding %s", key)
		}
		out[key] = fmt.Sprintf("%s | %s | %s", f.Outcome, f.Reason, e)
	}
	return out
}

func TestBackfillProgress(t *testing.T) {
	p := backfill.Progress{Repo: "acme/ledger", Phase: "pulls", PRs: 100, Requests: 120, ReposDone: 1, Repos: 4, TotalPRs: 250,
		NotModified: 7, RateRemaining: 4870, RateReset: time.Date(2026, 1, 1, 13, 5, 0, 0, time.Local)}
	var plain strings.Builder
	(&backfillProgress{w: &plain}).Report(p)
	if want := "acme/ledger: pulls (100 PRs; run: 1/4 repositories, 120 requests, 7 answered 304 · rate budget 4870 left, resets 13:05)\n"; plain.String() != want {
		t.Errorf("plain line %q, want %q", plain.String(), want)
	}
	var tty strings.Builder
	bp := &backfillProgress{w: &tty, tty: true}
	bp.Report(p)
	bp.Report(p) // within 100 ms: not redrawn
	p.Phase, p.ReposDone = "done", 2
	bp.Report(p) // a finished repository is always drawn
	bp.Done()
	want := "\r\033[K[#####...............] 1/4 repositories · 250 PRs · 120 requests (7 × 304) · rate budget 4870 left, resets 13:05 · acme/ledger pulls" +
		"\r\033[K[##########..........] 2/4 repositories · 250 PRs · 120 requests (7 × 304) · rate budget 4870 left, resets 13:05 · acme/ledger done\n"
	if tty.String() != want {
		t.Errorf("terminal output %q, want %q", tty.String(), want)
	}
}
