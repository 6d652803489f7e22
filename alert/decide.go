package alert

import (
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
)

// Transitions name what an alert is about; they are the last part of its
// id.
const (
	// TransitionFail: the finding became fail.
	TransitionFail = "fail"
	// TransitionBreakGlass: a subject of a control alerted on every
	// judgement (break-glass access) was judged.
	TransitionBreakGlass = "break-glass"
)

// policies is each control's alert policy, from its definition: alert
// names no control.
var policies = func() map[string]control.AlertPolicy {
	m := map[string]control.AlertPolicy{}
	for _, d := range rules.Catalogue() {
		m[d.ID] = d.Alert
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
// when it is not alerted, by its control's alert policy: "fail" for a
// fail of a control alerted on fail; "break-glass" for every judged
// subject (pass, fail or waived; not pending, error or not_applicable,
// which are no judgement) of a control alerted on every judgement.
func Transition(f model.Finding) string {
	switch policies[f.Rule] {
	case control.AlertEveryJudgement:
		switch f.Outcome {
		case model.Pass, model.Fail, model.Waived:
			return TransitionBreakGlass
		}
	case control.AlertOnFail:
		if f.Outcome == model.Fail {
			return TransitionFail
		}
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
func Decide(changed []model.Finding, now time.Time, grace time.Duration) []outbox.Alert {
	var out []outbox.Alert
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
		out = append(out, outbox.Alert{ID: id, Rule: f.Rule, Subject: f.Subject, Transition: tr, Repo: f.Repo,
			CreatedAt: now, DueAt: due, State: outbox.Queued, Finding: f})
	}
	return out
}
