package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/slack/slacktest"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/model"
)

// alertKey is what a message is about: its first line names the rule and
// the subject.
func alertKey(text string) string {
	first, _, _ := strings.Cut(text, "\n")
	return first
}

// TestAlertsExactlyOnceAcrossKill sends the demo history, kills the server
// with SIGKILL mid-stream, restarts it, re-sends everything, and expects one
// Slack message per failing subject (and break-glass use): none missing,
// none twice.
func TestAlertsExactlyOnceAcrossKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	sink := slacktest.New()
	defer sink.Close()
	_, cfgPath := testConfig(t, "changeproof")
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(t.TempDir(), "alerts.yaml")
	extra := fmt.Sprintf("alerts:\n  grace: 1s\n  api_url: http://changeproof.test\n  slack:\n    webhook_url: %q\n", sink.WebhookURL())
	if err := os.WriteFile(cfgPath, append(base, []byte(extra)...), 0o600); err != nil {
		t.Fatal(err)
	}
	hist := demoorg.Generate(demoorg.Options{Seed: 3, Now: time.Now().UTC(), PRs: 60})
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	srv := startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	_, killedAt := sendKilling(t, []string{srv.addr}, srv, hist.Deliveries, len(hist.Deliveries)*2/3, true)
	srv = startChild(t, "serve", "--config", cfgPath, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-format", "console")
	if _, err := sendAll(ctx, "http://"+srv.addr+"/webhooks/github", testSecret, hist.Deliveries, 4); err != nil {
		t.Fatal(err)
	}
	settled(t, srv.addr)

	// Which messages are owed: one per failing subject of an alerted rule.
	fs, err := fetchAll(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range fs {
		switch {
		case f.Outcome == model.Fail && strings.Contains(" CM-1 CM-2 CM-3 CM-5 CM-6 AC-1 AC-3 ", " "+f.Rule+" "):
			want[f.Rule+" "+f.Subject] = true
		}
	}
	if len(want) < 10 {
		t.Fatalf("only %d failing subjects: the history should have more", len(want))
	}
	// Wait for the sink to stop receiving (the direct pushes' grace is 1s).
	var got []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		texts := sink.Texts()
		if len(texts) >= len(want) && len(texts) == len(got) {
			break
		}
		got = texts
	}
	got = sink.Texts()
	verdicts, err := fetchHistory(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	_ = srv.cmd.Wait()
	seen := map[string]int{}
	firstAt := map[string]time.Time{}
	for _, r := range sink.Delivered() {
		key := alertKey(r.Message.Text)
		if seen[key] == 0 {
			firstAt[key] = r.At
		}
		seen[key]++
	}
	var bad []string
	for key, n := range seen {
		// The one window Slack leaves open: a message Slack took just as
		// the process was killed, before it could record the 2xx, goes out
		// again after the restart (at least once rather than lost).
		inWindow := firstAt[key].After(killedAt.Add(-250*time.Millisecond)) && firstAt[key].Before(killedAt.Add(100*time.Millisecond))
		if n > 2 || n == 2 && !inWindow {
			bad = append(bad, fmt.Sprintf("sent %d times: %s", n, key))
		}
	}
	for w := range want {
		rule, subject, _ := strings.Cut(w, " ")
		found := false
		for key := range seen {
			if strings.HasPrefix(key, rule+" ") && mentions(key, subject) {
				found = true
			}
		}
		if !found {
			bad = append(bad, "never sent: "+w)
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("%d messages for %d failing subjects:\n%s", len(got), len(want), strings.Join(bad, "\n"))
	}
	// A message beyond those is only allowed for a subject that did fail
	// once (e.g. a direct push whose PR arrived after its grace, because
	// the server was down in between).
	for key := range seen {
		ok := false
		for _, f := range verdicts {
			if f.Outcome == model.Fail && strings.HasPrefix(key, f.Rule+" ") && mentions(key, f.Subject) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("a message for a subject that never failed: %s", key)
		}
	}
}

// fetchHistory returns every recorded verdict from a server.
func fetchHistory(addr string) ([]model.Finding, error) {
	fs, err := fetchAllQuery(addr, "?history=true")
	if err != nil {
		return nil, err
	}
	return fs, nil
}

// fetchAll returns every current finding from a server.
func fetchAll(addr string) ([]model.Finding, error) { return fetchAllQuery(addr, "") }

// fetchAllQuery returns /v1/findings<query>, with each finding's history
// flattened in when asked for.
func fetchAllQuery(addr, query string) ([]model.Finding, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/findings"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Findings []struct {
			model.Finding
			History []model.Finding `json:"history"`
		} `json:"findings"`
	}
	err = jsonDecode(resp, &out)
	var fs []model.Finding
	for _, f := range out.Findings {
		fs = append(fs, f.Finding)
		fs = append(fs, f.History...)
	}
	return fs, err
}

// mentions reports whether a message line names subject as a whole word.
func mentions(line, subject string) bool {
	i := strings.Index(line, subject)
	if i < 0 {
		return false
	}
	rest := line[i+len(subject):]
	return rest == "" || rest[0] == ' '
}
