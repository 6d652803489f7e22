package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
)

// appSetup serves acme's two repositories and globex/api through two
// installations of App 4242, and acme/payments-api, which no installation
// holds yet; it returns the fake and a configuration (scope acme/*) that
// authenticates as the App with extra appended to its github section.
func appSetup(t *testing.T, githubExtra string) (*githubfake.Server, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "changeproof.private-key.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	f := githubfake.New(t, githubfake.Scenario("acme/ledger", 6, 0), githubfake.Scenario("acme/billing", 4, 0),
		githubfake.Scenario("globex/api", 3, 0), githubfake.Scenario("acme/payments-api", 2, 0))
	f.EnableApp(githubfake.AppOptions{ID: 4242, Key: &key.PublicKey, Installations: []githubfake.AppInstallation{
		{ID: 101, Account: "acme", Repos: []string{"acme/ledger", "acme/billing"}},
		{ID: 202, Account: "globex", Repos: []string{"globex/api"}},
	}})
	return f, appConfig(t, keyPath, f.URL, githubExtra)
}

// appConfig is the test configuration (scope acme/*) authenticating as
// App 4242 with the key at keyPath.
func appConfig(t *testing.T, keyPath, baseURL, githubExtra string) string {
	t.Helper()
	_, path := testConfigExtra(t, "changeproof", "")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	app := fmt.Sprintf("github:\n  app_id: 4242\n  app_private_key_file: %q\n  base_url: %q\n%s", keyPath, baseURL, githubExtra)
	if err := os.WriteFile(path, []byte(strings.Replace(string(text), "github:\n", app, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBackfillAsGitHubApp: `backfill github` with no --repo reads every
// repository of the App's installations that is in scope, each with its
// installation's token, and skips the out-of-scope one.
func TestBackfillAsGitHubApp(t *testing.T) {
	f, cfg := appSetup(t, "")
	out, err := runChildErr("backfill", "github", "--since", "2026-01-01", "--config", cfg, "--data-dir", t.TempDir())
	if err != nil {
		t.Fatalf("backfill: %v\n%s", err, out)
	}
	for _, want := range []string{"skipping globex/api: not in scope.repos", "backfilled 2 repositories: 10 merged PRs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if f.TokensIssued(101) != 1 || len(f.Requested("/repos/globex/api")) != 0 || len(f.Requested("/repos/acme/payments-api")) != 0 {
		t.Errorf("tokens %d; requests %v", f.TokensIssued(101), f.Log())
	}
	for _, l := range f.Log() {
		if strings.HasPrefix(l, "401 ") {
			t.Errorf("fake answered %s", l)
		}
	}
}

// TestBackfillAsGitHubAppErrors: the App and a token together are refused
// by the configuration; a key file that is not a key names the key.
func TestBackfillAsGitHubAppErrors(t *testing.T) {
	_, cfg := appSetup(t, "  token: \"github_pat_0123456789abcdef\"\n")
	out, err := runChildErr("backfill", "github", "--since", "2026-01-01", "--config", cfg, "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(out, "github.token: set together with github.app_id; set only one") {
		t.Fatalf("App and token: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = appConfig(t, bad, "http://127.0.0.1:9", "")
	out, err = runChildErr("backfill", "github", "--since", "2026-01-01", "--config", cfg, "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(out, "github.app_private_key_file: "+bad+": not a PEM file") {
		t.Fatalf("bad key: %v\n%s", err, out)
	}
}

// TestServeReconcilesAddedInstallationRepos: serve, installed as an App
// with hourly reconciliation, reconciles the installations' in-scope
// repositories at start; when a repository is added to an installation,
// the App's installation_repositories delivery (accepted like any other
// webhook) starts a round at once that reads the new repository.
func TestServeReconcilesAddedInstallationRepos(t *testing.T) {
	f, cfg := appSetup(t, "  reconcile_every: 1h\n")
	c := startChild(t, "serve", "--config", cfg, "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	defer func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		_ = c.cmd.Wait()
	}()
	waitFor := func(what, path string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(f.Requested(path)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no request for %s in 60s; fake log %v", what, path, f.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("first round", "/repos/acme/billing/branches/main/protection")
	waitFor("first round", "/repos/acme/ledger/branches/main/protection")
	f.AddInstallationRepos(101, "acme/payments-api")
	d := fixture.Delivery{Event: "installation_repositories", ID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		Body: fixture.Template("installation_repositories.added")}
	code, err := fixture.Post(context.Background(), http.DefaultClient, "http://"+c.addr+"/webhooks/github", testSecret, d)
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("installation_repositories delivery: %d, %v", code, err)
	}
	waitFor("after installation_repositories", "/repos/acme/payments-api/branches/main/protection")
	if len(f.Requested("/repos/globex/api")) != 0 {
		t.Error("the out-of-scope repository was reconciled")
	}
}
