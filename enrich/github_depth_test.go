package enrich_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// TestParseGitHubContributions: a synchronize sender, and the sender,
// pusher and commit authors and committers of a push to a branch other than
// the default one, are recorded as contributions; default-branch pushes and
// branch deletions add none.
func TestParseGitHubContributions(t *testing.T) {
	at := time.Date(2026, 2, 3, 8, 0, 1, 0, time.UTC)
	pr := fixture.PR{Repo: ledger, Number: 7, Author: "alice", HeadRef: "feature", HeadSHA: fixture.SHA("h"), CreatedAt: at.Add(-time.Hour)}
	sha := fixture.SHA("bob's fixup")
	got := parse(t, delivery("pull_request", "sync-1", fixture.Synchronize(pr, "bob", fixture.SHA("h"), sha)))
	want := []model.Contribution{
		{Repo: "acme/ledger", PRNumber: 7, HeadRepo: "acme/ledger", HeadRef: "feature", Login: "alice", How: model.ContribOpened,
			At: at.Add(-time.Hour), DeliveryID: "sync-1", ReceivedAt: recv},
		{Repo: "acme/ledger", PRNumber: 7, HeadRef: "feature", Login: "bob", How: model.ContribPushed, SHA: sha,
			At: at.Add(-time.Hour), DeliveryID: "sync-1", ReceivedAt: recv},
	}
	sameBatch(t, model.Batch{Contributions: got.Contributions}, model.Batch{Contributions: want})

	c1, c2 := fixture.SHA("c1"), fixture.SHA("c2")
	push := fixture.Push(fixture.PushEvent{Repo: ledger, Ref: "refs/heads/feature", Before: fixture.SHA("h"), After: c2,
		Pusher: "bob", PushedAt: at, Commits: []fixture.Commit{
			{SHA: c1, Message: "wip", Author: "carol", Committer: "bob", Timestamp: at},
			{SHA: c2, Message: "fix", Author: "bob", Timestamp: at}}})
	got = parse(t, delivery("push", "push-1", push))
	c := func(login, how, sha string) model.Contribution {
		return model.Contribution{Repo: "acme/ledger", HeadRef: "feature", Login: login, How: how, SHA: sha, At: at,
			DeliveryID: "push-1", ReceivedAt: recv}
	}
	want = []model.Contribution{c("bob", model.ContribPushed, c2), c("carol", model.ContribAuthored, c1),
		c("bob", model.ContribCommitted, c1), c("bob", model.ContribAuthored, c2), c("bob", model.ContribCommitted, c2)}
	sameBatch(t, model.Batch{Contributions: got.Contributions}, model.Batch{Contributions: want})

	for name, body := range map[string][]byte{
		"default branch": fixture.Push(fixture.PushEvent{Repo: ledger, Before: c1, After: c2, Pusher: "bob", PushedAt: at,
			Commits: []fixture.Commit{{SHA: c2, Author: "bob", Timestamp: at}}}),
		"branch deleted": fixture.Push(fixture.PushEvent{Repo: ledger, Ref: "refs/heads/feature", Before: c2,
			After: fixture.ZeroSHA, Deleted: true, Pusher: "bob", PushedAt: at}),
	} {
		if got := parse(t, delivery("push", "push-2", body)); len(got.Contributions) != 0 {
			t.Errorf("%s: contributions %+v, want none", name, got.Contributions)
		}
	}
}

func TestParseGitHubChecks(t *testing.T) {
	at := time.Date(2026, 2, 3, 8, 0, 1, 0, time.UTC)
	sha := fixture.SHA("final")
	got := parse(t, delivery("check_run", "cr-1", fixture.CheckRun(fixture.CheckRunEvent{Repo: ledger, ID: 77, Name: "ci/test",
		HeadSHA: sha, Conclusion: "failure", StartedAt: at.Add(-time.Minute), CompletedAt: at})))
	running := parse(t, delivery("check_run", "cr-2", fixture.CheckRun(fixture.CheckRunEvent{Repo: ledger, ID: 78, Action: "created",
		Name: "lint", HeadSHA: sha, StartedAt: at})))
	status := parse(t, delivery("status", "st-1", fixture.Status(fixture.StatusEvent{Repo: ledger, ID: 9, SHA: sha,
		Context: "ci/test", State: "success", UpdatedAt: at.Add(time.Minute), TargetURL: "https://ci.example/9"})))
	want := []model.CheckResult{
		{Repo: "acme/ledger", SHA: sha, Name: "ci/test", Kind: model.CheckKindRun, State: "failure", At: at, ID: 77,
			URL: "https://github.com/acme/ledger/runs/77", DeliveryID: "cr-1", ReceivedAt: recv},
		{Repo: "acme/ledger", SHA: sha, Name: "lint", Kind: model.CheckKindRun, State: "in_progress", At: at, ID: 78,
			URL: "https://github.com/acme/ledger/runs/78", DeliveryID: "cr-2", ReceivedAt: recv},
		{Repo: "acme/ledger", SHA: sha, Name: "ci/test", Kind: model.CheckKindStatus, State: "success", At: at.Add(time.Minute),
			ID: 9, URL: "https://ci.example/9", DeliveryID: "st-1", ReceivedAt: recv},
	}
	all := append(append(got.Checks, running.Checks...), status.Checks...)
	sameBatch(t, model.Batch{Checks: all}, model.Batch{Checks: want})
}

func TestParseGitHubRulesets(t *testing.T) {
	at := time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC)
	body := fixture.RepositoryRuleset(fixture.RulesetEvent{Repo: ledger, Action: "edited", ID: 42, Name: "main protection",
		Enforcement: "evaluate", EnforcementFrom: "active", DeletedRules: []string{"pull_request"}, Sender: "carol",
		Bypass: []fixture.BypassActor{{Type: "RepositoryRole", ID: 5}, {Type: "DeployKey"}}, UpdatedAt: at})
	got := parse(t, delivery("repository_ruleset", "rs-1", body))
	want := model.RulesetEvent{Repo: "acme/ledger", Org: "acme", DefaultBranch: "trunk", RulesetID: 42, DeliveryID: "rs-1",
		Action: "edited", Sender: "carol", Name: "main protection", SourceType: "Repository", Target: "branch",
		Enforcement: "evaluate", Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{},
		BypassActors: []string{"RepositoryRole:5", "DeployKey:null"}, ReviewRuleDeleted: true, EnforcementFrom: "active",
		URL: "https://github.com/acme/ledger/rules/42", OccurredAt: at, ReceivedAt: recv}
	sameBatch(t, model.Batch{Rulesets: got.Rulesets}, model.Batch{Rulesets: []model.RulesetEvent{want}})

	org := parse(t, delivery("repository_ruleset", "rs-2", fixture.RepositoryRuleset(fixture.RulesetEvent{Org: "acme",
		Action: "created", ID: 7, Name: "org main", Include: []string{"refs/heads/main"},
		Review: &fixture.ReviewRule{RequiredApprovals: 2, DismissStale: true}, UpdatedAt: at,
		RepoInclude: []string{"payments-*"}, RepoExclude: []string{"payments-web"}})))
	if len(org.Rulesets) != 1 || org.Rulesets[0].Repo != "" || org.Rulesets[0].Org != "acme" ||
		!org.Rulesets[0].HasReviewRule || org.Rulesets[0].RequiredApprovals != 2 || org.Rulesets[0].RepoTargeting != "name" ||
		!slices.Equal(org.Rulesets[0].RepoInclude, []string{"payments-*"}) || !slices.Equal(org.Rulesets[0].RepoExclude, []string{"payments-web"}) {
		t.Errorf("organisation ruleset = %+v", org.Rulesets)
	}
}

// Damaged payloads of the newer events are dead letters naming the field.
func TestParseGitHubDepthMalformed(t *testing.T) {
	sha := fixture.SHA("x")
	at := time.Date(2026, 2, 3, 8, 0, 1, 0, time.UTC)
	for _, tc := range []struct {
		event, field string
		body         []byte
		want         string
	}{
		{"check_run", "check_run.name", fixture.CheckRun(fixture.CheckRunEvent{Repo: ledger, Name: "t", HeadSHA: sha, Conclusion: "success", CompletedAt: at}), "no check_run.name"},
		{"check_run", "check_run.completed_at", fixture.CheckRun(fixture.CheckRunEvent{Repo: ledger, Name: "t", HeadSHA: sha, Conclusion: "success", CompletedAt: at}), "without completed_at"},
		{"status", "sha", fixture.Status(fixture.StatusEvent{Repo: ledger, SHA: sha, Context: "c", State: "success", UpdatedAt: at}), "is not a full commit SHA"},
		{"status", "updated_at", fixture.Status(fixture.StatusEvent{Repo: ledger, SHA: sha, Context: "c", State: "success", UpdatedAt: at}), "updated_at"},
		{"repository_ruleset", "repository_ruleset.id", fixture.RepositoryRuleset(fixture.RulesetEvent{Repo: ledger, ID: 1}), "no repository_ruleset.id"},
	} {
		body := delJSON(t, tc.body, tc.field)
		if tc.field == "updated_at" {
			body = delJSON(t, body, "created_at")
		}
		var b model.Batch
		err := enrich.ParseGitHub(delivery(tc.event, "bad", body), &b)
		if err == nil || !errors.Is(err, enrich.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s without %s: error %v, want ErrMalformed with %q", tc.event, tc.field, err, tc.want)
		}
	}
}

// FuzzParseGitHubDepth: no payload of the newer events panics the parser,
// and whatever it accepts is a record with the fields the controls need.
func FuzzParseGitHubDepth(f *testing.F) {
	at := time.Date(2026, 2, 3, 8, 0, 1, 0, time.UTC)
	pr := fixture.PR{Repo: ledger, Number: 7, Author: "alice", HeadRef: "feature", HeadSHA: fixture.SHA("h"), CreatedAt: at}
	seeds := map[string][]byte{
		"check_run":          fixture.Template(fixture.TemplateCheckRunCompleted),
		"status":             fixture.Template(fixture.TemplateStatus),
		"repository_ruleset": fixture.Template(fixture.TemplateRulesetEdited),
		"pull_request":       fixture.Synchronize(pr, "bob", fixture.SHA("h"), fixture.SHA("i")),
	}
	events := []string{"check_run", "status", "repository_ruleset", "pull_request", "push"}
	for i, e := range events {
		if s, ok := seeds[e]; ok {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		// The REST ruleset (backfill) is read by the same code.
		if r, err := enrich.ParseRuleset(body); err == nil && r.RulesetID == 0 {
			t.Fatalf("accepted ruleset without id: %+v", r)
		} else if err != nil && !errors.Is(err, enrich.ErrMalformed) {
			t.Fatalf("ParseRuleset error %v is not ErrMalformed", err)
		}
		event := events[int(which)%len(events)]
		var b model.Batch
		if err := enrich.ParseGitHub(delivery(event, "f", body), &b); err != nil {
			if !errors.Is(err, enrich.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		for _, c := range b.Checks {
			if len(c.SHA) != 40 || c.Name == "" || c.State == "" || c.At.IsZero() {
				t.Fatalf("accepted check result %+v", c)
			}
		}
		for _, r := range b.Rulesets {
			if r.RulesetID == 0 || (r.Repo == "" && r.Org == "") {
				t.Fatalf("accepted ruleset %+v", r)
			}
		}
		for _, c := range b.Contributions {
			if c.Login == "" || c.Repo == "" {
				t.Fatalf("accepted contribution %+v", c)
			}
		}
	})
}
