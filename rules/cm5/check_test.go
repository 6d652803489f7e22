package cm5

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const repo = "acme/api"

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// sha is a distinct, readable full SHA per n; sha(0) is the all-zero SHA a
// branch-creating push starts from.
func sha(n int) string { return strings.Repeat(fmt.Sprintf("%04x", n), 10) }

// push n moves the default branch from sha(n-1) to sha(n) at t0+n minutes.
func push(n int) model.Push {
	return model.Push{Repo: repo, Ref: "refs/heads/main", DefaultBranch: "main", Before: sha(n - 1), After: sha(n),
		Pusher: "alice", PushedAt: t0.Add(time.Duration(n) * time.Minute)}
}

func chainOf(ns ...int) []model.Push {
	var out []model.Push
	for _, n := range ns {
		out = append(out, push(n))
	}
	return out
}

// Pushes 2 and 5 are direct pushes; every other push n merges PR #n.
func isDirect(n int) bool { return n == 2 || n == 5 }

func subj(n int) string {
	if isDirect(n) {
		return repo + "@" + sha(n)
	}
	return fmt.Sprintf("%s#%d", repo, n)
}

func changes(max int) []model.Change {
	var out []model.Change
	for n := 1; n <= max; n++ {
		if isDirect(n) {
			out = append(out, model.Change{Subject: subj(n), Kind: model.KindDirectPush, Repo: repo, SHA: sha(n),
				Before: sha(n - 1), Pusher: "deploy-bot", OccurredAt: push(n).PushedAt})
			continue
		}
		out = append(out, model.Change{Subject: subj(n), Kind: model.KindPullRequest, Repo: repo, Number: n,
			MergeCommitSHA: sha(n), Author: "alice", OccurredAt: push(n).PushedAt})
	}
	return out
}

// prior gives every change up to max the verdicts of a reviewed change (a
// direct push by an exempt pusher for 2 and 5), then applies over:
// subject -> rule -> outcome, "" removing the finding.
func prior(max int, over map[string]map[string]model.Outcome) map[string]map[string]model.Finding {
	p := map[string]map[string]model.Finding{}
	for n := 1; n <= max; n++ {
		s := subj(n)
		p[s] = map[string]model.Finding{}
		if isDirect(n) {
			p[s]["CM-1"] = model.Finding{Rule: "CM-1", Subject: s, Outcome: model.NotApplicable}
			continue
		}
		for _, r := range reviewRules {
			p[s][r] = model.Finding{Rule: r, Subject: s, Outcome: model.Pass}
		}
	}
	for s, rules := range over {
		if p[s] == nil {
			p[s] = map[string]model.Finding{}
		}
		for r, o := range rules {
			if o == "" {
				delete(p[s], r)
				continue
			}
			p[s][r] = model.Finding{Rule: r, Subject: s, Outcome: o}
		}
	}
	return p
}

// deploy is a successful production deploy of api at t0+min minutes.
func deploy(id, commit string, min int) model.Deploy {
	at := t0.Add(time.Duration(min) * time.Minute)
	return model.Deploy{ID: id, Source: "api", Service: "api", Environment: "production", SHA: commit, Repo: repo,
		Status: "success", Actor: "ci", StartedAt: at.Add(-time.Minute), FinishedAt: at,
		URL: "https://ci.example.com/runs/" + id}
}

func with(d model.Deploy, f func(*model.Deploy)) model.Deploy { f(&d); return d }

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		pushes  []model.Push
		max     int // changes and prior findings exist for pushes 1..max
		over    map[string]map[string]model.Outcome
		merges  map[string]int // RepoEvidence.MergeCommits
		deploys []model.Deploy // the last one is judged
		outcome model.Outcome
		reason  string
		shipped []string
		failed  []string
	}{
		{
			name:   "deployed commit not on the default branch",
			pushes: chainOf(1, 2, 3), max: 3,
			deploys: []model.Deploy{deploy("7", sha(99), 10)},
			outcome: model.Fail,
			reason:  "deployed commit " + sha(99) + " is not on the default branch of acme/api (unknown or unmerged code)",
		},
		{
			name:   "first recorded deploy ships only the change that produced the commit",
			pushes: chainOf(1, 2, 3), max: 3,
			deploys: []model.Deploy{deploy("7", sha(3), 10)},
			outcome: model.Pass, reason: "ships 1 change, reviewed: acme/api#3",
			shipped: []string{"acme/api#3"},
		},
		{
			name:   "first deploy of a direct push, failed CM-1",
			pushes: chainOf(1, 2), max: 2,
			over:    map[string]map[string]model.Outcome{subj(2): {"CM-1": model.Fail}},
			deploys: []model.Deploy{deploy("7", sha(2), 10)},
			outcome: model.Fail, reason: "ships 1 change that failed review: acme/api@" + sha(2) + " (CM-1)",
			shipped: []string{subj(2)}, failed: []string{subj(2)},
		},
		{
			name:   "ships every change since the previous deploy, in chain order",
			pushes: chainOf(1, 2, 3, 4, 5, 6), max: 6,
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(6), 20)},
			outcome: model.Pass,
			reason:  "ships 4 changes, all reviewed: acme/api#3, acme/api#4, acme/api@" + sha(5) + ", acme/api#6",
			shipped: []string{"acme/api#3", "acme/api#4", subj(5), "acme/api#6"},
		},
		{
			name:   "failed changes listed in chain order with their controls",
			pushes: chainOf(1, 2, 3, 4, 5, 6), max: 6,
			over: map[string]map[string]model.Outcome{
				"acme/api#4": {"CM-2": model.Fail, "CM-3": ""},
				subj(5):      {"CM-1": model.Fail},
				"acme/api#6": {"CM-3": model.Fail},
			},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(6), 20)},
			outcome: model.Fail,
			reason:  "ships 3 changes that failed review: acme/api#4 (CM-2), acme/api@" + sha(5) + " (CM-1), acme/api#6 (CM-3)",
			shipped: []string{"acme/api#3", "acme/api#4", subj(5), "acme/api#6"},
			failed:  []string{"acme/api#4", subj(5), "acme/api#6"},
		},
		{
			name:   "a shipped change whose required checks failed (CM-7)",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over: map[string]map[string]model.Outcome{
				"acme/api#4": {"CM-7": model.Fail},
			},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Fail,
			reason:  "ships 1 change that failed review: acme/api#4 (CM-7)",
			shipped: []string{"acme/api#3", "acme/api#4"},
			failed:  []string{"acme/api#4"},
		},
		{
			name:   "a fail decides over pending and error",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over: map[string]map[string]model.Outcome{
				"acme/api#3": {"CM-2": model.Pending, "CM-3": ""},
				"acme/api#4": {"CM-1": model.Fail, "CM-2": model.Error},
			},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Fail, reason: "ships 1 change that failed review: acme/api#4 (CM-1)",
			shipped: []string{"acme/api#3", "acme/api#4"}, failed: []string{"acme/api#4"},
		},
		{
			name:   "waived fails are not fails",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over:    map[string]map[string]model.Outcome{"acme/api#3": {"CM-2": model.Waived, "CM-3": ""}},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Pass,
			reason:  "ships 2 changes, all reviewed or waived: acme/api#3, acme/api#4; waived: acme/api#3 (CM-2)",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "one pending change",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over:    map[string]map[string]model.Outcome{"acme/api#4": {"CM-2": model.Pending, "CM-3": ""}},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Pending, reason: "ships acme/api#4 whose CM-2 is pending",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "several pending changes",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over: map[string]map[string]model.Outcome{
				"acme/api#3": {"CM-2": model.Pending, "CM-3": ""},
				"acme/api#4": {"CM-2": model.Pending, "CM-3": ""},
			},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Pending, reason: "ships 2 changes whose review is pending: acme/api#3 (CM-2), acme/api#4 (CM-2)",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "a change never judged is an error, not a pass",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over: map[string]map[string]model.Outcome{
				"acme/api#3": {"CM-1": "", "CM-2": "", "CM-3": ""},
				"acme/api#4": {"CM-2": model.Error, "CM-3": ""},
			},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Error,
			reason:  "cannot tell whether the shipped changes passed review: acme/api#3 (no CM-1 finding), acme/api#4 (CM-2 error)",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "an error decides over pending",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over: map[string]map[string]model.Outcome{
				"acme/api#3": {"CM-3": model.Error},
				"acme/api#4": {"CM-2": model.Pending, "CM-3": ""},
			},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Error,
			reason:  "cannot tell whether the shipped changes passed review: acme/api#3 (CM-3 error)",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "gap in the chain is an error, never a fail",
			pushes: chainOf(1, 2, 3, 5, 6), max: 6,
			over:    map[string]map[string]model.Outcome{subj(5): {"CM-1": model.Fail}},
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(6), 20)},
			outcome: model.Error,
			reason: "chain from " + sha(2) + " (deployed by api@production@1) to " + sha(6) +
				" is broken (evidence incomplete): no recorded push moved the default branch to " + sha(4),
		},
		{
			name:    "chain that begins after the previous deploy's commit is an error",
			pushes:  append(chainOf(1, 2), model.Push{Repo: repo, Before: sha(0), After: sha(3), PushedAt: push(3).PushedAt}),
			max:     3,
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(3), 20)},
			outcome: model.Error,
			reason: "chain from " + sha(2) + " (deployed by api@production@1) to " + sha(3) +
				" is broken (evidence incomplete): the recorded chain begins at " + sha(3),
		},
		{
			name:   "redeploy of the same commit, to another production environment",
			pushes: chainOf(1, 2, 3), max: 3,
			deploys: []model.Deploy{deploy("1", sha(3), 10),
				with(deploy("2", sha(3), 20), func(d *model.Deploy) { d.Environment = "PROD" })},
			outcome: model.Pass, reason: "ships no new changes: " + sha(3) + " was already deployed by api@production@1",
		},
		{
			name:   "rollback to an earlier commit",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			over:    map[string]map[string]model.Outcome{"acme/api#4": {"CM-2": model.Fail, "CM-3": ""}},
			deploys: []model.Deploy{deploy("1", sha(4), 10), deploy("2", sha(1), 20)},
			outcome: model.Pass,
			reason:  "ships no new changes: rollback to " + sha(1) + ", which precedes " + sha(4) + " deployed by api@production@1",
		},
		{
			name:   "previous deploy of unknown code is skipped",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(99), 15), deploy("3", sha(4), 20)},
			outcome: model.Pass, reason: "ships 2 changes, all reviewed: acme/api#3, acme/api#4",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "previous deploy is by event time, not by order of arrival; other services ignored",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			deploys: []model.Deploy{
				deploy("2", sha(3), 15),
				deploy("1", sha(1), 10),
				with(deploy("x", sha(1), 18), func(d *model.Deploy) { d.Service = "worker" }),
				deploy("3", sha(4), 20),
			},
			outcome: model.Pass, reason: "ships 1 change, reviewed: acme/api#4",
			shipped: []string{"acme/api#4"},
		},
		{
			name:   "same deploy time: id breaks the tie, numerically",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			// Judging 10: 9 precedes it, as a number though not as a string.
			deploys: []model.Deploy{deploy("9", sha(2), 10), deploy("10", sha(4), 10)},
			outcome: model.Pass, reason: "ships 2 changes, all reviewed: acme/api#3, acme/api#4",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name:   "failed and non-production deploys do not bound the chain",
			pushes: chainOf(1, 2, 3, 4), max: 4,
			deploys: []model.Deploy{
				deploy("1", sha(1), 5),
				with(deploy("2", sha(2), 10), func(d *model.Deploy) { d.Status = model.DeployFailure }),
				with(deploy("3", sha(3), 12), func(d *model.Deploy) { d.Environment = "staging" }),
				deploy("4", sha(4), 20),
			},
			outcome: model.Pass,
			reason:  "ships 3 changes, all reviewed: acme/api@" + sha(2) + ", acme/api#3, acme/api#4",
			shipped: []string{subj(2), "acme/api#3", "acme/api#4"},
		},
		{
			name: "pushes recorded out of order within one second",
			pushes: func() []model.Push {
				p := chainOf(1, 2, 3, 4)
				p[3].PushedAt = p[2].PushedAt
				p[2], p[3] = p[3], p[2]
				return p
			}(),
			max:     4,
			deploys: []model.Deploy{deploy("1", sha(2), 10), deploy("2", sha(4), 20)},
			outcome: model.Pass, reason: "ships 2 changes, all reviewed: acme/api#3, acme/api#4",
			shipped: []string{"acme/api#3", "acme/api#4"},
		},
		{
			name: "a branch moved back and forth ships each change once",
			pushes: append(chainOf(1, 2, 3),
				model.Push{Repo: repo, Before: sha(3), After: sha(2), Forced: true, PushedAt: t0.Add(4 * time.Minute)},
				model.Push{Repo: repo, Before: sha(2), After: sha(3), Forced: true, PushedAt: t0.Add(5 * time.Minute)}),
			max:     3,
			deploys: []model.Deploy{deploy("1", sha(1), 2), deploy("2", sha(3), 20)},
			outcome: model.Pass,
			// First appearance on the chain sets the order.
			reason:  "ships 2 changes, all reviewed: acme/api@" + sha(2) + ", acme/api#3",
			shipped: []string{subj(2), "acme/api#3"},
		},
		{
			name:   "long lists are capped in the reason, complete in the evidence",
			pushes: chainOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), max: 14,
			deploys: []model.Deploy{deploy("1", sha(1), 30), deploy("2", sha(14), 40)},
			outcome: model.Pass,
			reason: "ships 13 changes, all reviewed: acme/api@" + sha(2) + ", acme/api#3, acme/api#4, acme/api@" + sha(5) +
				", acme/api#6, acme/api#7, acme/api#8, acme/api#9, acme/api#10, acme/api#11, and 3 more",
			shipped: []string{subj(2), "acme/api#3", "acme/api#4", subj(5), "acme/api#6", "acme/api#7", "acme/api#8",
				"acme/api#9", "acme/api#10", "acme/api#11", "acme/api#12", "acme/api#13", "acme/api#14"},
		},
		{
			name:   "a merge known only from the merge-commit index ships its pull request",
			pushes: chainOf(1, 2, 3), max: 2,
			merges:  map[string]int{sha(3): 77},
			over:    map[string]map[string]model.Outcome{"acme/api#77": {"CM-1": model.Pass, "CM-2": model.Pass}},
			deploys: []model.Deploy{deploy("7", sha(3), 10)},
			outcome: model.Pass, reason: "ships 1 change, reviewed: acme/api#77",
			shipped: []string{"acme/api#77"},
		},
		{
			name:   "a push that is no derived change is a direct push with no verdicts",
			pushes: chainOf(1, 2, 3), max: 2,
			deploys: []model.Deploy{deploy("7", sha(3), 10)},
			outcome: model.Error,
			reason:  "cannot tell whether the shipped changes passed review: acme/api@" + sha(3) + " (no CM-1 finding)",
			shipped: []string{"acme/api@" + sha(3)},
		},
		{
			name:   "deploy without a commit",
			pushes: chainOf(1), max: 1,
			deploys: []model.Deploy{deploy("7", "", 10)},
			outcome: model.Error, reason: "deploy 7 names no commit SHA",
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Now: t0.Add(48 * time.Hour),
				ProductionEnvironments: []string{"production", "prod"}, Prior: prior(tc.max, tc.over)}
			ev := &model.RepoEvidence{Repo: repo, Pushes: tc.pushes, Changes: changes(tc.max), Deploys: tc.deploys,
				MergeCommits: tc.merges}
			d := tc.deploys[len(tc.deploys)-1]
			var f *model.Finding
			got := Control{}.Check(env, ev)
			for i := range got {
				if got[i].Subject == d.Subject() {
					f = &got[i]
				}
			}
			if f == nil {
				t.Fatalf("no finding on %s in %+v", d.Subject(), got)
			}
			seen = append(seen, f.Outcome)
			if f.Rule != "CM-5" || f.Repo != repo || !f.OccurredAt.Equal(d.FinishedAt) {
				t.Errorf("rule/repo/occurred = %q %q %v", f.Rule, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			if f.Evidence.SHA != d.SHA || f.Evidence.URL != d.URL {
				t.Errorf("evidence sha/url = %q %q", f.Evidence.SHA, f.Evidence.URL)
			}
			if !slices.Equal(f.Evidence.Shipped, tc.shipped) {
				t.Errorf("shipped = %q\nwant      %q", f.Evidence.Shipped, tc.shipped)
			}
			if !slices.Equal(f.Evidence.FailedChanges, tc.failed) {
				t.Errorf("failed = %q, want %q", f.Evidence.FailedChanges, tc.failed)
			}
			if !f.EvaluatedAt.IsZero() || f.Waiver != nil {
				t.Errorf("check set evaluator fields: %v %v", f.EvaluatedAt, f.Waiver)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "CM-5" || def.Name != "deploy-traceable" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

// TestSubjects checks which deploys are judged: successful production
// deploys only, each subject once, in deploy order.
func TestSubjects(t *testing.T) {
	env := control.Env{Policy: control.DefaultPolicy(), ProductionEnvironments: []string{"production", "prod"},
		Prior: prior(3, nil)}
	ev := &model.RepoEvidence{Repo: repo, Pushes: chainOf(1, 2, 3), Changes: changes(3), Deploys: []model.Deploy{
		deploy("1", sha(1), 10),
		with(deploy("2", sha(2), 11), func(d *model.Deploy) { d.Environment = "staging" }),
		with(deploy("3", sha(2), 12), func(d *model.Deploy) { d.Status = model.DeployInProgress }),
		with(deploy("4", sha(2), 13), func(d *model.Deploy) { d.Status = model.DeployFailure }),
		with(deploy("5", sha(3), 14), func(d *model.Deploy) { d.Environment = "Prod"; d.Status = "SUCCESS" }),
		deploy("6", sha(99), 15),
		deploy("6", sha(3), 16), // the same deploy reported again: judged once, on its last report
	}}
	var got []string
	for _, f := range (Control{}).Check(env, ev) {
		got = append(got, f.Subject+" "+string(f.Outcome))
	}
	want := []string{"api@production@1 pass", "api@Prod@5 pass", "api@production@6 pass"}
	if !slices.Equal(got, want) {
		t.Errorf("findings = %q\nwant       %q", got, want)
	}

	env.ProductionEnvironments = nil
	if fs := (Control{}).Check(env, ev); len(fs) != 0 {
		t.Errorf("no production environments configured, got %+v", fs)
	}
}
