package cm7

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// Check judges every merged pull request in ev, when checks are required.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	if len(env.Policy.RequiredChecks) == 0 {
		return nil
	}
	return control.EachChange(ev, model.KindPullRequest, func(c model.Change) (model.Finding, bool) {
		return judge(env.Policy, c), true
	})
}

func judge(pol control.Policy, c model.Change) model.Finding {
	f := control.ChangeFinding(ID, c)
	switch {
	case c.HeadSHA == "":
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("final head commit of pull request #%d unknown: its checks cannot be found", c.Number)
		return f
	case c.OccurredAt.IsZero():
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("merge time of pull request #%d unknown: checks cannot be told from later runs", c.Number)
		return f
	}
	sha := control.ShortSHA(c.HeadSHA)
	var bad, good []string
	for _, name := range pol.RequiredChecks {
		latest, after := decisive(c, name)
		for _, r := range c.Checks {
			if r.Name == name {
				f.Evidence.DeliveryIDs = appendNew(f.Evidence.DeliveryIDs, r.DeliveryID)
			}
		}
		switch {
		case latest == nil && after:
			bad = append(bad, fmt.Sprintf("required check %q has no result on %s before the merge", name, sha))
		case latest == nil:
			bad = append(bad, fmt.Sprintf("required check %q has no result on %s", name, sha))
		case passed(pol, *latest):
			good = append(good, fmt.Sprintf("%s (%s)", name, latest.State))
		case running(*latest):
			bad = append(bad, fmt.Sprintf("required check %q was %s at the merge on %s", name, latest.State, sha))
		default:
			bad = append(bad, fmt.Sprintf("required check %q concluded %s on %s", name, latest.State, sha))
		}
		if latest != nil {
			f.Evidence.Checks = append(f.Evidence.Checks, fmt.Sprintf("%s: %s %s", name, latest.Kind, latest.State))
		}
	}
	slices.Sort(f.Evidence.DeliveryIDs)
	if len(bad) > 0 {
		f.Outcome = model.Fail
		f.Reason = strings.Join(bad, "; ")
		return f
	}
	f.Outcome = model.Pass
	f.Reason = fmt.Sprintf("required checks passed on %s: %s", sha, strings.Join(good, ", "))
	return f
}

// decisive returns the latest result of check name on the final head
// commit at or before the merge (a check run and a status of that name
// alike), and whether there were results only after it. Results at the
// same instant are ordered by kind and state, so the verdict never depends
// on the order they were learned in.
func decisive(c model.Change, name string) (*model.CheckResult, bool) {
	var latest *model.CheckResult
	after := false
	for i := range c.Checks {
		r := &c.Checks[i]
		if r.Name != name || !strings.EqualFold(r.SHA, c.HeadSHA) {
			continue
		}
		if r.At.After(c.OccurredAt) {
			after = true
			continue
		}
		if latest == nil || compare(*r, *latest) > 0 {
			latest = r
		}
	}
	return latest, after
}

func compare(a, b model.CheckResult) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.State, b.State)
}

func passed(pol control.Policy, r model.CheckResult) bool {
	switch r.State {
	case "success":
		return true
	case "neutral", "skipped":
		return r.Kind == model.CheckKindRun && pol.ChecksAllowNeutral
	}
	return false
}

func running(r model.CheckResult) bool {
	switch r.State {
	case "queued", "in_progress", "pending", "waiting", "requested":
		return true
	}
	return false
}

func appendNew(ss []string, s string) []string {
	if s == "" || slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}
