package alert

import (
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
)

// Transitions name what an alert is about; they are the last part of its
// id.
const (
	// TransitionFail: the finding became fail.
	TransitionFail = "fail"
	// TransitionBreakGlass: a break-glass access was judged (AC-2, pass
	// or fail).
	TransitionBreakGlass = "break-glass"
)

// BreakGlassRule is the control every subject of which is alerted.
const BreakGlassRule = "AC-2"

// FailRules are the controls whose first fail on a subject is alerted
// (docs/controls.md, "Alerts").
var FailRules = []string{"CM-1", "CM-2", "CM-3", "CM-5", "CM-6", "CM-7", "AC-1", "AC-3"}

var failRules = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range FailRules {
		m[r] = true
	}
	return m
}()

// ID is an alert's outbox key, "RULE|SUBJECT|TRANSITION". The same finding
// reaching the same transition again (re-evaluation, a re-sent event, a
// restart) has the same id, so it is queued, and sent, once.
func ID(rule, subject, transition string) string {
	return rule + "|" + subject + "|" + transition
}

// Transition returns the alert transition a finding's verdict makes, or ""
// when it is not alerted: "fail" for a fail of a FailRules control,
// "break-glass" for every judged AC-2 subject (pass, fail or waived; not
// pending, error or not_applicable, which are no judgement of the access).
func Transition(f model.Finding) string {
	switch {
	case f.Rule == BreakGlassRule:
		switch f.Outcome {
		case model.Pass, model.Fail, model.Waived:
			return TransitionBreakGlass
		}
	case failRules[f.Rule] && f.Outcome == model.Fail:
		return TransitionFail
	}
	return ""
}

// Decide turns changed findings (rules.Runner.OnFindings: each recorded
// change of verdict) into the alerts they owe, in input order, one per id.
// It is pure: whether an id was already queued or sent is the outbox's
// business (EnqueueAlerts skips known ids).
//
// A fail on a provisional direct-push subject (OWNER/REPO@<sha>) is due
// only at now+grace: a late pull_request event may still show the push was
// a pull request's merge, withdrawing the finding, and the sender then
// cancels the alert (Sender.Flush re-reads the finding when it is due).
// Every other alert is due at once.
func Decide(changed []model.Finding, now time.Time, grace time.Duration) []Alert {
	var out []Alert
	seen := map[string]bool{}
	for _, f := range changed {
		tr := Transition(f)
		if tr == "" {
			continue
		}
		id := ID(f.Rule, f.Subject, tr)
		if seen[id] {
			continue
		}
		seen[id] = true
		due := now
		if tr == TransitionFail && grace > 0 && IsDirectPush(f.Subject) {
			due = now.Add(grace)
		}
		out = append(out, Alert{ID: id, Rule: f.Rule, Subject: f.Subject, Transition: tr, Repo: f.Repo,
			CreatedAt: now, DueAt: due, State: store.AlertQueued, Finding: f})
	}
	return out
}
