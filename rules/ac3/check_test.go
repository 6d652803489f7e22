package ac3

import (
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const (
	shaPush = "3f786850e387550fdab836ed7e6dc881de23001b"
	shaHead = "2ef7bde608ce5404e97d5f042f95f89f1c232871"
)

var (
	malloryGone = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	eveGone     = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	before      = malloryGone.Add(-time.Hour) // 2026-02-28T23:00:00Z
	after       = malloryGone.Add(time.Hour)  // 2026-03-01T01:00:00Z
)

func testEnv() control.Env {
	return control.Env{
		Policy: control.DefaultPolicy(),
		Identities: model.NewIdentities([]model.Identity{
			{Name: "mallory", Logins: []string{"mallory", "mal-root", "mal-gh"}, TerminatedAt: malloryGone},
			{Name: "eve", Logins: []string{"eve"}, TerminatedAt: eveGone},
			{Name: "alice", Logins: []string{"alice", "alice-admin"}},
		}),
		Systems: map[string]control.System{
			"bastion":  {Authorized: []string{"alice", "mallory"}},
			"prod-k8s": {Authorized: []string{"alice"}, BreakGlassRoles: []string{"break-glass"}},
		},
	}
}

type want struct {
	subject string
	outcome model.Outcome
	reason  string
	person  string
}

func check(t *testing.T, got []model.Finding, wants []want, seen *[]model.Outcome) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d findings, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		f := got[i]
		*seen = append(*seen, f.Outcome)
		if f.Rule != "AC-3" || f.Subject != w.subject {
			t.Errorf("finding %d: rule/subject = %q %q, want %q", i, f.Rule, f.Subject, w.subject)
		}
		if f.Outcome != w.outcome {
			t.Errorf("finding %d: outcome = %q, want %q", i, f.Outcome, w.outcome)
		}
		if f.Reason != w.reason {
			t.Errorf("finding %d: reason = %q\nwant                %q", i, f.Reason, w.reason)
		}
		if f.Evidence.Person != w.person {
			t.Errorf("finding %d: evidence person = %q, want %q", i, f.Evidence.Person, w.person)
		}
		if !f.EvaluatedAt.IsZero() || f.Waiver != nil {
			t.Errorf("check set evaluator fields: %v %v", f.EvaluatedAt, f.Waiver)
		}
	}
}

func access(id, system, principal string, at time.Time, result string) model.AccessEvent {
	return model.AccessEvent{ID: id, System: system, Time: at, Principal: principal, Action: "login", Result: result,
		Format: "sshd"}
}

func TestCheckAccess(t *testing.T) {
	var seen []model.Outcome
	tests := []struct {
		name  string
		event model.AccessEvent
		want  []want
	}{
		{
			name:  "after termination",
			event: access("1", "bastion", "mallory", after, "success"),
			want: []want{{"bastion:1", model.Fail,
				"access by mallory on bastion at 2026-03-01T01:00:00Z after termination at 2026-03-01T00:00:00Z", "mallory"}},
		},
		{
			name:  "after termination, through another principal, failed attempt",
			event: access("2", "prod-k8s", "MAL-ROOT", after, "failure"),
			want: []want{{"prod-k8s:2", model.Fail,
				"access by mallory (as MAL-ROOT) on prod-k8s at 2026-03-01T01:00:00Z after termination at 2026-03-01T00:00:00Z (attempt failed)", "mallory"}},
		},
		{
			name:  "before termination",
			event: access("3", "bastion", "mallory", before, "success"),
			want: []want{{"bastion:3", model.Pass,
				"access by mallory on bastion at 2026-02-28T23:00:00Z before termination at 2026-03-01T00:00:00Z", "mallory"}},
		},
		{
			name:  "at the termination instant is not after it",
			event: access("4", "bastion", "mallory", malloryGone, "success"),
			want: []want{{"bastion:4", model.Pass,
				"access by mallory on bastion at 2026-03-01T00:00:00Z before termination at 2026-03-01T00:00:00Z", "mallory"}},
		},
		{
			name:  "times compared in UTC",
			event: access("5", "bastion", "mallory", after.In(time.FixedZone("PST", -8*3600)), "success"),
			want: []want{{"bastion:5", model.Fail,
				"access by mallory on bastion at 2026-03-01T01:00:00Z after termination at 2026-03-01T00:00:00Z", "mallory"}},
		},
		{
			name:  "no time",
			event: access("6", "bastion", "mallory", time.Time{}, "success"),
			want: []want{{"bastion:6", model.Error,
				"access by mallory on bastion has no time: cannot compare with termination at 2026-03-01T00:00:00Z", "mallory"}},
		},
		{name: "not terminated", event: access("7", "bastion", "alice-admin", after, "success")},
		{name: "unknown principal", event: access("8", "bastion", "stranger", after, "success")},
		{name: "no principal", event: access("9", "bastion", "", after, "success")},
		{name: "system not in scope", event: access("10", "laptop", "mallory", after, "success")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Control{}.CheckAccess(testEnv(), &model.AccessEvidence{System: tc.event.System, Events: []model.AccessEvent{tc.event}})
			check(t, got, tc.want, &seen)
			for _, f := range got {
				if f.Repo != "" || !f.OccurredAt.Equal(tc.event.Time) || f.Evidence.Principal != tc.event.Principal ||
					f.Evidence.System != tc.event.System {
					t.Errorf("repo/occurred/evidence = %q %v %+v", f.Repo, f.OccurredAt, f.Evidence)
				}
			}
		})
	}
	testDefinition(t, seen)
}

func pr(author, mergedBy string, merged time.Time, reviews ...model.Review) model.Change {
	return model.Change{Subject: "acme/pay#7", Kind: model.KindPullRequest, Repo: "acme/pay", Number: 7,
		OccurredAt: merged, URL: "https://github.com/acme/pay/pull/7", Author: author, MergedBy: mergedBy,
		HeadSHA: shaHead, Reviews: reviews}
}

func review(id int64, action, reviewer, state string, at time.Time) model.Review {
	return model.Review{Repo: "acme/pay", PRNumber: 7, ReviewID: id, Action: action, Reviewer: reviewer, State: state,
		CommitID: shaHead, SubmittedAt: at, URL: "https://github.com/acme/pay/pull/7#pullrequestreview-1"}
}

func TestCheck(t *testing.T) {
	var seen []model.Outcome
	tests := []struct {
		name   string
		change model.Change
		want   []want
	}{
		{
			name:   "merged after the author's termination",
			change: pr("mallory", "alice", after),
			want: []want{{"acme/pay#7", model.Fail,
				"merged at 2026-03-01T01:00:00Z after termination of author mallory (terminated 2026-03-01T00:00:00Z)", ""}},
		},
		{
			name:   "merged before the author's termination",
			change: pr("mal-gh", "alice", before),
			want: []want{{"acme/pay#7", model.Pass,
				"merged at 2026-02-28T23:00:00Z before termination of author mallory (as mal-gh, terminated 2026-03-01T00:00:00Z)", ""}},
		},
		{
			name:   "merged by a terminated merger",
			change: pr("alice", "eve", before),
			want: []want{{"acme/pay#7", model.Fail,
				"merged at 2026-02-28T23:00:00Z after termination of merger eve (terminated 2026-02-01T00:00:00Z)", ""}},
		},
		{
			name:   "only the parties terminated before the merge are named in a fail",
			change: pr("mallory", "eve", before),
			want: []want{{"acme/pay#7", model.Fail,
				"merged at 2026-02-28T23:00:00Z after termination of merger eve (terminated 2026-02-01T00:00:00Z)", ""}},
		},
		{
			name:   "author and merger are one terminated person",
			change: pr("mallory", "mal-gh", after),
			want: []want{{"acme/pay#7", model.Fail,
				"merged at 2026-03-01T01:00:00Z after termination of author and merger mallory (terminated 2026-03-01T00:00:00Z)", ""}},
		},
		{
			name:   "merge time unknown",
			change: pr("mallory", "alice", time.Time{}),
			want: []want{{"acme/pay#7", model.Error,
				"merge time of pull request #7 unknown: cannot compare with termination of author mallory (terminated 2026-03-01T00:00:00Z)", ""}},
		},
		{
			name: "reviews by a terminated person: one finding per review id, judged at submission",
			change: pr("alice", "alice", after,
				review(11, "submitted", "mal-gh", "approved", before),
				review(11, "edited", "mal-gh", "approved", after),
				review(11, "dismissed", "alice", "dismissed", after),
				review(12, "submitted", "mallory", "APPROVED", after),
				review(13, "submitted", "alice", "commented", after),
				review(0, "submitted", "mallory", "commented", after)),
			want: []want{
				{"acme/pay#7/review/11", model.Pass,
					"review 11 (approved) by mallory (as mal-gh) at 2026-02-28T23:00:00Z before termination at 2026-03-01T00:00:00Z", "mallory"},
				{"acme/pay#7/review/12", model.Fail,
					"review 12 (approved) by mallory at 2026-03-01T01:00:00Z after termination at 2026-03-01T00:00:00Z", "mallory"},
			},
		},
		{
			name: "a submission seen after its dismissal still dates the review",
			change: pr("alice", "alice", after,
				review(21, "dismissed", "eve", "dismissed", after),
				review(21, "submitted", "eve", "approved", time.Time{})),
			want: []want{{"acme/pay#7/review/21", model.Error,
				"review 21 (approved) by eve has no time: cannot compare with termination at 2026-02-01T00:00:00Z", "eve"}},
		},
		{
			name: "pull request and reviews are separate subjects",
			change: pr("mallory", "alice", after,
				review(31, "submitted", "eve", "changes_requested", eveGone.Add(-time.Minute))),
			want: []want{
				{"acme/pay#7", model.Fail,
					"merged at 2026-03-01T01:00:00Z after termination of author mallory (terminated 2026-03-01T00:00:00Z)", ""},
				{"acme/pay#7/review/31", model.Pass,
					"review 31 (changes_requested) by eve at 2026-01-31T23:59:00Z before termination at 2026-02-01T00:00:00Z", "eve"},
			},
		},
		{
			name: "direct push after termination",
			change: model.Change{Subject: "acme/pay@" + shaPush, Kind: model.KindDirectPush, Repo: "acme/pay",
				OccurredAt: after, SHA: shaPush, Pusher: "mal-root"},
			want: []want{{"acme/pay@" + shaPush, model.Fail,
				"direct push of " + shaPush + " by mallory (as mal-root) at 2026-03-01T01:00:00Z after termination at 2026-03-01T00:00:00Z", "mallory"}},
		},
		{
			name:   "nobody terminated",
			change: pr("alice", "alice-admin", after, review(41, "submitted", "bob", "approved", after)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Control{}.Check(testEnv(), &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{tc.change}})
			check(t, got, tc.want, &seen)
			for _, f := range got {
				if f.Repo != "acme/pay" {
					t.Errorf("repo = %q", f.Repo)
				}
			}
		})
	}
	testDefinition(t, seen)
}

func TestEvidence(t *testing.T) {
	c := pr("mallory", "alice", after, review(11, "submitted", "mal-gh", "approved", before))
	got := Control{}.Check(testEnv(), &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{c}})
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	if e := got[0].Evidence; e.URL != c.URL || e.Author != "mallory" || e.MergedBy != "alice" || !got[0].OccurredAt.Equal(after) {
		t.Errorf("pull request evidence = %+v at %v", e, got[0].OccurredAt)
	}
	if e := got[1].Evidence; e.URL != "https://github.com/acme/pay/pull/7#pullrequestreview-1" || e.Principal != "mal-gh" ||
		e.SHA != shaHead || !got[1].OccurredAt.Equal(before) {
		t.Errorf("review evidence = %+v at %v", e, got[1].OccurredAt)
	}
}

// testDefinition checks the definition against the outcomes one test saw;
// the access and change tests each give every outcome.
func testDefinition(t *testing.T, seen []model.Outcome) {
	t.Helper()
	def := Control{}.Definition()
	if def.ID != "AC-3" || def.Name != "no-access-after-termination" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}
