package cm2

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const (
	shaHead  = "2ef7bde608ce5404e97d5f042f95f89f1c232871"
	shaOld   = "0c1f7f7f4d0bd3fd8fb2bb0e2f5e5e3a35c1a3f4"
	shaMerge = "89e6c98d92887913cadf06b2adb97f26cde4849b"
)

var (
	mergedAt = time.Date(2026, 2, 27, 10, 0, 0, 0, time.UTC)
	before   = mergedAt.Add(-time.Hour)
	deadline = mergedAt.Add(72 * time.Hour) // 2026-03-02T10:00:00Z
)

const shaCoAuthor = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"

func withContributors(c model.Change, cs ...model.Contributor) model.Change {
	c.Contributors = cs
	return c
}

func pr(author string, labels []string, reviews ...model.Review) model.Change {
	return model.Change{
		Subject: "acme/pay#42", Kind: model.KindPullRequest, Repo: "acme/pay",
		OccurredAt: mergedAt, URL: "https://github.com/acme/pay/pull/42",
		Number: 42, Author: author, MergedBy: "merger",
		HeadSHA: shaHead, MergeCommitSHA: shaMerge, Labels: labels, Reviews: reviews,
	}
}

func submitted(id int64, reviewer, state string, at time.Time) model.Review {
	return model.Review{Repo: "acme/pay", PRNumber: 42, ReviewID: id, Action: "submitted",
		Reviewer: reviewer, State: state, CommitID: shaHead, SubmittedAt: at}
}

func dismissed(id int64, reviewer string, at time.Time) model.Review {
	return model.Review{Repo: "acme/pay", PRNumber: 42, ReviewID: id, Action: "dismissed",
		Reviewer: reviewer, State: "dismissed", CommitID: shaHead, SubmittedAt: at}
}

func TestCheck(t *testing.T) {
	ids := model.NewIdentities([]model.Identity{
		{Name: "alice", Logins: []string{"alice", "alice-alt"}},
		{Name: "bob", Logins: []string{"bob", "bob-alt"}},
	})
	min2 := func(p *control.Policy) { p.MinApprovals = 2 }
	tests := []struct {
		name     string
		change   model.Change
		policy   func(*control.Policy)
		now      time.Time
		outcome  model.Outcome
		reason   string
		verdicts []string // "id reviewer state counted why"
	}{
		{
			name:    "one independent approval",
			change:  pr("alice", nil, submitted(1, "bob", "approved", before)),
			outcome: model.Pass, reason: "approved by bob",
			verdicts: []string{"1 bob approved true counted"},
		},
		{
			name: "approvals listed once per person, sorted",
			change: pr("alice", nil,
				submitted(1, "carol", "APPROVED", before),
				submitted(2, "bob", "approved", before),
				submitted(3, "bob-alt", "approved", before)),
			outcome: model.Pass, reason: "approved by bob, carol",
			verdicts: []string{"1 carol approved true counted", "2 bob approved true counted", "3 bob-alt approved true counted"},
		},
		{
			name: "a later comment does not cancel an approval",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", before.Add(-time.Minute)),
				submitted(2, "bob", "commented", before)),
			outcome: model.Pass, reason: "approved by bob",
			verdicts: []string{"1 bob approved true counted", "2 bob commented false comment only by bob"},
		},
		{
			name: "approval after changes requested decides",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", before.Add(-2*time.Minute)),
				submitted(2, "bob", "changes_requested", before.Add(-time.Minute)),
				submitted(3, "bob", "approved", before)),
			outcome: model.Pass, reason: "approved by bob",
			verdicts: []string{
				"1 bob approved false approval by bob superseded by changes requested",
				"2 bob changes_requested false changes requested by bob",
				"3 bob approved true counted",
			},
		},
		{
			name: "approval at the merge instant counts",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", mergedAt)),
			outcome: model.Pass, reason: "approved by bob",
			verdicts: []string{"1 bob approved true counted"},
		},
		{
			name:    "no reviews",
			change:  pr("alice", nil),
			outcome: model.Fail, reason: "no reviews",
		},
		{
			name:    "approved only by the author",
			change:  pr("octocat", nil, submitted(1, "octocat", "approved", before)),
			outcome: model.Fail, reason: "approved only by the author (octocat)",
			verdicts: []string{"1 octocat approved false self-approval by octocat"},
		},
		{
			name: "approved only by the author's other login",
			change: pr("alice", nil,
				submitted(1, "alice-alt", "approved", before),
				submitted(2, "dave", "commented", before)),
			outcome: model.Fail, reason: "approved only by the author (alice via alice-alt)",
			verdicts: []string{
				"1 alice-alt approved false self-approval by alice-alt (alice)",
				"2 dave commented false comment only by dave",
			},
		},
		{
			name: "self-approval and a bot's approval",
			change: pr("octocat", nil,
				submitted(1, "octocat", "approved", before),
				submitted(2, "hubot[bot]", "approved", before)),
			outcome: model.Fail, reason: "no qualifying approval: self-approval by octocat; approval by hubot[bot] is a bot's",
			verdicts: []string{
				"1 octocat approved false self-approval by octocat",
				"2 hubot[bot] approved false approval by hubot[bot] is a bot's",
			},
		},
		{
			name:    "bot listed in policy.bots",
			change:  pr("alice", nil, submitted(1, "Release-Helper", "approved", before)),
			policy:  func(p *control.Policy) { p.Bots = []string{"release-helper"} },
			outcome: model.Fail, reason: "no qualifying approval: approval by Release-Helper is a bot's",
			verdicts: []string{"1 Release-Helper approved false approval by Release-Helper is a bot's"},
		},
		{
			name: "dismissed approval",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", before),
				dismissed(1, "bob", before)),
			outcome: model.Fail, reason: "no qualifying approval: approval by bob was dismissed",
			verdicts: []string{"1 bob approved false approval by bob was dismissed"},
		},
		{
			name: "approval superseded by changes requested, even once those are dismissed",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", before.Add(-time.Minute)),
				submitted(2, "bob-alt", "changes_requested", before),
				dismissed(2, "bob-alt", before)),
			outcome: model.Fail,
			reason:  "no qualifying approval: approval by bob superseded by changes requested; changes requested by bob-alt (dismissed)",
			verdicts: []string{
				"1 bob approved false approval by bob superseded by changes requested",
				"2 bob-alt changes_requested false changes requested by bob-alt (dismissed)",
			},
		},
		{
			name: "approval after merge without emergency label",
			change: pr("alice", []string{"bug"},
				submitted(1, "bob", "approved", mergedAt.Add(time.Second))),
			outcome: model.Fail, reason: "no qualifying approval: approval by bob after merge (retro review)",
			verdicts: []string{"1 bob approved false approval by bob after merge (retro review)"},
		},
		{
			name: "comments and changes requested, one reason per reviewer",
			change: pr("alice", nil,
				submitted(1, "dave", "commented", before.Add(-time.Minute)),
				submitted(2, "erin", "changes_requested", before.Add(-time.Minute)),
				submitted(3, "dave", "commented", before)),
			outcome: model.Fail, reason: "no qualifying approval: comment only by dave; changes requested by erin",
			verdicts: []string{
				"1 dave commented false comment only by dave",
				"2 erin changes_requested false changes requested by erin",
				"3 dave commented false comment only by dave",
			},
		},
		{
			name: "too few approvals for min_approvals 2",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", before),
				submitted(2, "alice", "approved", before)),
			policy:  min2,
			outcome: model.Fail, reason: "1 of 2 required approvals: approved by bob; self-approval by alice",
			verdicts: []string{"1 bob approved true counted", "2 alice approved false self-approval by alice"},
		},
		{
			name: "two logins of one person are one approval",
			change: pr("alice", nil,
				submitted(1, "bob", "approved", before),
				submitted(2, "bob-alt", "approved", before)),
			policy:  min2,
			outcome: model.Fail, reason: "1 of 2 required approvals: approved by bob",
			verdicts: []string{"1 bob approved true counted", "2 bob-alt approved true counted"},
		},
		{
			name: "emergency: retro review at the window's end",
			change: pr("alice", []string{"bug", "hotfix"},
				submitted(1, "alice", "approved", before),
				submitted(2, "bob", "approved", deadline)),
			now:     deadline.Add(24 * time.Hour),
			outcome: model.Pass, reason: "emergency change (label hotfix): retro review by bob at 2026-03-02T10:00:00Z, within 72h of merge",
			verdicts: []string{
				"1 alice approved false self-approval by alice",
				"2 bob approved false approval by bob after merge (retro review)",
			},
		},
		{
			name:    "emergency label with a pre-merge approval needs no retro review",
			change:  pr("alice", []string{"hotfix"}, submitted(1, "bob", "approved", before)),
			now:     mergedAt,
			outcome: model.Pass, reason: "approved by bob",
			verdicts: []string{"1 bob approved true counted"},
		},
		{
			name:    "emergency: window still open",
			change:  pr("alice", []string{"Emergency"}),
			now:     deadline,
			outcome: model.Pending, reason: "emergency change (label Emergency): retro review window open until 2026-03-02T10:00:00Z",
		},
		{
			name: "emergency: custom window, open, self-review does not help",
			change: pr("alice", []string{"sev1"},
				submitted(1, "alice-alt", "approved", mergedAt.Add(time.Hour))),
			policy: func(p *control.Policy) {
				p.EmergencyLabels = []string{"sev1"}
				p.EmergencyReviewWindow = 90 * time.Minute
			},
			now:     mergedAt.Add(time.Hour),
			outcome: model.Pending, reason: "emergency change (label sev1): retro review window open until 2026-02-27T11:30:00Z",
			verdicts: []string{"1 alice-alt approved false self-approval by alice-alt (alice)"},
		},
		{
			name: "emergency: retro review too late",
			change: pr("alice", []string{"hotfix"},
				submitted(1, "bob", "approved", deadline.Add(time.Second))),
			now:     deadline.Add(time.Hour),
			outcome: model.Fail, reason: "emergency change (label hotfix): no retro review within 72h of merge",
			verdicts: []string{"1 bob approved false approval by bob after merge (retro review)"},
		},
		{
			name: "emergency: dismissed retro review does not count",
			change: pr("alice", []string{"hotfix"},
				submitted(1, "bob", "approved", mergedAt.Add(time.Hour)),
				dismissed(1, "bob", mergedAt.Add(time.Hour))),
			now:     deadline.Add(time.Second),
			outcome: model.Fail, reason: "emergency change (label hotfix): no retro review within 72h of merge",
			verdicts: []string{"1 bob approved false approval by bob was dismissed"},
		},
		{
			name:    "bot change, bots exempt",
			change:  pr("dependabot[bot]", nil),
			policy:  func(p *control.Policy) { p.BotChanges = "exempt" },
			outcome: model.NotApplicable, reason: "bot change by dependabot[bot] (policy.bot_changes: exempt)",
		},
		{
			name:    "bot change, approval required",
			change:  pr("dependabot[bot]", nil, submitted(1, "renovate[bot]", "approved", before)),
			outcome: model.Fail, reason: "bot-authored: 0 of 1 required human approvals; approval by renovate[bot] is a bot's",
			verdicts: []string{"1 renovate[bot] approved false approval by renovate[bot] is a bot's"},
		},
		{
			name:    "bot change, fewer human approvals than bot_min_approvals",
			change:  pr("dependabot[bot]", nil, submitted(1, "carol", "approved", before)),
			policy:  func(p *control.Policy) { p.BotMinApprovals = 2 },
			outcome: model.Fail, reason: "bot-authored: 1 of 2 required human approvals",
			verdicts: []string{"1 carol approved true counted"},
		},
		{
			name: "bot change, bot_min_approvals met",
			change: pr("copilot-swe-agent[bot]", nil, submitted(1, "carol", "approved", before),
				submitted(2, "bob", "approved", before)),
			policy:  func(p *control.Policy) { p.BotMinApprovals = 2 },
			outcome: model.Pass, reason: "approved by bob, carol",
			verdicts: []string{"1 carol approved true counted", "2 bob approved true counted"},
		},
		{
			name:    "bot change, bot_min_approvals 0 means min_approvals",
			change:  pr("ci-bot", nil, submitted(1, "carol", "approved", before)),
			policy:  func(p *control.Policy) { p.Bots = []string{"ci-bot"} },
			outcome: model.Pass, reason: "approved by carol",
			verdicts: []string{"1 carol approved true counted"},
		},
		{
			name:    "bot change exempt: bot_min_approvals does not apply",
			change:  pr("dependabot[bot]", nil),
			policy:  func(p *control.Policy) { p.BotMinApprovals = 2; p.BotChanges = "exempt" },
			outcome: model.NotApplicable, reason: "bot change by dependabot[bot] (policy.bot_changes: exempt)",
		},
		{
			name:    "approval by a contributor who pushed to the pull request",
			change:  withContributors(pr("alice", nil, submitted(1, "bob", "approved", before)), model.Contributor{Login: "bob", How: model.ContribPushed, SHA: shaCoAuthor}),
			outcome: model.Fail, reason: "no qualifying approval: approval by bob did not count: bob pushed 9f8e7d6c… to the pull request",
			verdicts: []string{"1 bob approved false approval by bob did not count: bob pushed 9f8e7d6c… to the pull request"},
		},
		{
			name: "approval by a contributor who authored a commit, another approval counts",
			change: withContributors(pr("alice", nil, submitted(1, "bob", "approved", before), submitted(2, "carol", "approved", before)),
				model.Contributor{Login: "bob", How: model.ContribAuthored, SHA: shaCoAuthor}),
			policy:  func(p *control.Policy) { p.MinApprovals = 2 },
			outcome: model.Fail, reason: "1 of 2 required approvals: approved by carol; approval by bob did not count: bob authored 9f8e7d6c… on the pull request",
			verdicts: []string{"1 bob approved false approval by bob did not count: bob authored 9f8e7d6c… on the pull request", "2 carol approved true counted"},
		},
		{
			name:    "approval from another login of a contributor",
			change:  withContributors(pr("alice", nil, submitted(1, "bob-alt", "approved", before)), model.Contributor{Login: "bob", How: model.ContribPushed, SHA: shaCoAuthor}),
			outcome: model.Fail, reason: "no qualifying approval: approval by bob-alt did not count: bob pushed 9f8e7d6c… to the pull request",
			verdicts: []string{"1 bob-alt approved false approval by bob-alt did not count: bob pushed 9f8e7d6c… to the pull request"},
		},
		{
			name:    "approval by a contributor counts when exclude_contributors is off",
			change:  withContributors(pr("alice", nil, submitted(1, "bob", "approved", before)), model.Contributor{Login: "bob", How: model.ContribPushed, SHA: shaCoAuthor}),
			policy:  func(p *control.Policy) { p.ExcludeContributors = false },
			outcome: model.Pass, reason: "approved by bob",
			verdicts: []string{"1 bob approved true counted"},
		},
		{
			name: "a contributor's retro review is no retro review",
			change: withContributors(pr("alice", []string{"hotfix"}, submitted(1, "bob", "approved", mergedAt.Add(time.Hour))),
				model.Contributor{Login: "bob", How: model.ContribCommitted, SHA: shaCoAuthor}),
			now:     deadline.Add(time.Hour),
			outcome: model.Fail, reason: "emergency change (label hotfix): no retro review within 72h of merge",
			verdicts: []string{"1 bob approved false approval by bob did not count: bob committed 9f8e7d6c… on the pull request"},
		},
		{
			name: "merge time unknown",
			change: func() model.Change {
				c := pr("alice", nil, submitted(1, "bob", "approved", before))
				c.OccurredAt = time.Time{}
				return c
			}(),
			outcome: model.Error, reason: "merge time of pull request #42 unknown: approvals cannot be told from retro reviews",
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Identities: ids, Now: tc.now}
			if tc.now.IsZero() {
				env.Now = mergedAt.Add(time.Hour)
			}
			if tc.policy != nil {
				tc.policy(&env.Policy)
			}
			ev := &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{tc.change}}
			got := Control{}.Check(env, ev)
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			if f.Rule != "CM-2" || f.Subject != "acme/pay#42" || f.Repo != "acme/pay" || !f.OccurredAt.Equal(tc.change.OccurredAt) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			e := f.Evidence
			if e.URL != "https://github.com/acme/pay/pull/42" || e.Author != tc.change.Author || e.MergedBy != "merger" ||
				e.HeadSHA != shaHead || e.MergeCommitSHA != shaMerge || !slices.Equal(e.Labels, tc.change.Labels) {
				t.Errorf("evidence = %+v", e)
			}
			var verdicts []string
			for _, v := range e.Reviews {
				verdicts = append(verdicts, fmt.Sprintf("%d %s %s %v %s", v.ReviewID, v.Reviewer, v.State, v.Counted, v.Why))
			}
			if !slices.Equal(verdicts, tc.verdicts) {
				t.Errorf("verdicts = %q\nwant       %q", verdicts, tc.verdicts)
			}
			if !f.EvaluatedAt.IsZero() || f.Waiver != nil {
				t.Errorf("check set evaluator fields")
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "CM-2" || def.Name != "independent-approval" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

func TestDirectPushesAreNotSubjects(t *testing.T) {
	env := control.Env{Policy: control.DefaultPolicy(), Now: mergedAt}
	ev := &model.RepoEvidence{Changes: []model.Change{{Subject: "acme/pay@" + shaOld, Kind: model.KindDirectPush,
		Repo: "acme/pay", SHA: shaOld, Pusher: "mallory", OccurredAt: mergedAt}}}
	if got := (Control{}).Check(env, ev); len(got) != 0 {
		t.Errorf("got %+v, want no findings", got)
	}
}
