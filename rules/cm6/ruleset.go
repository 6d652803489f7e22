package cm6

import (
	"fmt"
	"path"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// judgeRuleset judges one state of a repository ruleset that targets the
// repository's default branch. ok is false for a ruleset that does not
// protect it (another branch, tags, pushes), which CM-6 does not judge.
func judgeRuleset(pol control.Policy, r model.RulesetEvent) (model.Finding, bool) {
	if !protectsDefault(r) {
		return model.Finding{}, false
	}
	f := model.Finding{
		Rule:       ID,
		Subject:    fmt.Sprintf("%s:ruleset/%d@%s", r.Repo, r.RulesetID, r.DeliveryID),
		Repo:       r.Repo,
		OccurredAt: r.OccurredAt,
		Evidence:   model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: r.Sender, URL: r.URL}, SourceEvidence: model.SourceEvidence{DeliveryIDs: []string{r.DeliveryID}}},
	}
	name := fmt.Sprintf("ruleset %q (id %d)", r.Name, r.RulesetID)
	action := strings.ToLower(r.Action)
	by := " " + action + " by " + r.Sender
	if action == "observed" || r.Sender == "" {
		by = " as backfilled"
		if action != "observed" {
			by = " " + action
		}
	}
	switch action {
	case "deleted":
		f.Outcome = model.Fail
		f.Reason = name + by
		return f, true
	case "created", "edited", "observed":
	default:
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("%s changed by %s with unknown action %q", name, r.Sender, r.Action)
		return f, true
	}
	weak := rulesetWeakened(pol, r)
	f.Evidence.Settings = weak
	switch {
	case len(weak) > 0:
		f.Outcome = model.Fail
		f.Reason = name + by + ": " + strings.Join(weak, "; ")
	case !r.HasReviewRule:
		f.Outcome = model.Pass
		f.Reason = name + by + " weakens nothing; it holds no review rule"
	default:
		f.Outcome = model.Pass
		f.Reason = name + by + " meets policy"
	}
	return f, true
}

// rulesetWeakened lists what falls short of policy, named as GitHub names
// each setting.
func rulesetWeakened(pol control.Policy, r model.RulesetEvent) []string {
	var weak []string
	if !strings.EqualFold(r.Enforcement, "active") {
		w := "enforcement " + r.Enforcement
		if strings.EqualFold(r.EnforcementFrom, "active") {
			w += " (was active)"
		}
		weak = append(weak, w)
	}
	if r.ReviewRuleDeleted {
		weak = append(weak, "pull_request rule deleted")
	}
	if r.HasReviewRule {
		if need := control.RequiredApprovals(pol); r.RequiredApprovals < need {
			weak = append(weak, fmt.Sprintf("required_approving_review_count %d < %d", r.RequiredApprovals, need))
		}
		if !r.DismissStale && pol.RequireApprovalOnFinalCommit {
			weak = append(weak, "dismiss_stale_reviews_on_push false")
		}
	}
	// Whatever its bypass_mode, a bypass actor can merge without the
	// required approvals.
	for _, a := range r.BypassActors {
		if !allowed(pol.AllowedBypassActors, a) {
			weak = append(weak, "bypass actor "+a+" not allowed")
		}
	}
	return weak
}

func allowed(list []string, actor string) bool {
	for _, a := range list {
		if strings.EqualFold(a, actor) {
			return true
		}
	}
	return false
}

// protectsDefault reports whether the ruleset targets branches and its
// ref_name condition includes the default branch and does not exclude it.
// An unknown default branch (an old record) is taken to be included only
// by ~DEFAULT_BRANCH and ~ALL.
func protectsDefault(r model.RulesetEvent) bool {
	if r.Target != "" && !strings.EqualFold(r.Target, "branch") {
		return false
	}
	ref := "refs/heads/" + r.DefaultBranch
	match := func(pattern string) bool {
		switch pattern {
		case "~ALL", "~DEFAULT_BRANCH":
			return true
		}
		return r.DefaultBranch != "" && refMatch(pattern, ref)
	}
	in := false
	for _, p := range r.Include {
		in = in || match(p)
	}
	for _, p := range r.Exclude {
		if match(p) {
			return false
		}
	}
	return in
}

// refMatch matches a ref against a ruleset pattern: fnmatch, where "*"
// stays within a path segment and "**" crosses segments. A pattern without
// "refs/" is taken as a branch name, as GitHub's ruleset editor writes it.
func refMatch(pattern, ref string) bool {
	if !strings.HasPrefix(pattern, "refs/") {
		pattern = "refs/heads/" + pattern
	}
	if pattern == ref {
		return true
	}
	if strings.Contains(pattern, "**") {
		return globAll(pattern, ref)
	}
	ok, err := path.Match(pattern, ref)
	return err == nil && ok
}

// globAll matches pattern, whose "**" match any run of characters and
// whose single "*" match any run without "/", against s.
func globAll(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	if strings.HasPrefix(pattern, "**") {
		rest := strings.TrimLeft(pattern, "*")
		for i := 0; i <= len(s); i++ {
			if globAll(rest, s[i:]) {
				return true
			}
		}
		return false
	}
	if pattern[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if globAll(pattern[1:], s[i:]) {
				return true
			}
			if i < len(s) && s[i] == '/' {
				break
			}
		}
		return false
	}
	if s == "" {
		return false
	}
	if pattern[0] == '?' && s[0] != '/' || pattern[0] == s[0] {
		return globAll(pattern[1:], s[1:])
	}
	return false
}
