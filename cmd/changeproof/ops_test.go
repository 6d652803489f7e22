package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

const ingestToken = "e2e-ingest-token"

// opsEnv is an in-process stack for deploy and access tests.
type opsEnv struct {
	a    *app
	base string
}

func startOps(t *testing.T, database, extra string) *opsEnv {
	return startOpsB(t, database, extra, t)
}

// startOpsB is startOps for benchmarks too: cfgT writes the config file.
func startOpsB(t testing.TB, database, extra string, cfgT *testing.T) *opsEnv {
	t.Helper()
	dir, err := storetest.DataDir()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := testConfigExtra(cfgT, database, extra)
	a, err := newApp(context.Background(), cfg, dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	addr, err := a.start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &opsEnv{a: a, base: "http://" + addr}
}

func (e *opsEnv) post(t *testing.T, path string, body []byte) (int, ingest.Report) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var rep ingest.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode, rep
}

func (e *opsEnv) webhooks(t *testing.T, ds ...fixture.Delivery) {
	t.Helper()
	if _, err := sendAll(context.Background(), e.base+"/webhooks/github", testSecret, ds, 1); err != nil {
		t.Fatal(err)
	}
}

func (e *opsEnv) settle(t *testing.T) {
	t.Helper()
	if err := e.a.waitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *opsEnv) verdicts(t *testing.T, rule string) map[string]string {
	t.Helper()
	fs, err := e.a.store.Findings(context.Background(), store.FindingQuery{Rule: rule})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range fs {
		m[f.Subject] = string(f.Outcome) + ": " + f.Reason
	}
	return m
}

// chainHistory is one repository's default branch: PR #1 (approved), PR #2
// (self-approved: CM-2 fails), a direct push by dave (CM-1 fails), PR #4
// (approved), each with its push.
type chainHistory struct {
	deliveries []fixture.Delivery
	sha        map[string]string // m1, m2, d3, m4
}

func buildChain() chainHistory {
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	t0 := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	h := chainHistory{sha: map[string]string{"base": fixture.SHA("base")}}
	prev := h.sha["base"]
	step := 0
	add := func(n int, author, reviewer string) {
		step++
		at := t0.Add(time.Duration(step) * time.Hour)
		key := fmt.Sprintf("m%d", n)
		h.sha[key] = fixture.SHA("chain-" + key)
		pr := fixture.PR{Repo: repo, Number: n, Author: author, MergedBy: author, Title: fmt.Sprintf("PAY-%d change", n),
			HeadRef: key, HeadSHA: fixture.SHA("head-" + key), MergeCommitSHA: h.sha[key], Merged: true, MergedAt: at, ClosedAt: at}
		h.deliveries = append(h.deliveries,
			fixture.Delivery{Event: "pull_request_review", ID: "rv-" + key, Body: fixture.PullRequestReview("submitted",
				fixture.ReviewEvent{PR: pr, ReviewID: int64(100 + n), Reviewer: reviewer, State: "approved", SubmittedAt: at.Add(-time.Minute)})},
			fixture.Delivery{Event: "pull_request", ID: "pr-" + key, Body: fixture.PullRequest("closed", pr)},
			fixture.Delivery{Event: "push", ID: "push-" + key, Body: fixture.Push(fixture.PushEvent{Repo: repo, Before: prev,
				After: h.sha[key], Pusher: author, PushedAt: at})})
		prev = h.sha[key]
	}
	add(1, "alice", "bob")
	add(2, "carol", "carol")
	step++
	at := t0.Add(time.Duration(step) * time.Hour)
	h.sha["d3"] = fixture.SHA("chain-d3")
	h.deliveries = append(h.deliveries, fixture.Delivery{Event: "push", ID: "push-d3", Body: fixture.Push(fixture.PushEvent{
		Repo: repo, Before: prev, After: h.sha["d3"], Pusher: "dave", PushedAt: at,
		Commits: []fixture.Commit{{SHA: h.sha["d3"], Message: "PAY-3 tweak", Author: "dave", Timestamp: at}}})})
	prev = h.sha["d3"]
	add(4, "erin", "frank")
	return h
}

func deployLine(id, env, sha, status string, at time.Time) string {
	fin := fmt.Sprintf(`,"finished_at":%q`, at.Add(5*time.Minute).Format(time.RFC3339))
	if status == "in_progress" {
		fin = ""
	}
	return fmt.Sprintf(`{"id":%q,"service":"payments-api","environment":%q,"sha":%q,"status":%q,"actor":"ci","started_at":%q%s}`,
		id, env, sha, status, at.Format(time.RFC3339), fin)
}

func chainDeploys(h chainHistory) []byte {
	day := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	return []byte(strings.Join([]string{
		deployLine("d1", "production", h.sha["m1"], "success", day),
		deployLine("d2", "production", h.sha["m4"], "success", day.Add(2*time.Hour)),
		deployLine("d2-staging", "staging", h.sha["m4"], "success", day.Add(time.Hour)),
		deployLine("d3-failed", "production", h.sha["m2"], "failure", day.Add(90*time.Minute)),
		deployLine("d4-unknown", "production", fixture.SHA("never-pushed"), "success", day.Add(3*time.Hour)),
	}, "\n") + "\n")
}

func TestDeploysShipTheChain(t *testing.T) {
	h := buildChain()
	want := map[string]string{
		"payments-api@production@d1": "pass: ships 1 change, reviewed: acme/payments-api#1",
		"payments-api@production@d2": "fail: ships 2 changes that failed review: acme/payments-api#2 (CM-2), acme/payments-api@" + h.sha["d3"] + " (CM-1)",
		"payments-api@production@d4-unknown": "fail: deployed commit " + fixture.SHA("never-pushed") +
			" is not on the default branch of acme/payments-api (unknown or unmerged code)",
	}
	for _, order := range []string{"pushes first", "deploys first"} {
		t.Run(order, func(t *testing.T) {
			e := startOps(t, "ops_chain_"+strings.ReplaceAll(order, " ", "_"), aliceIdentity)
			if order == "pushes first" {
				e.webhooks(t, h.deliveries...)
			}
			code, rep := e.post(t, "/v1/deploys", chainDeploys(h))
			if code != http.StatusAccepted || rep.Accepted != 5 || len(rep.Rejected) != 0 {
				t.Fatalf("deploys: %d %+v", code, rep)
			}
			if order == "deploys first" {
				e.settle(t)
				if got := e.verdicts(t, "CM-5")["payments-api@production@d1"]; !strings.HasPrefix(got, "fail: deployed commit") {
					t.Fatalf("before its push arrived, d1 = %q", got)
				}
				e.webhooks(t, h.deliveries...)
			}
			e.settle(t)
			got := e.verdicts(t, "CM-5")
			if len(got) != len(want) {
				t.Errorf("CM-5 subjects = %v (staging and failed deploys are not subjects)", got)
			}
			for s, w := range want {
				if got[s] != w {
					t.Errorf("%s = %q\n want %q", s, got[s], w)
				}
			}
			// The bundle of a shipped change names the deploy that shipped it.
			b, err := e.a.api.Service.BundleFor(context.Background(), "acme/payments-api", 2, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Deploys) != 1 || b.Deploys[0].Subject != "payments-api@production@d2" || b.Deploys[0].Outcome != model.Fail {
				t.Fatalf("bundle deploys = %+v", b.Deploys)
			}
		})
	}
}

func TestWaivedChangesShipClean(t *testing.T) {
	h := buildChain()
	extra := aliceIdentity + fmt.Sprintf(`waivers:
  - {rule: CM-2, subject: "acme/payments-api#2", reason: "reviewed in pairing", approved_by: cto, expires: 2099-01-01}
  - {rule: CM-1, subject: "acme/payments-api@%s", reason: "config hotfix, reviewed after", approved_by: cto, expires: 2099-01-01}
`, h.sha["d3"])
	e := startOps(t, "ops_waived", extra)
	e.webhooks(t, h.deliveries...)
	if code, rep := e.post(t, "/v1/deploys", chainDeploys(h)); code != http.StatusAccepted || rep.Accepted != 5 {
		t.Fatalf("deploys: %d %+v", code, rep)
	}
	e.settle(t)
	want := "pass: ships 3 changes, all reviewed or waived: acme/payments-api#2, acme/payments-api@" + h.sha["d3"] +
		", acme/payments-api#4; waived: acme/payments-api#2 (CM-2), acme/payments-api@" + h.sha["d3"] + " (CM-1)"
	if got := e.verdicts(t, "CM-5")["payments-api@production@d2"]; got != want {
		t.Fatalf("d2 = %q\nwant %q", got, want)
	}
}

func TestDeployLinesRejectedWithReasons(t *testing.T) {
	e := startOps(t, "ops_reject", aliceIdentity)
	body := strings.Join([]string{
		deployLine("ok-1", "production", fixture.SHA("x"), "success", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)),
		`{"id":"bad-1","service":"payments-api","environment":"production","sha":"abc","status":"success","actor":"ci","started_at":"2026-02-03T00:00:00Z","finished_at":"2026-02-03T00:01:00Z"}`,
		`{"id":"bad-2","service":"nope","environment":"production","sha":"` + fixture.SHA("y") + `","status":"done","actor":"ci","started_at":"2026-02-03T00:00:00Z"}`,
		`not json`,
		deployLine("ok-2", "staging", fixture.SHA("z"), "in_progress", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)),
	}, "\n")
	code, rep := e.post(t, "/v1/deploys", []byte(body))
	if code != http.StatusAccepted || rep.Accepted != 2 {
		t.Fatalf("%d %+v", code, rep)
	}
	want := []string{
		`2: sha: must be 40 hex characters, got "abc"`,
		`3: service: unknown service "nope" (not in scope.services) and no repo given; status: must be success, failure or in_progress, got "done"`,
		`4: not JSON: invalid character 'o' in literal null (expecting 'u')`,
	}
	var got []string
	for _, r := range rep.Rejected {
		got = append(got, fmt.Sprintf("%d: %s", r.Line, r.Error))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rejected:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.settle(t) // stored by the pipeline once the log has them
	n, _ := e.a.store.Count(context.Background(), "deploys")
	if n != 2 {
		t.Fatalf("deploys stored = %d, want 2", n)
	}
	// An auditor token cannot ingest.
	req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/deploys", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("auditor ingest: %d, want 403", resp.StatusCode)
	}
}

// sshdID is the id the sshd format gives a line: hex SHA-256 of the system,
// a newline and the line.
func sshdID(system, line string) string {
	sum := sha256.Sum256([]byte(system + "\n" + line))
	return hex.EncodeToString(sum[:])
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
