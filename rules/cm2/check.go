package cm2

import (
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// Check judges every merged pull request in ev.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	return control.EachChange(ev, model.KindPullRequest, func(c model.Change) (model.Finding, bool) {
		return judge(env, c), true
	})
}

func judge(env control.Env, c model.Change) model.Finding {
	f := control.ChangeFinding(ID, c)
	if c.OccurredAt.IsZero() {
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("merge time of pull request #%d unknown: approvals cannot be told from retro reviews", c.Number)
		return f
	}
	a := control.AnalyzeApprovals(env, c)
	f.Evidence.Reviews = a.Reviews
	// Dependency bots and coding agents: policy may want more eyes.
	need := control.RequiredFor(env.Policy, c.Author)
	bot := control.IsBot(env.Policy, c.Author)
	exempt := bot && strings.EqualFold(env.Policy.BotChanges, "exempt")
	if len(a.Approvers) >= need {
		f.Outcome = model.Pass
		f.Reason = "approved by " + strings.Join(a.Approvers, ", ")
		return f
	}
	if label, ok := emergencyLabel(env.Policy, c.Labels); ok {
		f.Outcome, f.Reason = emergency(env, c, a, label)
		return f
	}
	if exempt {
		f.Outcome = model.NotApplicable
		f.Reason = fmt.Sprintf("bot change by %s (policy.bot_changes: exempt)", c.Author)
		return f
	}
	f.Outcome = model.Fail
	if bot {
		f.Reason = fmt.Sprintf("bot-authored: %d of %d required human approvals", len(a.Approvers), need)
		if why := strings.Join(a.Uncounted, "; "); why != "" {
			f.Reason += "; " + why
		}
		return f
	}
	f.Reason = failReason(c, a, need)
	return f
}

// emergency judges a pull request that lacked approval at merge but was
// declared an emergency: one retro review within the window is enough,
// because the point is that someone independent looked at it soon after.
func emergency(env control.Env, c model.Change, a control.Approvals, label string) (model.Outcome, string) {
	prefix := fmt.Sprintf("emergency change (label %s): ", label)
	window := env.Policy.EmergencyReviewWindow
	deadline := c.OccurredAt.Add(window)
	for _, r := range a.Retro {
		if !r.SubmittedAt.After(deadline) {
			return model.Pass, prefix + fmt.Sprintf("retro review by %s at %s, within %s of merge",
				r.Reviewer, r.SubmittedAt.UTC().Format(time.RFC3339), formatWindow(window))
		}
	}
	if env.Open(deadline) {
		return model.Pending, prefix + "retro review window open until " + deadline.UTC().Format(time.RFC3339)
	}
	return model.Fail, prefix + fmt.Sprintf("no retro review within %s of merge", formatWindow(window))
}

// failReason says why each reviewer's approval did not count, so that the
// one-line reason is enough to see what went wrong.
func failReason(c model.Change, a control.Approvals, need int) string {
	why := strings.Join(a.Uncounted, "; ")
	switch {
	case len(c.Reviews) == 0:
		return "no reviews"
	case len(a.Approvers) > 0:
		r := fmt.Sprintf("%d of %d required approvals: approved by %s", len(a.Approvers), need, strings.Join(a.Approvers, ", "))
		if why != "" {
			r += "; " + why
		}
		return r
	case a.OnlySelfApproved:
		who := c.Author
		var aliases []string
		for _, l := range a.SelfApprovers {
			if !strings.EqualFold(l, c.Author) {
				aliases = append(aliases, l)
			}
		}
		if len(aliases) > 0 {
			who += " via " + strings.Join(aliases, ", ")
		}
		return "approved only by the author (" + who + ")"
	default:
		return "no qualifying approval: " + why
	}
}

// emergencyLabel returns the pull request's first label that policy
// declares an emergency label, as the pull request spells it.
func emergencyLabel(p control.Policy, labels []string) (string, bool) {
	for _, l := range labels {
		for _, e := range p.EmergencyLabels {
			if strings.EqualFold(l, e) {
				return l, true
			}
		}
	}
	return "", false
}

// formatWindow writes the window as it is configured ("72h", "90m") rather
// than time.Duration's "72h0m0s".
func formatWindow(d time.Duration) string {
	switch {
	case d != 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d != 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
