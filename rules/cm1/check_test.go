package cm1

import (
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const (
	shaPush  = "3f786850e387550fdab836ed7e6dc881de23001b"
	shaMerge = "89e6c98d92887913cadf06b2adb97f26cde4849b"
	shaHead  = "2ef7bde608ce5404e97d5f042f95f89f1c232871"
)

var pushedAt = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func pr(mergedBy string) model.Change {
	return model.Change{
		Subject: "acme/pay#7", Kind: model.KindPullRequest, Repo: "acme/pay",
		OccurredAt: pushedAt, URL: "https://github.com/acme/pay/pull/7",
		Number: 7, Author: "alice", MergedBy: mergedBy,
		HeadSHA: shaHead, MergeCommitSHA: shaMerge,
	}
}

func push(pusher, sha string) model.Change {
	return model.Change{
		Subject: "acme/pay@" + sha, Kind: model.KindDirectPush, Repo: "acme/pay",
		OccurredAt: pushedAt, URL: "https://github.com/acme/pay/commit/" + sha,
		SHA: sha, Pusher: pusher,
	}
}

func TestCheck(t *testing.T) {
	ids := model.NewIdentities([]model.Identity{{Name: "deployer", Logins: []string{"deploy-svc", "deploy-svc-2"}}})
	tests := []struct {
		name     string
		change   model.Change
		exempt   []string
		subject  string
		outcome  model.Outcome
		reason   string
		evidence model.Evidence
	}{
		{
			name: "merged pull request", change: pr("carol"),
			subject: "acme/pay#7", outcome: model.Pass,
			reason:   "merged via pull request #7 by carol",
			evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/pull/7", Author: "alice", MergedBy: "carol", HeadSHA: shaHead, MergeCommitSHA: shaMerge}},
		},
		{
			name: "merged pull request, merger unknown", change: pr(""),
			subject: "acme/pay#7", outcome: model.Pass,
			reason:   "merged via pull request #7",
			evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/pull/7", Author: "alice", HeadSHA: shaHead, MergeCommitSHA: shaMerge}},
		},
		{
			name: "direct push", change: push("mallory", shaPush),
			subject: "acme/pay@" + shaPush, outcome: model.Fail,
			reason:   "direct push of " + shaPush + " by mallory",
			evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/commit/" + shaPush, Pusher: "mallory", SHA: shaPush}},
		},
		{
			name: "direct push by a different person than the exempt one", change: push("mallory", shaPush),
			exempt:  []string{"deploy-svc"},
			subject: "acme/pay@" + shaPush, outcome: model.Fail,
			reason:   "direct push of " + shaPush + " by mallory",
			evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/commit/" + shaPush, Pusher: "mallory", SHA: shaPush}},
		},
		{
			name: "exempt pusher", change: push("Deploy-Svc", shaPush),
			exempt:  []string{"deploy-svc"},
			subject: "acme/pay@" + shaPush, outcome: model.NotApplicable,
			reason:   "direct push of " + shaPush + " by Deploy-Svc (policy.direct_push_exempt)",
			evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/commit/" + shaPush, Pusher: "Deploy-Svc", SHA: shaPush}},
		},
		{
			name: "exempt via another login of the same person", change: push("deploy-svc-2", shaPush),
			exempt:  []string{"deploy-svc"},
			subject: "acme/pay@" + shaPush, outcome: model.NotApplicable,
			reason:   "direct push of " + shaPush + " by deploy-svc-2 (policy.direct_push_exempt)",
			evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/commit/" + shaPush, Pusher: "deploy-svc-2", SHA: shaPush}},
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Identities: ids, Now: pushedAt.Add(time.Hour)}
			env.Policy.DirectPushExempt = tc.exempt
			ev := &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{tc.change}}
			got := Control{}.Check(env, ev)
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1: %+v", len(got), got)
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			if f.Rule != "CM-1" || f.Subject != tc.subject || f.Repo != "acme/pay" || !f.OccurredAt.Equal(pushedAt) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			if !f.EvaluatedAt.IsZero() || f.Waiver != nil {
				t.Errorf("check set evaluator fields: %v %v", f.EvaluatedAt, f.Waiver)
			}
			e, w := f.Evidence, tc.evidence
			if e.URL != w.URL || e.Author != w.Author || e.MergedBy != w.MergedBy || e.Pusher != w.Pusher ||
				e.SHA != w.SHA || e.HeadSHA != w.HeadSHA || e.MergeCommitSHA != w.MergeCommitSHA {
				t.Errorf("evidence = %+v\nwant       %+v", e, w)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "CM-1" || def.Name != "change-via-pull-request" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

func TestCheckKeepsChangeOrder(t *testing.T) {
	env := control.Env{Policy: control.DefaultPolicy(), Now: pushedAt}
	ev := &model.RepoEvidence{Changes: []model.Change{push("mallory", shaPush), pr("carol")}}
	var subjects []string
	for _, f := range (Control{}).Check(env, ev) {
		subjects = append(subjects, f.Subject)
	}
	if want := []string{"acme/pay@" + shaPush, "acme/pay#7"}; !slices.Equal(subjects, want) {
		t.Errorf("subjects = %v, want %v", subjects, want)
	}
}
