package cm7

import (
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const (
	head  = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
	older = "0c1f7f7f4d0bd3fd8fb2bb0e2f5e5e3a35c1a3f4"
)

var mergedAt = time.Date(2026, 2, 27, 10, 0, 0, 0, time.UTC)

func run(name, state string, at time.Time) model.CheckResult {
	return model.CheckResult{Repo: "acme/pay", SHA: head, Name: name, Kind: model.CheckKindRun, State: state, At: at, DeliveryID: "d-" + name + "-" + state}
}

func status(name, state string, at time.Time) model.CheckResult {
	r := run(name, state, at)
	r.Kind = model.CheckKindStatus
	r.DeliveryID = "s-" + name + "-" + state
	return r
}

func pr(checks ...model.CheckResult) model.Change {
	return model.Change{Subject: "acme/pay#42", Kind: model.KindPullRequest, Repo: "acme/pay", OccurredAt: mergedAt,
		Number: 42, Author: "alice", HeadSHA: head, Checks: checks, Labels: []string{"hotfix"}}
}

func TestCheck(t *testing.T) {
	before, after := mergedAt.Add(-time.Minute), mergedAt.Add(time.Minute)
	required := func(names ...string) func(*control.Policy) {
		return func(p *control.Policy) { p.RequiredChecks = names }
	}
	tests := []struct {
		name    string
		change  model.Change
		policy  func(*control.Policy)
		outcome model.Outcome
		reason  string
		checks  []string
	}{
		{
			name:    "every required check succeeded",
			change:  pr(run("ci/test", "success", before), status("lint", "success", before)),
			policy:  required("ci/test", "lint"),
			outcome: model.Pass, reason: "required checks passed on 9f8e7d6c…: ci/test (success), lint (success)",
			checks: []string{"ci/test: check_run success", "lint: status success"},
		},
		{
			name:    "a required check failed",
			change:  pr(run("ci/test", "failure", before)),
			policy:  required("ci/test"),
			outcome: model.Fail, reason: `required check "ci/test" concluded failure on 9f8e7d6c…`,
			checks: []string{"ci/test: check_run failure"},
		},
		{
			name:    "a required check has no result",
			change:  pr(run("ci/test", "success", before)),
			policy:  required("ci/test", "lint"),
			outcome: model.Fail, reason: `required check "lint" has no result on 9f8e7d6c…`,
			checks: []string{"ci/test: check_run success"},
		},
		{
			name: "a result on another commit does not count",
			change: func() model.Change {
				r := run("ci/test", "success", before)
				r.SHA = older
				return pr(r)
			}(),
			policy:  required("ci/test"),
			outcome: model.Fail, reason: `required check "ci/test" has no result on 9f8e7d6c…`,
		},
		{
			name:    "only a result after the merge",
			change:  pr(run("ci/test", "success", after)),
			policy:  required("ci/test"),
			outcome: model.Fail, reason: `required check "ci/test" has no result on 9f8e7d6c… before the merge`,
		},
		{
			name:    "still running at the merge",
			change:  pr(run("ci/test", "in_progress", before.Add(-time.Minute)), run("ci/test", "success", after)),
			policy:  required("ci/test"),
			outcome: model.Fail, reason: `required check "ci/test" was in_progress at the merge on 9f8e7d6c…`,
			checks: []string{"ci/test: check_run in_progress"},
		},
		{
			name:    "a pending status at the merge",
			change:  pr(status("ci/test", "pending", before)),
			policy:  required("ci/test"),
			outcome: model.Fail, reason: `required check "ci/test" was pending at the merge on 9f8e7d6c…`,
			checks: []string{"ci/test: status pending"},
		},
		{
			name:    "a failed run re-run to success before the merge",
			change:  pr(run("ci/test", "success", before), run("ci/test", "failure", before.Add(-time.Hour))),
			policy:  required("ci/test"),
			outcome: model.Pass, reason: "required checks passed on 9f8e7d6c…: ci/test (success)",
			checks: []string{"ci/test: check_run success"},
		},
		{
			name:    "a status and a run of one name are one check: the latest decides",
			change:  pr(run("ci/test", "success", before.Add(-time.Hour)), status("ci/test", "error", before)),
			policy:  required("ci/test"),
			outcome: model.Fail, reason: `required check "ci/test" concluded error on 9f8e7d6c…`,
			checks: []string{"ci/test: status error"},
		},
		{
			name:    "neutral and skipped runs pass by default",
			change:  pr(run("ci/test", "neutral", before), run("lint", "skipped", before)),
			policy:  required("ci/test", "lint"),
			outcome: model.Pass, reason: "required checks passed on 9f8e7d6c…: ci/test (neutral), lint (skipped)",
			checks: []string{"ci/test: check_run neutral", "lint: check_run skipped"},
		},
		{
			name:   "neutral fails when checks_allow_neutral is off",
			change: pr(run("ci/test", "neutral", before)),
			policy: func(p *control.Policy) {
				p.RequiredChecks, p.ChecksAllowNeutral = []string{"ci/test"}, false
			},
			outcome: model.Fail, reason: `required check "ci/test" concluded neutral on 9f8e7d6c…`,
			checks: []string{"ci/test: check_run neutral"},
		},
		{
			name:    "every failing check is named",
			change:  pr(run("ci/test", "cancelled", before), run("lint", "timed_out", before)),
			policy:  required("ci/test", "lint", "scan"),
			outcome: model.Fail, reason: `required check "ci/test" concluded cancelled on 9f8e7d6c…; required check "lint" concluded timed_out on 9f8e7d6c…; required check "scan" has no result on 9f8e7d6c…`,
			checks: []string{"ci/test: check_run cancelled", "lint: check_run timed_out"},
		},
		{
			name: "final head commit unknown",
			change: func() model.Change {
				c := pr()
				c.HeadSHA = ""
				return c
			}(),
			policy:  required("ci/test"),
			outcome: model.Error, reason: "final head commit of pull request #42 unknown: its checks cannot be found",
		},
		{
			name: "merge time unknown",
			change: func() model.Change {
				c := pr()
				c.OccurredAt = time.Time{}
				return c
			}(),
			policy:  required("ci/test"),
			outcome: model.Error, reason: "merge time of pull request #42 unknown: checks cannot be told from later runs",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Now: mergedAt.Add(time.Hour)}
			tc.policy(&env.Policy)
			// The order results were learned in never matters.
			for _, reverse := range []bool{false, true} {
				c := tc.change
				c.Checks = slices.Clone(c.Checks)
				if reverse {
					slices.Reverse(c.Checks)
				}
				got := Control{}.Check(env, &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{c}})
				if len(got) != 1 {
					t.Fatalf("got %d findings, want 1", len(got))
				}
				f := got[0]
				if f.Rule != "CM-7" || f.Subject != "acme/pay#42" || f.Outcome != tc.outcome || f.Reason != tc.reason {
					t.Errorf("got %s %s %s %q\nwant outcome %s reason %q", f.Rule, f.Subject, f.Outcome, f.Reason, tc.outcome, tc.reason)
				}
				if !slices.Equal(f.Evidence.Checks, tc.checks) {
					t.Errorf("evidence checks %q, want %q", f.Evidence.Checks, tc.checks)
				}
			}
		})
	}
}

// Without policy.required_checks CM-7 is not evaluated at all.
func TestNotEvaluatedWithoutRequiredChecks(t *testing.T) {
	env := control.Env{Policy: control.DefaultPolicy()}
	if got := (Control{}).Check(env, &model.RepoEvidence{Changes: []model.Change{pr()}}); got != nil {
		t.Errorf("findings %+v, want none", got)
	}
}
