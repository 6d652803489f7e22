package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// revokedSlack is an incoming webhook that answers 404 no_service (Slack's
// answer for a removed webhook: refused for good, never retried by the
// sender) until told to accept, and records every message.
type revokedSlack struct {
	*httptest.Server
	mu        sync.Mutex
	accepting bool
	refused   []string // first line of each refused message
	delivered []string
}

func newRevokedSlack(t *testing.T) *revokedSlack {
	s := &revokedSlack{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m slack.Message
		_ = json.Unmarshal(body, &m)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.accepting {
			s.refused = append(s.refused, alertKey(m.Text))
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "no_service")
			return
		}
		s.delivered = append(s.delivered, alertKey(m.Text))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *revokedSlack) accept() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepting = true
}

func (s *revokedSlack) seen() (refused, delivered []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...), append([]string(nil), s.delivered...)
}

// TestAlertsRetry: an alert Slack refuses for good stays failed; once the
// webhook works again, `changeproof alerts retry --server` reopens it and
// it is sent exactly once; nothing else is sent again.
func TestAlertsRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	sink := newRevokedSlack(t)
	_, base := testConfig(t, "changeproof")
	text, err := os.ReadFile(withAdmin(t, base))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "alerts.yaml")
	extra := fmt.Sprintf("alerts:\n  grace: 1s\n  api_url: http://changeproof.test\n  slack:\n    webhook_url: %q\n", sink.URL+"/services/T0/B0/X")
	if err := os.WriteFile(cfgPath, append(text, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")

	// One merged pull request approved on an older commit: CM-3 fails.
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	merged := time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	pr := fixture.PR{Repo: repo, Number: 7, Author: "alice", MergedBy: "bob", Title: "PAY-7 fees",
		HeadRef: "fees", HeadSHA: fixture.SHA("h7"), MergeCommitSHA: fixture.SHA("m7"), Merged: true, MergedAt: merged, ClosedAt: merged}
	ds := []fixture.Delivery{
		{Event: "pull_request_review", ID: "r-rv", Body: fixture.PullRequestReview("submitted", fixture.ReviewEvent{PR: pr, ReviewID: 70,
			Reviewer: "carol", State: "approved", CommitID: fixture.SHA("older"), SubmittedAt: merged.Add(-time.Hour)})},
		{Event: "pull_request", ID: "r-pr", Body: fixture.PullRequest("closed", pr)},
	}
	if _, err := sendAll(context.Background(), "http://"+srv.addr+"/webhooks/github", testSecret, ds, 1); err != nil {
		t.Fatal(err)
	}
	settled(t, srv.addr)
	// Slack refuses: the sender marks the alerts failed and does not retry.
	var refused []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if refused, _ = sink.seen(); len(refused) > 0 {
			break
		}
	}
	if len(refused) == 0 {
		t.Fatal("no alert reached Slack")
	}
	time.Sleep(6 * time.Second) // more than a sender round: a failed alert is not sent again
	refused, delivered := sink.seen()
	if len(delivered) != 0 || !containsPrefix(refused, "CM-3 ") {
		t.Fatalf("before the retry: refused %q, delivered %q", refused, delivered)
	}
	seen := map[string]int{}
	for _, k := range refused {
		seen[k]++
	}
	if len(seen) != len(refused) {
		t.Fatalf("a refused alert was sent twice before the retry: %q", refused)
	}

	// The webhook works again; the operator reopens the failed alerts.
	sink.accept()
	out, errOut, code := runCLI(t, "alerts", "retry", "--server", "http://"+srv.addr, "--token", testAdminToken)
	if code != 0 || out != fmt.Sprintf("%d failed alert(s) requeued\n", len(refused)) {
		t.Fatalf("alerts retry: exit %d, stdout %q, stderr %q (refused %q)", code, out, errOut, refused)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if _, delivered = sink.seen(); len(delivered) >= len(refused) {
			break
		}
	}
	time.Sleep(6 * time.Second) // more than a sender round: nothing goes out twice
	_, delivered = sink.seen()
	got := map[string]int{}
	for _, k := range delivered {
		got[k]++
	}
	for k := range seen {
		if got[k] != 1 {
			t.Errorf("%q sent %d times after the retry, want once", k, got[k])
		}
	}
	if len(delivered) != len(refused) {
		t.Errorf("after the retry: delivered %q, refused before %q", delivered, refused)
	}
	// Nothing failed is left: a second retry, on the data dir once the
	// server stopped, reopens none.
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	if out := runChild(t, "alerts", "retry", "--config", cfgPath, "--data-dir", dir); out != "0 failed alert(s) requeued\n" {
		t.Errorf("alerts retry on the data dir: %q", out)
	}
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
