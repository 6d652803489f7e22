package enrich_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// recv is the receipt time of every delivery parsed here. It is far from
// every event time in the payloads, so a record that took the receipt time
// where an event time belongs (or the reverse) shows.
var recv = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Values of the recorded @octokit/webhooks-examples templates.
const (
	tmplRepo      = "Codertocat/Hello-World"
	tmplHeadSHA   = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	tmplMergeSHA  = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
	tmplTitle     = "Update the README with new information."
	tmplBody      = "This is a pretty simple change that we need to pull into master."
	tmplPRURL     = "https://github.com/Codertocat/Hello-World/pull/2"
	tmplReviewID  = 237895671
	tmplReviewURL = "https://github.com/Codertocat/Hello-World/pull/2#pullrequestreview-237895671"
	tmplPushAfter = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func delivery(event, id string, body []byte) model.Delivery {
	return model.Delivery{Source: "github", Event: event, DeliveryID: id, ReceivedAt: recv, SHA256: "sha-" + id, Body: body}
}

// eventOf maps a template name to the X-GitHub-Event it is delivered as.
func eventOf(template string) string {
	ev, _, _ := strings.Cut(template, ".")
	return ev
}

// parse runs ParseGitHub on a fresh batch.
func parse(t *testing.T, d model.Delivery) model.Batch {
	t.Helper()
	var b model.Batch
	if err := enrich.ParseGitHub(d, &b); err != nil {
		t.Fatalf("ParseGitHub(%s %s): %v", d.Event, d.DeliveryID, err)
	}
	return b
}

// sameBatch compares the canonical records of two batches field by field,
// with times compared as instants, and reports every difference.
func sameBatch(t *testing.T, got, want model.Batch) {
	t.Helper()
	g, w := normBatch(got), normBatch(want)
	if reflect.DeepEqual(g, w) {
		return
	}
	check := func(kind string, gv, wv any) {
		if !reflect.DeepEqual(gv, wv) {
			gj, _ := json.MarshalIndent(gv, "", "  ")
			wj, _ := json.MarshalIndent(wv, "", "  ")
			t.Errorf("%s:\n got %s\nwant %s", kind, gj, wj)
		}
	}
	check("pull requests", g.PullRequests, w.PullRequests)
	check("reviews", g.Reviews, w.Reviews)
	check("pushes", g.Pushes, w.Pushes)
	check("protections", g.Protections, w.Protections)
	check("deploys", g.Deploys, w.Deploys)
	check("contributions", g.Contributions, w.Contributions)
	check("checks", g.Checks, w.Checks)
	check("rulesets", g.Rulesets, w.Rulesets)
	check("dead letters", g.DeadLetters, w.DeadLetters)
	check("deliveries", g.Deliveries, w.Deliveries)
	if !t.Failed() {
		t.Errorf("batches differ: got %+v, want %+v", got, want)
	}
}

// normBatch puts every time in UTC without a monotonic reading, so that
// DeepEqual compares instants (the parser must still return UTC; that is
// checked separately by assertUTC).
func normBatch(b model.Batch) model.Batch {
	n := func(t time.Time) time.Time { return t.UTC().Round(0) }
	var out model.Batch
	out.Deliveries = b.Deliveries
	out.DeadLetters = b.DeadLetters
	for _, p := range b.PullRequests {
		p.MergedAt, p.UpdatedAt, p.ReceivedAt = n(p.MergedAt), n(p.UpdatedAt), n(p.ReceivedAt)
		out.PullRequests = append(out.PullRequests, p)
	}
	for _, r := range b.Reviews {
		r.SubmittedAt, r.ReceivedAt = n(r.SubmittedAt), n(r.ReceivedAt)
		out.Reviews = append(out.Reviews, r)
	}
	for _, p := range b.Pushes {
		p.PushedAt, p.ReceivedAt = n(p.PushedAt), n(p.ReceivedAt)
		out.Pushes = append(out.Pushes, p)
	}
	for _, p := range b.Protections {
		p.OccurredAt, p.ReceivedAt = n(p.OccurredAt), n(p.ReceivedAt)
		out.Protections = append(out.Protections, p)
	}
	for _, d := range b.Deploys {
		d.StartedAt, d.FinishedAt, d.ReceivedAt = n(d.StartedAt), n(d.FinishedAt), n(d.ReceivedAt)
		out.Deploys = append(out.Deploys, d)
	}
	for _, c := range b.Contributions {
		c.At, c.ReceivedAt = n(c.At), n(c.ReceivedAt)
		out.Contributions = append(out.Contributions, c)
	}
	for _, c := range b.Checks {
		c.At, c.ReceivedAt = n(c.At), n(c.ReceivedAt)
		out.Checks = append(out.Checks, c)
	}
	for _, r := range b.Rulesets {
		r.OccurredAt, r.ReceivedAt = n(r.OccurredAt), n(r.ReceivedAt)
		out.Rulesets = append(out.Rulesets, r)
	}
	return out
}

// assertUTC fails when an event time the parser derived is not in UTC:
// the engine and the reports assume UTC.
func assertUTC(t *testing.T, b model.Batch) {
	t.Helper()
	bad := func(what string, tm time.Time) {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s = %v is not UTC", what, tm)
		}
	}
	for _, p := range b.PullRequests {
		bad("merged_at", p.MergedAt)
		bad("updated_at", p.UpdatedAt)
	}
	for _, r := range b.Reviews {
		bad("submitted_at", r.SubmittedAt)
	}
	for _, p := range b.Pushes {
		bad("pushed_at", p.PushedAt)
	}
	for _, p := range b.Protections {
		bad("occurred_at", p.OccurredAt)
	}
}

func TestParseGitHubRecordedTemplates(t *testing.T) {
	templatePR := func(id, action, state, mergeSHA, updated string) model.PullRequest {
		return model.PullRequest{Repo: tmplRepo, Number: 2, DeliveryID: id, Action: action, State: state,
			MergeCommitSHA: mergeSHA, HeadSHA: tmplHeadSHA, HeadRef: "changes", BaseRef: "master",
			DefaultBranch: "master", Author: "Codertocat", Title: tmplTitle, Body: tmplBody, URL: tmplPRURL,
			Labels: []string{"bug"}, UpdatedAt: utc(updated), ReceivedAt: recv}
	}
	protection := func(id, action string, occurred time.Time) model.ProtectionEvent {
		return model.ProtectionEvent{Repo: "octo-org/octo-repo", DeliveryID: id, Action: action, Sender: "Codertocat",
			RuleName: "production", ReviewEnforcement: "off", RequiredApprovals: 1, DismissStale: false,
			AdminEnforced: false, OccurredAt: occurred, ReceivedAt: recv}
	}
	// Every event carrying a full pull request records its head and
	// created_at, the window its branch's pushes count in.
	opened := func(id string) model.Contribution {
		return model.Contribution{Repo: tmplRepo, PRNumber: 2, HeadRepo: tmplRepo, HeadRef: "changes", Login: "Codertocat",
			How: model.ContribOpened, At: utc("2019-05-15T15:20:33Z"), DeliveryID: id, ReceivedAt: recv}
	}
	// rule.updated_at is "2021-08-19T12:16:32.000-04:00".
	ruleUpdated := time.Date(2021, 8, 19, 16, 16, 32, 0, time.UTC)

	dismissedPR := templatePR("t-review-dismissed", "review_dismissed", "open", tmplMergeSHA, "2019-05-15T15:20:38Z")
	dismissedPR.Body = "" // the dismissed example's pull request has an empty body
	// One real example mixes two repositories' URLs: the record keeps
	// pull_request.html_url as sent.
	dismissedPR.URL = "https://github.com/hellomouse/GNS/pull/902"

	tests := []struct {
		template string
		id       string
		want     model.Batch
	}{
		{
			template: fixture.TemplatePullRequestClosed, id: "t-pr-closed",
			// Closed without merging: merged false, merged_at null, merged_by null.
			want: model.Batch{PullRequests: []model.PullRequest{
				templatePR("t-pr-closed", "closed", "closed", tmplMergeSHA, "2019-05-15T15:21:18Z"),
			},
				Contributions: []model.Contribution{opened("t-pr-closed")}},
		},
		{
			template: fixture.TemplatePullRequestOpened, id: "t-pr-opened",
			// merge_commit_sha is null while the PR is open.
			want: model.Batch{PullRequests: []model.PullRequest{
				templatePR("t-pr-opened", "opened", "open", "", "2019-05-15T15:20:33Z"),
			},
				Contributions: []model.Contribution{opened("t-pr-opened")}},
		},
		{
			template: fixture.TemplateReviewSubmitted, id: "t-review-submitted",
			want: model.Batch{
				Reviews: []model.Review{{Repo: tmplRepo, PRNumber: 2, ReviewID: tmplReviewID, DeliveryID: "t-review-submitted",
					Action: "submitted", Reviewer: "Codertocat", State: "commented", CommitID: tmplHeadSHA,
					SubmittedAt: utc("2019-05-15T15:20:38Z"), URL: tmplReviewURL, ReceivedAt: recv}},
				PullRequests: []model.PullRequest{
					templatePR("t-review-submitted", "review_submitted", "open", tmplMergeSHA, "2019-05-15T15:20:38Z"),
				},
				Contributions: []model.Contribution{opened("t-review-submitted")},
			},
		},
		{
			template: fixture.TemplateReviewDismissed, id: "t-review-dismissed",
			want: model.Batch{
				Reviews: []model.Review{{Repo: tmplRepo, PRNumber: 2, ReviewID: tmplReviewID, DeliveryID: "t-review-dismissed",
					Action: "dismissed", Reviewer: "Codertocat", State: "dismissed", CommitID: tmplHeadSHA,
					SubmittedAt: utc("2019-05-15T15:20:38Z"), URL: tmplReviewURL, ReceivedAt: recv}},
				PullRequests:  []model.PullRequest{dismissedPR},
				Contributions: []model.Contribution{opened("t-review-dismissed")},
			},
		},
		{
			template: fixture.TemplatePush, id: "t-push",
			// The example creates master: recorded, with created set.
			// repository.pushed_at is 1557933657 (Unix seconds); the
			// head commit's timestamp (15:19:25) must not win over it.
			want: model.Batch{Pushes: []model.Push{{Repo: tmplRepo, Ref: "refs/heads/master",
				Before: fixture.ZeroSHA, After: tmplPushAfter, DeliveryID: "t-push", DefaultBranch: "master",
				Pusher: "Codertocat", Created: true, PushedAt: time.Unix(1557933657, 0).UTC(),
				CommitSHAs: []string{tmplPushAfter}, Messages: []string{"Initial commit"},
				URL: "https://github.com/Codertocat/Hello-World/commit/" + tmplPushAfter, ReceivedAt: recv}}},
		},
		{
			template: fixture.TemplateProtectionRuleCreated, id: "t-bpr-created",
			want: model.Batch{Protections: []model.ProtectionEvent{protection("t-bpr-created", "created", ruleUpdated)}},
		},
		{
			template: fixture.TemplateProtectionRuleEdited, id: "t-bpr-edited",
			want: model.Batch{Protections: []model.ProtectionEvent{protection("t-bpr-edited", "edited", ruleUpdated)}},
		},
		{
			template: fixture.TemplateProtectionRuleDeleted, id: "t-bpr-deleted",
			// A deleted rule's updated_at is its last edit, not the
			// deletion: the deletion happened at receipt.
			want: model.Batch{Protections: []model.ProtectionEvent{protection("t-bpr-deleted", "deleted", recv)}},
		},
		{
			// A push to the pull request's head branch: its sender is a
			// contributor, at the pull request's updated_at.
			template: fixture.TemplatePullRequestSynchronize, id: "t-pr-sync",
			want: model.Batch{
				PullRequests: []model.PullRequest{templatePR("t-pr-sync", "synchronize", "open", "", "2019-05-15T15:20:33Z")},
				Contributions: []model.Contribution{opened("t-pr-sync"), {Repo: tmplRepo, PRNumber: 2, HeadRef: "changes",
					Login: "Codertocat", How: model.ContribPushed, SHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
					At: utc("2019-05-15T15:20:33Z"), DeliveryID: "t-pr-sync", ReceivedAt: recv}},
			},
		},
		{
			template: fixture.TemplateCheckRunCompleted, id: "t-check-run",
			want: model.Batch{Checks: []model.CheckResult{{Repo: tmplRepo, SHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
				Name: "Octocoders-linter", Kind: model.CheckKindRun, State: "success", At: utc("2019-05-15T15:21:12Z"),
				ID: 128620228, URL: "https://github.com/Codertocat/Hello-World/runs/128620228", DeliveryID: "t-check-run", ReceivedAt: recv}}},
		},
		{
			template: fixture.TemplateStatus, id: "t-status",
			want: model.Batch{Checks: []model.CheckResult{{Repo: tmplRepo, SHA: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
				Name: "default", Kind: model.CheckKindStatus, State: "success", At: utc("2019-05-15T15:20:55Z"),
				ID: 6805126730, DeliveryID: "t-status", ReceivedAt: recv}}},
		},
		{
			template: fixture.TemplateRulesetEdited, id: "t-ruleset",
			want: model.Batch{Rulesets: []model.RulesetEvent{{Repo: "octo-org/octo-repo", Org: "octo-org", DefaultBranch: "main",
				RulesetID: 42, DeliveryID: "t-ruleset", Action: "edited", Sender: "Codertocat", Name: "main protection",
				SourceType: "Repository", Target: "branch", Enforcement: "active", Include: []string{"~DEFAULT_BRANCH"},
				Exclude: []string{}, BypassActors: []string{"RepositoryRole:5"}, HasReviewRule: true, RequiredApprovals: 1,
				DismissStale: true, URL: "https://github.com/octo-org/octo-repo/rules/42",
				OccurredAt: utc("2026-11-03T09:30:00Z"), ReceivedAt: recv}}},
		},
		{
			template: fixture.TemplatePing, id: "t-ping",
			want: model.Batch{},
		},
		{
			// A GitHub App's installation events are kept as evidence in
			// the raw log; they describe no change.
			template: fixture.TemplateInstallationCreated, id: "t-installation",
			want: model.Batch{},
		},
		{
			template: fixture.TemplateInstallationReposAdded, id: "t-installation-repos",
			want: model.Batch{},
		},
		{
			// A successful deployment_status is a deploy finished at the
			// status time; the service is filled in by the pipeline.
			template: fixture.TemplateDeploymentStatus, id: "t-deployment-status",
			want: model.Batch{Deploys: []model.Deploy{{ID: "gh-145988746", Source: "github", Environment: "production",
				SHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Repo: "Codertocat/Hello-World", Status: "success",
				Actor: "Codertocat", StartedAt: time.Date(2019, 5, 15, 15, 20, 53, 0, time.UTC),
				FinishedAt: time.Date(2019, 5, 15, 15, 20, 55, 0, time.UTC), ReceivedAt: recv}}},
		},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.template] = true
		t.Run(tc.template, func(t *testing.T) {
			got := parse(t, delivery(eventOf(tc.template), tc.id, fixture.Template(tc.template)))
			sameBatch(t, got, tc.want)
			assertUTC(t, got)
		})
	}
	for _, name := range fixture.Templates() {
		if !covered[name] {
			t.Errorf("template %s has no expected records", name)
		}
	}
}

func TestParseGitHubTemplatePushedAtIsUnixSeconds(t *testing.T) {
	// Guard the fixture assumption the table above rests on.
	if !bytes.Contains(fixture.Template(fixture.TemplatePush), []byte(`"pushed_at": 1557933657`)) {
		t.Fatal("push template no longer carries repository.pushed_at as Unix seconds")
	}
}

var (
	ledger  = fixture.Repo{FullName: "acme/ledger", DefaultBranch: "trunk"}
	created = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	mergeAt = time.Date(2026, 2, 2, 15, 30, 45, 0, time.UTC)
)

func TestParseGitHubBuiltPullRequests(t *testing.T) {
	head, merge := fixture.SHA("built head"), fixture.SHA("built merge")
	pr := fixture.PR{Repo: ledger, Number: 41, Author: "alice", MergedBy: "bob", Title: "LED-9 rounding",
		Body: "Fixes LED-9.", HeadRef: "fix/rounding", HeadSHA: head, MergeCommitSHA: merge,
		Labels: []string{"Hotfix", "bug"}, Merged: true, CreatedAt: created, MergedAt: mergeAt}
	base := model.PullRequest{Repo: "acme/ledger", Number: 41, State: "closed", Merged: true, MergedAt: mergeAt,
		MergeCommitSHA: merge, HeadSHA: head, HeadRef: "fix/rounding", BaseRef: "trunk", DefaultBranch: "trunk",
		Author: "alice", MergedBy: "bob", Title: "LED-9 rounding", Body: "Fixes LED-9.",
		URL: "https://github.com/acme/ledger/pull/41", Labels: []string{"Hotfix", "bug"}, UpdatedAt: mergeAt,
		ReceivedAt: recv}

	merged := base
	merged.DeliveryID, merged.Action = "b-merged", "closed"

	// Merged into another branch: recorded as sent; only the base says it
	// is not a change.
	release := pr
	release.BaseRef = "release-1"
	toRelease := merged
	toRelease.DeliveryID, toRelease.BaseRef = "b-release", "release-1"

	// Closed without merging, no body, no labels: merged_at, merged_by and
	// body are null; labels an empty list, never nil.
	unmerged := pr
	unmerged.Merged, unmerged.MergeCommitSHA, unmerged.Body, unmerged.Labels = false, "", "", nil
	unmerged.ClosedAt = mergeAt
	closed := base
	closed.DeliveryID, closed.Action, closed.Merged, closed.MergedAt = "b-closed", "closed", false, time.Time{}
	closed.MergedBy, closed.MergeCommitSHA, closed.Body, closed.Labels = "", "", "", []string{}

	opened := pr
	opened.Merged, opened.MergedAt, opened.MergeCommitSHA, opened.HeadSHA = false, time.Time{}, "", fixture.SHA("first head")
	open := base
	open.DeliveryID, open.Action, open.State, open.Merged, open.MergedAt, open.MergedBy = "b-opened", "opened", "open", false, time.Time{}, ""
	open.MergeCommitSHA, open.HeadSHA, open.UpdatedAt = "", fixture.SHA("first head"), created

	tests := []struct {
		name, id, action string
		pr               fixture.PR
		want             model.PullRequest
	}{
		{"merged", "b-merged", "closed", pr, merged},
		{"merged into another branch", "b-release", "closed", release, toRelease},
		{"closed unmerged", "b-closed", "closed", unmerged, closed},
		{"opened", "b-opened", "opened", opened, open},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, delivery("pull_request", tc.id, fixture.PullRequest(tc.action, tc.pr)))
			// Contributions are TestParseGitHubContributions' business.
			got.Contributions = nil
			sameBatch(t, got, model.Batch{PullRequests: []model.PullRequest{tc.want}})
			assertUTC(t, got)
		})
	}
}

func TestParseGitHubBuiltReviews(t *testing.T) {
	head := fixture.SHA("review head")
	pr := fixture.PR{Repo: ledger, Number: 7, Author: "alice", Title: "LED-1 ledger", HeadRef: "feature",
		HeadSHA: head, CreatedAt: created}
	submitted := mergeAt.Add(-time.Hour)
	snapshot := func(id, action string) model.PullRequest {
		return model.PullRequest{Repo: "acme/ledger", Number: 7, DeliveryID: id, Action: action, State: "open",
			HeadSHA: head, HeadRef: "feature", BaseRef: "trunk", DefaultBranch: "trunk", Author: "alice",
			Title: "LED-1 ledger", URL: "https://github.com/acme/ledger/pull/7", Labels: []string{},
			UpdatedAt: created, ReceivedAt: recv}
	}
	review := func(id, action, reviewer, state, commit string) model.Review {
		return model.Review{Repo: "acme/ledger", PRNumber: 7, ReviewID: 9001, DeliveryID: id, Action: action,
			Reviewer: reviewer, State: state, CommitID: commit, SubmittedAt: submitted,
			URL: "https://github.com/acme/ledger/pull/7#pullrequestreview-9001", ReceivedAt: recv}
	}
	old := fixture.SHA("older head")
	tests := []struct {
		name, id, action string
		ev               fixture.ReviewEvent
		want             model.Review
	}{
		{
			name: "approval, state lower-cased", id: "r-approved", action: "submitted",
			ev:   fixture.ReviewEvent{PR: pr, ReviewID: 9001, Reviewer: "bob", State: "APPROVED", SubmittedAt: submitted},
			want: review("r-approved", "submitted", "bob", "approved", head),
		},
		{
			name: "changes requested on an older commit", id: "r-changes", action: "submitted",
			ev: fixture.ReviewEvent{PR: pr, ReviewID: 9001, Reviewer: "bob", State: "Changes_Requested",
				CommitID: old, SubmittedAt: submitted},
			want: review("r-changes", "submitted", "bob", "changes_requested", old),
		},
		{
			name: "dismissed", id: "r-dismissed", action: "dismissed",
			// review.user is the reviewer; sender is who dismissed it.
			ev: fixture.ReviewEvent{PR: pr, ReviewID: 9001, Reviewer: "bob", State: "dismissed",
				SubmittedAt: submitted, Sender: "carol"},
			want: review("r-dismissed", "dismissed", "bob", "dismissed", head),
		},
		{
			name: "dismissed with a stale approved state", id: "r-dismissed-approved", action: "dismissed",
			// Whatever state a dismissal carries, the record says dismissed.
			ev: fixture.ReviewEvent{PR: pr, ReviewID: 9001, Reviewer: "bob", State: "approved",
				SubmittedAt: submitted, Sender: "carol"},
			want: review("r-dismissed-approved", "dismissed", "bob", "dismissed", head),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, delivery("pull_request_review", tc.id, fixture.PullRequestReview(tc.action, tc.ev)))
			// Contributions are TestParseGitHubContributions' business.
			got.Contributions = nil
			sameBatch(t, got, model.Batch{Reviews: []model.Review{tc.want},
				PullRequests: []model.PullRequest{snapshot(tc.id, "review_"+tc.action)}})
			assertUTC(t, got)
		})
	}
}

func TestParseGitHubBuiltPushes(t *testing.T) {
	a, b, c := fixture.SHA("push a"), fixture.SHA("push b"), fixture.SHA("push c")
	pushedAt := time.Date(2026, 2, 3, 8, 0, 1, 0, time.UTC)
	commitAt := time.Date(2026, 2, 3, 7, 59, 0, 0, time.FixedZone("CET", 3600))
	commits := []fixture.Commit{
		{SHA: b, Message: "LED-2 first", Author: "dave", Timestamp: commitAt.Add(-time.Minute)},
		{SHA: c, Message: "second\n\nbody", Author: "dave", Timestamp: commitAt},
	}
	compare := "https://github.com/acme/ledger/compare/"
	push := func(id, ref, before, after, url string) model.Push {
		return model.Push{Repo: "acme/ledger", Ref: ref, Before: before, After: after, DeliveryID: id,
			DefaultBranch: "trunk", Pusher: "dave", PushedAt: pushedAt, URL: url, ReceivedAt: recv}
	}

	direct := push("p-direct", "refs/heads/trunk", a, c, compare+a[:12]+"..."+c[:12])
	direct.CommitSHAs, direct.Messages = []string{b, c}, []string{"LED-2 first", "second\n\nbody"}

	forced := push("p-forced", "refs/heads/trunk", c, b, compare+c[:12]+"..."+b[:12])
	forced.Forced = true
	forced.CommitSHAs, forced.Messages = []string{b}, []string{"LED-2 first"}

	branch := push("p-branch", "refs/heads/feature", fixture.ZeroSHA, c, "https://github.com/acme/ledger/commit/"+c)
	branch.Created = true
	branch.CommitSHAs, branch.Messages = []string{b, c}, []string{"LED-2 first", "second\n\nbody"}

	deleted := push("p-deleted", "refs/heads/feature", c, fixture.ZeroSHA, compare+c[:12]+"..."+fixture.ZeroSHA[:12])
	deleted.Deleted = true

	tag := push("p-tag", "refs/tags/v1.2.0", fixture.ZeroSHA, c, "https://github.com/acme/ledger/commit/"+c)
	tag.Created = true

	// Without repository.pushed_at the head commit's timestamp is the push
	// time, in UTC.
	noPushedAt := push("p-no-pushed-at", "refs/heads/trunk", a, c, compare+a[:12]+"..."+c[:12])
	noPushedAt.CommitSHAs, noPushedAt.Messages = []string{b, c}, []string{"LED-2 first", "second\n\nbody"}
	noPushedAt.PushedAt = commitAt.UTC()

	tests := []struct {
		name string
		want model.Push
		body []byte
	}{
		{"direct push to the default branch", direct,
			fixture.Push(fixture.PushEvent{Repo: ledger, Before: a, After: c, Pusher: "dave", PushedAt: pushedAt, Commits: commits})},
		{"forced push", forced,
			fixture.Push(fixture.PushEvent{Repo: ledger, Before: c, After: b, Pusher: "dave", Forced: true, PushedAt: pushedAt, Commits: commits[:1]})},
		{"branch creation", branch,
			fixture.Push(fixture.PushEvent{Repo: ledger, Ref: "refs/heads/feature", Before: fixture.ZeroSHA, After: c,
				Pusher: "dave", Created: true, PushedAt: pushedAt, Commits: commits})},
		{"branch deletion", deleted,
			fixture.Push(fixture.PushEvent{Repo: ledger, Ref: "refs/heads/feature", Before: c, After: fixture.ZeroSHA,
				Pusher: "dave", Deleted: true, PushedAt: pushedAt})},
		{"tag push", tag,
			fixture.Push(fixture.PushEvent{Repo: ledger, Ref: "refs/tags/v1.2.0", Before: fixture.ZeroSHA, After: c,
				Pusher: "dave", Created: true, PushedAt: pushedAt})},
		{"pushed_at null falls back to head_commit.timestamp", noPushedAt,
			setJSON(t, fixture.Push(fixture.PushEvent{Repo: ledger, Before: a, After: c, Pusher: "dave", PushedAt: pushedAt, Commits: commits}),
				"repository.pushed_at", nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, delivery("push", tc.want.DeliveryID, tc.body))
			// Contributions are TestParseGitHubContributions' business.
			got.Contributions = nil
			sameBatch(t, got, model.Batch{Pushes: []model.Push{tc.want}})
			assertUTC(t, got)
		})
	}
}

func TestParseGitHubBuiltProtectionRules(t *testing.T) {
	updated := time.Date(2026, 2, 5, 11, 12, 13, 0, time.FixedZone("EST", -5*3600))
	strong := fixture.ProtectionRule{Repo: ledger, Action: "edited", Name: "trunk", ReviewEnforcement: "everyone",
		RequiredApprovals: 2, DismissStale: true, AdminEnforced: true, UpdatedAt: updated, Sender: "erin",
		Changes: map[string]any{"required_approving_review_count": 1}}
	deleted := strong
	deleted.Action, deleted.Changes = "deleted", nil
	want := model.ProtectionEvent{Repo: "acme/ledger", DeliveryID: "bp-1", Action: "edited", Sender: "erin",
		RuleName: "trunk", ReviewEnforcement: "everyone", RequiredApprovals: 2, DismissStale: true, AdminEnforced: true,
		OccurredAt: updated.UTC(), ReceivedAt: recv}
	got := parse(t, delivery("branch_protection_rule", "bp-1", fixture.BranchProtectionRule(strong)))
	sameBatch(t, got, model.Batch{Protections: []model.ProtectionEvent{want}})
	assertUTC(t, got)

	wantDel := want
	wantDel.DeliveryID, wantDel.Action, wantDel.OccurredAt = "bp-2", "deleted", recv
	got = parse(t, delivery("branch_protection_rule", "bp-2", fixture.BranchProtectionRule(deleted)))
	sameBatch(t, got, model.Batch{Protections: []model.ProtectionEvent{wantDel}})
}

func TestParseGitHubAppends(t *testing.T) {
	// Records accumulate in the caller's batch, in delivery order.
	var b model.Batch
	p1 := fixture.Push(fixture.PushEvent{Repo: ledger, Before: fixture.SHA("1"), After: fixture.SHA("2"), PushedAt: mergeAt})
	p2 := fixture.Push(fixture.PushEvent{Repo: ledger, Before: fixture.SHA("2"), After: fixture.SHA("3"), PushedAt: mergeAt})
	for i, body := range [][]byte{p1, p2} {
		if err := enrich.ParseGitHub(delivery("push", fmt.Sprint("a-", i), body), &b); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.Pushes) != 2 || b.Pushes[0].After != fixture.SHA("2") || b.Pushes[1].After != fixture.SHA("3") {
		t.Fatalf("pushes = %+v", b.Pushes)
	}
}
