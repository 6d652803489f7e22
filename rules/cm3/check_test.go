package cm3

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const (
	shaHead  = "2ef7bde608ce5404e97d5f042f95f89f1c232871"
	shaOld1  = "0c1f7f7f4d0bd3fd8fb2bb0e2f5e5e3a35c1a3f4"
	shaOld2  = "7d865e959b2466918c9863afca942d0fb89d7c9a"
	shaMerge = "89e6c98d92887913cadf06b2adb97f26cde4849b"
)

var (
	mergedAt = time.Date(2026, 2, 27, 10, 0, 0, 0, time.UTC)
	before   = mergedAt.Add(-time.Hour)
)

func pr(head string, labels []string, reviews ...model.Review) model.Change {
	return model.Change{
		Subject: "acme/pay#42", Kind: model.KindPullRequest, Repo: "acme/pay",
		OccurredAt: mergedAt, URL: "https://github.com/acme/pay/pull/42",
		Number: 42, Author: "alice", MergedBy: "merger",
		HeadSHA: head, MergeCommitSHA: shaMerge, Labels: labels, Reviews: reviews,
	}
}

// approved is an approval of commit sha; n orders reviews in time.
func approved(id int64, reviewer, sha string, n int) model.Review {
	return model.Review{Repo: "acme/pay", PRNumber: 42, ReviewID: id, Action: "submitted",
		Reviewer: reviewer, State: "approved", CommitID: sha, SubmittedAt: before.Add(time.Duration(n) * time.Minute)}
}

func TestCheck(t *testing.T) {
	ids := model.NewIdentities([]model.Identity{{Name: "bob", Logins: []string{"bob", "bob-alt"}}})
	tests := []struct {
		name     string
		change   model.Change
		min      int
		outcome  model.Outcome
		reason   string
		verdicts []string // "id reviewer commit counted"
	}{
		{
			name:    "approval on the final commit",
			change:  pr(shaHead, nil, approved(1, "bob", shaHead, 0)),
			outcome: model.Pass, reason: "approval by bob covers final commit " + shaHead,
			verdicts: []string{"1 bob " + shaHead + " true"},
		},
		{
			name:    "several approvals on the final commit, sorted",
			change:  pr(shaHead, nil, approved(1, "carol", shaHead, 0), approved(2, "bob", strings.ToUpper(shaHead), 1)),
			outcome: model.Pass, reason: "approvals by bob, carol cover final commit " + shaHead,
			verdicts: []string{"1 carol " + shaHead + " true", "2 bob " + strings.ToUpper(shaHead) + " true"},
		},
		{
			name:    "re-approval after a push covers",
			change:  pr(shaHead, nil, approved(1, "bob", shaOld1, 0), approved(2, "bob-alt", shaHead, 1)),
			outcome: model.Pass, reason: "approval by bob-alt covers final commit " + shaHead,
			verdicts: []string{"1 bob " + shaOld1 + " true", "2 bob-alt " + shaHead + " true"},
		},
		{
			name:    "min_approvals 2, both on the final commit",
			change:  pr(shaHead, nil, approved(1, "bob", shaHead, 0), approved(2, "carol", shaHead, 1)),
			min:     2,
			outcome: model.Pass, reason: "approvals by bob, carol cover final commit " + shaHead,
			verdicts: []string{"1 bob " + shaHead + " true", "2 carol " + shaHead + " true"},
		},
		{
			name:    "code pushed after the approval",
			change:  pr(shaHead, nil, approved(1, "bob", shaOld1, 0)),
			outcome: model.Fail, reason: "approval by bob was for " + shaOld1 + ", final commit is " + shaHead,
			verdicts: []string{"1 bob " + shaOld1 + " true"},
		},
		{
			name:    "the latest approval is named",
			change:  pr(shaHead, nil, approved(1, "bob", shaOld1, 0), approved(2, "bob", shaOld2, 1)),
			outcome: model.Fail, reason: "approval by bob was for " + shaOld2 + ", final commit is " + shaHead,
			verdicts: []string{"1 bob " + shaOld1 + " true", "2 bob " + shaOld2 + " true"},
		},
		{
			name:     "several reviewers, none on the final commit",
			change:   pr(shaHead, nil, approved(1, "carol", shaOld2, 0), approved(2, "bob", shaOld1, 1)),
			outcome:  model.Fail,
			reason:   "approvals by bob (" + shaOld1 + "), carol (" + shaOld2 + ") were for other commits, final commit is " + shaHead,
			verdicts: []string{"1 carol " + shaOld2 + " true", "2 bob " + shaOld1 + " true"},
		},
		{
			name:    "self-approval of the final commit does not cover it",
			change:  pr(shaHead, nil, approved(1, "bob", shaOld1, 0), approved(2, "alice", shaHead, 1)),
			outcome: model.Fail, reason: "approval by bob was for " + shaOld1 + ", final commit is " + shaHead,
			verdicts: []string{"1 bob " + shaOld1 + " true", "2 alice " + shaHead + " false"},
		},
		{
			name:     "min_approvals 2, one on the final commit",
			change:   pr(shaHead, nil, approved(1, "bob", shaHead, 0), approved(2, "carol", shaOld1, 1)),
			min:      2,
			outcome:  model.Fail,
			reason:   "1 of 2 required approvals on final commit " + shaHead + " (bob); approval by carol was for " + shaOld1,
			verdicts: []string{"1 bob " + shaHead + " true", "2 carol " + shaOld1 + " true"},
		},
		{
			name:    "approval without a commit",
			change:  pr(shaHead, nil, approved(1, "bob", "", 0)),
			outcome: model.Fail, reason: "approval by bob was for an unknown commit, final commit is " + shaHead,
			verdicts: []string{"1 bob  true"},
		},
		{
			name:    "final commit unknown",
			change:  pr("", nil, approved(1, "bob", shaOld1, 0)),
			outcome: model.Error, reason: "final head commit of pull request #42 unknown",
			verdicts: []string{"1 bob " + shaOld1 + " true"},
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Identities: ids, Now: mergedAt.Add(time.Hour)}
			if tc.min != 0 {
				env.Policy.MinApprovals = tc.min
			}
			got := Control{}.Check(env, &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{tc.change}})
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			if f.Rule != "CM-3" || f.Subject != "acme/pay#42" || f.Repo != "acme/pay" || !f.OccurredAt.Equal(mergedAt) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			e := f.Evidence
			if e.URL != "https://github.com/acme/pay/pull/42" || e.Author != "alice" || e.MergedBy != "merger" ||
				e.HeadSHA != tc.change.HeadSHA || e.MergeCommitSHA != shaMerge {
				t.Errorf("evidence = %+v", e)
			}
			var verdicts []string
			for _, v := range e.Reviews {
				verdicts = append(verdicts, fmt.Sprintf("%d %s %s %v", v.ReviewID, v.Reviewer, v.CommitID, v.Counted))
			}
			if !slices.Equal(verdicts, tc.verdicts) {
				t.Errorf("verdicts = %q\nwant       %q", verdicts, tc.verdicts)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "CM-3" || def.Name != "approval-covers-final-code" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

// TestNotSubjects: CM-3 judges only pull requests that CM-2 passes on
// approvals given before the merge, and nothing when it is disabled.
func TestNotSubjects(t *testing.T) {
	retro := approved(1, "bob", shaHead, 0)
	retro.SubmittedAt = mergedAt.Add(time.Hour)
	noMergeTime := pr(shaHead, nil, approved(1, "bob", shaHead, 0))
	noMergeTime.OccurredAt = time.Time{}
	tests := []struct {
		name   string
		change model.Change
		policy func(*control.Policy)
	}{
		{name: "CM-2 fails: self-approval only", change: pr(shaHead, nil, approved(1, "alice", shaHead, 0))},
		{name: "CM-2 fails: too few approvals", change: pr(shaHead, nil, approved(1, "bob", shaHead, 0)),
			policy: func(p *control.Policy) { p.MinApprovals = 2 }},
		{name: "CM-2 passes by emergency retro review", change: pr(shaHead, []string{"hotfix"}, retro)},
		{name: "CM-2 not applicable: bot change", change: func() model.Change {
			c := pr(shaHead, nil)
			c.Author = "dependabot[bot]"
			return c
		}(), policy: func(p *control.Policy) { p.BotChanges = "exempt" }},
		{name: "CM-2 error: merge time unknown", change: noMergeTime},
		{name: "CM-2 fails: bot-authored with fewer human approvals than bot_min_approvals", change: func() model.Change {
			c := pr(shaHead, nil, approved(1, "bob", shaHead, 0))
			c.Author = "dependabot[bot]"
			return c
		}(), policy: func(p *control.Policy) { p.BotMinApprovals = 2 }},
		{name: "CM-2 fails: the only approver is a contributor", change: func() model.Change {
			c := pr(shaHead, nil, approved(1, "bob", shaHead, 0))
			c.Contributors = []model.Contributor{{Login: "bob", How: model.ContribPushed, SHA: shaHead}}
			return c
		}()},
		{name: "disabled by policy", change: pr(shaHead, nil, approved(1, "bob", shaOld1, 0)),
			policy: func(p *control.Policy) { p.RequireApprovalOnFinalCommit = false }},
		{name: "direct push", change: model.Change{Subject: "acme/pay@" + shaHead, Kind: model.KindDirectPush,
			Repo: "acme/pay", SHA: shaHead, Pusher: "mallory", OccurredAt: mergedAt}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Now: mergedAt.Add(time.Hour)}
			if tc.policy != nil {
				tc.policy(&env.Policy)
			}
			if got := (Control{}).Check(env, &model.RepoEvidence{Changes: []model.Change{tc.change}}); len(got) != 0 {
				t.Errorf("got %+v, want no findings", got)
			}
		})
	}
}
