package main

import (
	"context"
	"fmt"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// TestOrgRulesetWebhook, through the real server and HTTP: an organisation
// ruleset's webhook (no repository in the payload) arrives after the
// organisation's repositories were judged; it has them judged again, and
// CM-6 judges it once for each in-scope repository it targets by name
// (not the excluded one, not the one out of scope), with the reason text
// of a repository ruleset.
func TestOrgRulesetWebhook(t *testing.T) {
	_, cfgPath := testConfig(t, "orgruleset")
	c := startChild(t, "serve", "--config", cfgPath, "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0")
	url := "http://" + c.addr + "/webhooks/github"
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var pushes []fixture.Delivery
	for _, name := range []string{"ledger", "payments-api", "payments-web", "sandbox"} {
		repo := fixture.Repo{FullName: "acme/" + name, DefaultBranch: "main"}
		after := fixture.SHA("org-" + name)
		body := fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("org-before-" + name), After: after, Pusher: "alice",
			PushedAt: at, Commits: []fixture.Commit{{SHA: after, Message: "PAY-1 change", Author: "alice", Timestamp: at}}})
		pushes = append(pushes, fixture.Delivery{Event: "push", ID: fixture.DeliveryID(string(body)), Body: body})
	}
	if _, err := sendAll(context.Background(), url, testSecret, pushes, 1); err != nil {
		t.Fatal(err)
	}
	before := settled(t, c.addr)
	for _, v := range before {
		if v.Rule == "CM-6" {
			t.Fatalf("CM-6 finding before any ruleset: %+v", v)
		}
	}

	body := fixture.RepositoryRuleset(fixture.RulesetEvent{Org: "acme", Action: "edited", ID: 9, Name: "org main",
		Include: []string{"~DEFAULT_BRANCH"}, RepoInclude: []string{"ledger", "payments-*", "sandbox"}, RepoExclude: []string{"payments-web"},
		Review: &fixture.ReviewRule{RequiredApprovals: 1, DismissStale: true}, Bypass: []fixture.BypassActor{{Type: "RepositoryRole", ID: 5}},
		Sender: "carol", UpdatedAt: at.Add(30 * time.Minute)})
	id := fixture.DeliveryID(string(body))
	if _, err := sendAll(context.Background(), url, testSecret, []fixture.Delivery{{Event: "repository_ruleset", ID: id, Body: body}}, 1); err != nil {
		t.Fatal(err)
	}
	reason := `ruleset "org main" (id 9) edited by carol: bypass actor RepositoryRole:5 not allowed`
	// Judged once for the organisation, though it protects two of its
	// repositories (ledger, payments-api; payments-web is excluded).
	want := []verdict{
		{"CM-6", "acme:ruleset/9@" + id, "fail", reason},
	}
	var got []verdict
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		vs, err := fetchFindings(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, v := range vs {
			if v.Rule == "CM-6" {
				got = append(got, v)
			}
		}
		if len(got) >= len(want) {
			break
		}
	}
	// A little longer: no third subject may follow.
	time.Sleep(time.Second)
	vs, err := fetchFindings(c.addr)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, v := range vs {
		if v.Rule == "CM-6" {
			got = append(got, v)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Subject < got[j].Subject })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CM-6 findings\n  got  %v\n  want %v", got, want)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("serve: %v", err)
	}
}
