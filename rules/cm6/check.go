package cm6

import (
	"fmt"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// Check judges every branch protection event and every state of a
// ruleset protecting the default branch in ev.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	var out []model.Finding
	for _, p := range ev.Protections {
		out = append(out, judge(env.Policy, p))
	}
	// The repository's own rulesets (and those backfill read for it), and
	// its organisation's rulesets (webhooks without a repository) that
	// target it, each state a subject of this repository.
	owner, _, _ := strings.Cut(ev.Repo, "/")
	branch := ""
	for _, r := range ev.Rulesets {
		var f model.Finding
		var ok bool
		switch {
		case r.Repo == ev.Repo:
			f, ok = judgeRuleset(env.Policy, r)
		case r.Repo == "" && strings.EqualFold(r.Org, owner):
			if branch == "" {
				branch = defaultBranch(ev)
			}
			f, ok = judgeOrgRuleset(env.Policy, r, ev.Repo, branch)
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

func judge(pol control.Policy, p model.ProtectionEvent) model.Finding {
	f := model.Finding{
		Rule:       ID,
		Subject:    p.Repo + ":protection@" + p.DeliveryID,
		Repo:       p.Repo,
		OccurredAt: p.OccurredAt,
		// The sender made the change to the control, so it is its author.
		Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: p.Sender}, SourceEvidence: model.SourceEvidence{DeliveryIDs: []string{p.DeliveryID}}},
	}
	rule := "branch protection rule " + p.RuleName
	action := strings.ToLower(p.Action)
	switch action {
	case "deleted":
		f.Outcome = model.Fail
		f.Reason = fmt.Sprintf("%s deleted by %s", rule, p.Sender)
	case "created", "edited":
		weak := weakened(pol, p)
		f.Evidence.Settings = weak
		if len(weak) > 0 {
			f.Outcome = model.Fail
			f.Reason = fmt.Sprintf("%s weakened by %s: %s", rule, p.Sender, strings.Join(weak, "; "))
		} else {
			f.Outcome = model.Pass
			f.Reason = fmt.Sprintf("%s %s by %s meets policy", rule, action, p.Sender)
		}
	default:
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("%s changed by %s with unknown action %q", rule, p.Sender, p.Action)
	}
	return f
}

// weakened lists the resulting settings that fall short of policy, named as
// GitHub names them so that an administrator can find each one.
func weakened(pol control.Policy, p model.ProtectionEvent) []string {
	var weak []string
	if strings.EqualFold(p.ReviewEnforcement, "off") {
		weak = append(weak, "pull_request_reviews_enforcement_level off")
	}
	if need := control.RequiredApprovals(pol); p.RequiredApprovals < need {
		weak = append(weak, fmt.Sprintf("required_approving_review_count %d < %d", p.RequiredApprovals, need))
	}
	// Without stale-review dismissal, CM-3's requirement is not enforced.
	if !p.DismissStale && pol.RequireApprovalOnFinalCommit {
		weak = append(weak, "dismiss_stale_reviews_on_push false")
	}
	if !p.AdminEnforced && pol.RequireAdminEnforcement {
		weak = append(weak, "admin_enforced false")
	}
	return weak
}
