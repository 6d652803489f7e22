package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
)

// testAdminToken is the admin token withAdmin adds.
const testAdminToken = "e2e-admin-token-0123456789"

// withAdmin writes a copy of the configuration at path with an admin token
// (name ops) added to server.tokens.
func withAdmin(t *testing.T, path string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), "  tokens:\n", "  tokens:\n    - {name: ops, role: admin, token: \""+testAdminToken+"\"}\n", 1)
	if s == string(text) {
		t.Fatal("no server.tokens in the configuration")
	}
	out := filepath.Join(t.TempDir(), "admin.yaml")
	if err := os.WriteFile(out, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMaintenanceAgainstRunningServer runs every maintenance command
// against a running serve with an admin token (the server does the work,
// nothing stops), refuses an auditor's token with 403, and then runs the
// same commands on the data dir once the server stopped: the answers are
// the same, verify's JSON byte for byte.
func TestMaintenanceAgainstRunningServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	gh := githubfake.New(t, githubfake.Scenario("acme/ledger", 12, 4))
	_, bfPath := backfillConfig(t, gh.URL)
	cfgPath := withAdmin(t, bfPath)
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	base := "http://" + srv.addr
	admin := []string{"--server", base, "--token", testAdminToken}
	auditor := []string{"--server", base, "--token", testToken}

	// A dead letter (signed JSON, but no push GitHub sends) and a conflict
	// (its id again with other bytes).
	odd := fixture.Delivery{Event: "push", ID: "m-odd", Body: []byte(`{"ref":"refs/heads/main"}`)}
	if _, err := sendAll(context.Background(), base+"/webhooks/github", testSecret, []fixture.Delivery{odd}, 1); err != nil {
		t.Fatal(err)
	}
	odd.Body = []byte(`{"ref":"refs/heads/other"}`)
	_, _ = sendAll(context.Background(), base+"/webhooks/github", testSecret, []fixture.Delivery{odd}, 1)

	// While serve holds the data dir, the offline command says to use --server.
	if _, errOut, code := runCLI(t, "stats", "--config", cfgPath, "--data-dir", dir); code != exitFailed || !strings.Contains(errOut, "--server") {
		t.Fatalf("stats on a served data dir: exit %d, stderr %q", code, errOut)
	}

	// Backfill runs in the server as a job; the command follows it. GitHub
	// asks it to wait 3s first (a secondary rate limit), so a second
	// backfill meanwhile meets the running one.
	gh.AddFaults(githubfake.Fault{Path: "/repos/acme/ledger", Status: http.StatusForbidden, Header: map[string]string{"Retry-After": "3"},
		Body: `{"message":"You have exceeded a secondary rate limit"}`})
	first := exec.Command(os.Args[0], "-test.run=^$")
	first.Env = append(os.Environ(), "CHANGEPROOF_E2E_ARGS="+strings.Join(append([]string{"backfill", "github", "--since", "2026-01-01",
		"--repo", "acme/ledger", "--repo", "other/outside"}, admin...), "\x1f"))
	var firstOut, firstErr strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	var job api.BackfillJob
	for deadline := time.Now().Add(30 * time.Second); job.State != api.JobRunning && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_ = tryGetAdmin(base+"/v1/admin/backfill", &job) // 404 until the job starts
	}
	if job.State != api.JobRunning {
		t.Fatalf("no backfill job running: %+v", job)
	}
	if _, errOut, code := runCLI(t, append([]string{"backfill", "github", "--since", "2026-02-01"}, admin...)...); code != exitFailed ||
		!strings.Contains(errOut, "409 Conflict: a backfill is already running") {
		t.Errorf("a second backfill: exit %d, stderr %q", code, errOut)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("backfill --server: %v\n%s", err, firstErr.String())
	}
	out, errOut := firstOut.String(), firstErr.String()
	if !strings.Contains(out, "backfilled 1 repositories: 12 merged PRs") || !strings.Contains(out, "1 rate-limit waits") ||
		!strings.Contains(errOut, "skipping other/outside: not in scope.repos") {
		t.Fatalf("backfill --server:\nstdout %s\nstderr %s", out, errOut)
	}
	getAdmin(t, base+"/v1/admin/backfill", &job)
	if job.State != api.JobSucceeded || job.RequestedBy != "ops" || job.Result == nil || job.Result.PRs != 12 {
		t.Fatalf("the server's job: %+v", job)
	}
	settled(t, srv.addr)
	// What the backfill read was judged by the server's rules.
	if out := runChild(t, append([]string{"findings", "--repo", "acme/ledger", "--rule", "CM-2", "--format", "csv"}, auditor...)...); strings.Count(out, "acme/ledger#") != 12 {
		t.Errorf("CM-2 findings of the backfilled PRs:\n%s", out)
	}

	online := map[string]string{}
	commands := map[string][]string{
		"verify":      {"verify", "--format", "json"},
		"deadletters": {"deadletters", "--format", "json"},
		"conflicts":   {"conflicts", "--format", "json"},
		"stats":       {"stats"},
		"stats-json":  {"stats", "--format", "json"},
		"retry":       {"alerts", "retry"},
	}
	for name, args := range commands {
		out, errOut, code := runCLI(t, append(append([]string{}, args...), admin...)...)
		if code != 0 {
			t.Fatalf("%s --server (admin): exit %d: %s", name, code, errOut)
		}
		online[name] = out
		// An auditor may read evidence, not run maintenance.
		_, errOut, code = runCLI(t, append(append([]string{}, args...), auditor...)...)
		if code != exitFailed || !strings.Contains(errOut, "403 Forbidden: role auditor cannot run maintenance (needs admin)") {
			t.Errorf("%s --server (auditor): exit %d, stderr %q", name, code, errOut)
		}
	}
	_, errOut, code := runCLI(t, append([]string{"backfill", "github", "--since", "2026-01-01"}, auditor...)...)
	if code != exitFailed || !strings.Contains(errOut, "403 Forbidden") {
		t.Errorf("backfill --server (auditor): exit %d, stderr %q", code, errOut)
	}
	var rep api.VerifyReport
	if err := json.Unmarshal([]byte(online["verify"]), &rep); err != nil || !rep.OK || rep.BySource["github-rest"] == 0 || rep.BySource["github"] != 1 || rep.Conflicts != 1 {
		t.Errorf("verify --server: %v\n%s", err, online["verify"])
	}
	if !strings.Contains(online["deadletters"], `"delivery_id": "m-odd"`) || !strings.Contains(online["conflicts"], `"id": "m-odd"`) {
		t.Errorf("deadletters, conflicts --server:\n%s\n%s", online["deadletters"], online["conflicts"])
	}
	if online["retry"] != "0 failed alert(s) requeued\n" {
		t.Errorf("alerts retry --server: %q", online["retry"])
	}

	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	local := []string{"--config", cfgPath, "--data-dir", dir}
	for name, args := range commands {
		out, errOut, code := runCLI(t, append(append([]string{}, args...), local...)...)
		if code != 0 {
			t.Fatalf("%s on the data dir: exit %d: %s", name, code, errOut)
		}
		switch name {
		case "stats":
			// Background merges may collapse replaced rows; the raw log
			// (append-only) and the list of tables stay.
			if firstLines(out, 2) != firstLines(online[name], 2) || len(strings.Split(out, "\n")) != len(strings.Split(online[name], "\n")) {
				t.Errorf("stats: on the data dir\n%s\nfrom the server\n%s", out, online[name])
			}
		case "stats-json":
			// The same tables in the same order, and the raw log's
			// figures (append-only: distinct = stored) equal.
			tablesOf := func(s string) ([]string, api.TableCount) {
				var doc struct{ Tables []api.TableCount }
				if err := json.Unmarshal([]byte(s), &doc); err != nil {
					t.Fatalf("stats --format json: %v\n%s", err, s)
				}
				var names []string
				var raw api.TableCount
				for _, tc := range doc.Tables {
					names = append(names, tc.Table)
					if tc.Table == "raw_deliveries" {
						raw = tc
					}
				}
				return names, raw
			}
			localNames, localRaw := tablesOf(out)
			onlineNames, onlineRaw := tablesOf(online[name])
			if !slices.Equal(localNames, onlineNames) || localRaw != onlineRaw || localRaw.Stored == 0 || localRaw.Distinct != localRaw.Stored {
				t.Errorf("stats --format json: on the data dir\n%s\nfrom the server\n%s", out, online[name])
			}
		default:
			if out != online[name] {
				t.Errorf("%s: on the data dir\n%s\nfrom the server\n%s", name, out, online[name])
			}
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// getAdmin GETs url with the admin token into v.
func getAdmin(t *testing.T, url string, v any) {
	t.Helper()
	if err := tryGetAdmin(url, v); err != nil {
		t.Fatal(err)
	}
}

func tryGetAdmin(url string, v any) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
