package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// runChildErr runs `changeproof <args>` and returns its output and error.
func runChildErr(args ...string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(args, "\x1f"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestQueryCommands checks findings, changes and evidence against the local
// data dir and against a running server: same answers, every format.
func TestQueryCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	_, cfgPath := testConfig(t, "changeproof")
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	merged := time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	pr := fixture.PR{Repo: repo, Number: 7, Author: "alice", MergedBy: "bob", Title: "PAY-7 fees",
		HeadRef: "fees", HeadSHA: fixture.SHA("h7"), MergeCommitSHA: fixture.SHA("m7"), Merged: true, MergedAt: merged, ClosedAt: merged}
	direct := fixture.SHA("direct")
	ds := []fixture.Delivery{
		{Event: "pull_request_review", ID: "q-rv", Body: fixture.PullRequestReview("submitted", fixture.ReviewEvent{PR: pr, ReviewID: 70,
			Reviewer: "carol", State: "approved", CommitID: fixture.SHA("older"), SubmittedAt: merged.Add(-time.Hour)})},
		{Event: "pull_request", ID: "q-pr", Body: fixture.PullRequest("closed", pr)},
		{Event: "push", ID: "q-push", Body: fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("m7"), After: direct,
			Pusher: "dave", PushedAt: merged.Add(time.Hour), Commits: []fixture.Commit{{SHA: direct, Message: "hotfix config", Author: "dave", Timestamp: merged.Add(time.Hour)}}})},
	}
	// Signed, JSON, but not a push GitHub would send: stored as a dead letter.
	ds = append(ds, fixture.Delivery{Event: "push", ID: "q-odd", Body: []byte(`{"ref":"refs/heads/main"}`)})
	if _, err := sendAll(context.Background(), "http://"+srv.addr+"/webhooks/github", testSecret, ds, 1); err != nil {
		t.Fatal(err)
	}
	settled(t, srv.addr)

	remote := []string{"--server", "http://" + srv.addr, "--token", testToken}
	staleReason := "approval by carol was for " + fixture.SHA("older") + ", final commit is " + fixture.SHA("h7")
	check := func(t *testing.T, where []string) {
		out := runChild(t, append([]string{"findings", "--rule", "CM-3", "--format", "csv"}, where...)...)
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[1][0] != "CM-3" || rows[1][1] != "acme/payments-api#7" || rows[1][2] != "fail" || rows[1][3] != staleReason {
			t.Fatalf("findings csv = %q", rows)
		}
		out = runChild(t, append([]string{"findings", "--outcome", "fail", "--from", "2026-02-10", "--to", "2026-02-10", "--format", "json"}, where...)...)
		var fs struct {
			Findings []struct{ Rule, Subject, Outcome string } `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &fs); err != nil {
			t.Fatalf("findings json: %v\n%s", err, out)
		}
		var got []string
		for _, f := range fs.Findings {
			got = append(got, f.Rule+" "+f.Subject)
		}
		want := "CM-1 acme/payments-api@" + direct + ",CM-3 acme/payments-api#7,CM-4 acme/payments-api@" + direct
		if strings.Join(got, ",") != want {
			t.Fatalf("failing findings on 2026-02-10 = %v, want %s", got, want)
		}
		out = runChild(t, append([]string{"changes", "--format", "table"}, where...)...)
		if !strings.Contains(out, "acme/payments-api#7") || !strings.Contains(out, "acme/payments-api@"+direct) || !strings.Contains(out, "2 changes") {
			t.Fatalf("changes table:\n%s", out)
		}
		out = runChild(t, append([]string{"evidence", "acme/payments-api#7"}, where...)...)
		for _, want := range []string{"acme/payments-api#7 (pull_request)", "carol", "approved", "counted", staleReason} {
			if !strings.Contains(out, want) {
				t.Fatalf("evidence lacks %q:\n%s", want, out)
			}
		}
	}
	t.Run("server", func(t *testing.T) { check(t, remote) })
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	t.Run("local data dir", func(t *testing.T) { check(t, []string{"--config", cfgPath, "--data-dir", dir}) })

	out := runChild(t, "deadletters", "--config", cfgPath, "--data-dir", dir)
	if !strings.Contains(out, "q-odd") || !strings.Contains(out, "push delivery q-odd: malformed payload: no repository.full_name") || !strings.Contains(out, "1 dead letters") {
		t.Fatalf("deadletters:\n%s", out)
	}
	if out, err := runChildErr("evidence", "acme/payments-api#999", "--config", cfgPath, "--data-dir", dir); err == nil || !strings.Contains(out, "change acme/payments-api#999: not found") {
		t.Fatalf("unknown change: %v\n%s", err, out)
	}
	if out, err := runChildErr("findings", "--format", "xml", "--data-dir", dir); err == nil || !strings.Contains(out, `--format: want table|json|csv, got "xml"`) {
		t.Fatalf("bad format: %v\n%s", err, out)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("policy:\n  min_aprovals: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runChildErr("serve", "--config", bad, "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, `"policy.min_aprovals"`) {
		t.Fatalf("unknown key: %v\n%s", err, out)
	}
	t.Setenv("CHANGEPROOF_POLICY_MIN_APPROVALS", "two")
	out, err = runChildErr("findings", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(out, "CHANGEPROOF_POLICY_MIN_APPROVALS (policy.min_approvals)") {
		t.Fatalf("bad env value: %v\n%s", err, out)
	}
}

func TestUnauthenticatedRead(t *testing.T) {
	_, cfgPath := testConfig(t, "changeproof")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", filepath.Join(t.TempDir(), "d"), "--addr", "127.0.0.1:0")
	for token, want := range map[string]int{"": 401, "nope": 401, "e2e-ingest-token": 403, testToken: 200} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr+"/v1/findings", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}

// TestIngestCommand feeds files through `changeproof ingest`: the same
// validation and report as the HTTP endpoints.
func TestIngestCommand(t *testing.T) {
	_, cfgPath := testConfigExtra(t, "changeproof", accessConfig)
	dir := filepath.Join(t.TempDir(), "data")
	deploys := filepath.Join(t.TempDir(), "deploys.ndjson")
	good := deployLine("cli-1", "production", fixture.SHA("cli"), "success", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC))
	if err := os.WriteFile(deploys, []byte(good+"\n{\"id\":\"cli-2\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runChildErr("ingest", "deploy", "--file", deploys, "--config", cfgPath, "--data-dir", dir)
	if err == nil || !strings.Contains(out, `"accepted": 1`) || !strings.Contains(out, `"line": 2`) ||
		!strings.Contains(out, "1 lines rejected (listed above); 1 accepted") {
		t.Fatalf("ingest deploy: %v\n%s", err, out)
	}
	auth := filepath.Join(t.TempDir(), "auth.log")
	line := "Feb  2 12:00:01 bastion sshd[4242]: Accepted publickey for carol from 10.0.0.7 port 52811 ssh2: ED25519 SHA256:Zm9vYmFy"
	if err := os.WriteFile(auth, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runChildErr("ingest", "access", "--file", auth, "--format", "sshd", "--system", "bastion", "--config", cfgPath, "--data-dir", dir)
	if err != nil || !strings.Contains(out, `"accepted": 1`) {
		t.Fatalf("ingest access: %v\n%s", err, out)
	}
	berlin := "Feb  2 12:00:02 bastion sshd[4243]: Accepted publickey for carol from 10.0.0.7 port 52812 ssh2: ED25519 SHA256:Zm9vYmFy"
	if err := os.WriteFile(auth, []byte(berlin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runChildErr("ingest", "access", "--file", auth, "--format", "syslog", "--system", "bastion", "--timezone", "Europe/Berlin",
		"--year", "1850", "--config", cfgPath, "--data-dir", dir)
	if err == nil || !strings.Contains(out, `--year: want a year from 1970 to 2299, got "1850"`) {
		t.Fatalf("ingest access --year 1850: %v\n%s", err, out)
	}
	out, err = runChildErr("ingest", "access", "--file", auth, "--format", "syslog", "--system", "bastion", "--timezone", "Europe/Berlin",
		"--year", "2025", "--config", cfgPath, "--data-dir", dir)
	if err != nil || !strings.Contains(out, `"accepted": 1`) {
		t.Fatalf("ingest access --timezone --year: %v\n%s", err, out)
	}
	out = runChild(t, "findings", "--rule", "AC-1", "--format", "json", "--config", cfgPath, "--data-dir", dir)
	if !strings.Contains(out, "2025-02-02T11:00:02Z") {
		t.Fatalf("the Berlin line is not at 2025-02-02T11:00:02Z:\n%s", out)
	}
	out = runChild(t, "findings", "--rule", "AC-1", "--format", "csv", "--config", cfgPath, "--data-dir", dir)
	if !strings.Contains(out, "bastion:"+sshdID("bastion", line)+",pass,carol is authorized on bastion") {
		t.Fatalf("AC-1 after ingest access:\n%s", out)
	}
	out = runChild(t, "findings", "--rule", "CM-5", "--format", "csv", "--config", cfgPath, "--data-dir", dir)
	if !strings.Contains(out, "payments-api@production@cli-1,fail,deployed commit "+fixture.SHA("cli")) {
		t.Fatalf("CM-5 after ingest deploy:\n%s", out)
	}
}

func TestBackfillCommandChecksItsInputs(t *testing.T) {
	_, cfgPath := testConfig(t, "changeproof")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"backfill"}, "usage: changeproof backfill github"},
		{[]string{"backfill", "github", "--config", cfgPath}, "--since: required"},
		{[]string{"backfill", "github", "--since", "March", "--config", cfgPath}, `--since: want YYYY-MM-DD, got "March"`},
		{[]string{"backfill", "github", "--since", "2026-01-01", "--config", cfgPath, "--data-dir", t.TempDir()}, "github.token: required for backfill"},
	} {
		out, err := runChildErr(c.args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("changeproof %v: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
}
