package cm1

import (
	"fmt"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// Check judges every change in ev. A push that is a pull request's merge
// is not a direct push (docs/controls.md, "Change"): the derivation of ev.Changes
// leaves it out and the evaluator withdraws any provisional finding on it.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	return control.EachChange(ev, "", func(c model.Change) (model.Finding, bool) {
		f := control.ChangeFinding(ID, c)
		switch c.Kind {
		case model.KindPullRequest:
			f.Outcome = model.Pass
			f.Reason = fmt.Sprintf("merged via pull request #%d", c.Number)
			if c.MergedBy != "" {
				f.Reason += " by " + c.MergedBy
			}
		case model.KindDirectPush:
			f.Reason = fmt.Sprintf("direct push of %s by %s", c.SHA, c.Pusher)
			if exempt(env, c.Pusher) {
				f.Outcome = model.NotApplicable
				f.Reason += " (policy.direct_push_exempt)"
			} else {
				f.Outcome = model.Fail
			}
		default:
			return f, false
		}
		return f, true
	})
}

// exempt compares people, not logins, so that listing a person exempts
// every login they push with.
func exempt(env control.Env, pusher string) bool {
	for _, login := range env.Policy.DirectPushExempt {
		if env.Identities.SamePerson(login, pusher) {
			return true
		}
	}
	return false
}
