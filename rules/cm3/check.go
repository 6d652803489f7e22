package cm3

import (
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// Check judges every merged pull request in ev that CM-2 passes on
// pre-merge approvals. The subject test repeats CM-2's count through the
// shared analysis rather than reading CM-2's finding, so the check stays
// pure and the two controls agree by construction.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	if !env.Policy.RequireApprovalOnFinalCommit {
		return nil
	}
	return control.EachChange(ev, model.KindPullRequest, func(c model.Change) (model.Finding, bool) {
		// Without a merge time CM-2 cannot pass, so the pull request is
		// not a subject here either.
		if c.OccurredAt.IsZero() {
			return model.Finding{}, false
		}
		a := control.AnalyzeApprovals(env, c)
		need := control.RequiredFor(env.Policy, c.Author)
		if len(a.Approvers) < need {
			return model.Finding{}, false
		}
		return judge(env, c, a, need), true
	})
}

// approver is one person's qualifying approvals, seen against the final
// commit.
type approver struct {
	login  string // the login of the approval that covers, else of the latest one
	commit string // the latest approval's commit, when none covers
	covers bool
}

func judge(env control.Env, c model.Change, a control.Approvals, need int) model.Finding {
	f := control.ChangeFinding(ID, c)
	f.Evidence.Reviews = a.Reviews
	if c.HeadSHA == "" {
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("final head commit of pull request #%d unknown", c.Number)
		return f
	}
	byPerson := map[string]*approver{}
	for _, v := range a.Qualifying {
		p := env.Identities.Person(v.Reviewer)
		ap := byPerson[p]
		if ap == nil {
			ap = &approver{}
			byPerson[p] = ap
		}
		switch {
		case strings.EqualFold(v.CommitID, c.HeadSHA):
			if !ap.covers {
				ap.covers, ap.login = true, v.Reviewer
			}
		case !ap.covers:
			ap.login, ap.commit = v.Reviewer, v.CommitID
		}
	}
	var covering, stale []approver
	for _, ap := range byPerson {
		if ap.covers {
			covering = append(covering, *ap)
		} else {
			stale = append(stale, *ap)
		}
	}
	byLogin := func(x, y approver) int { return strings.Compare(strings.ToLower(x.login), strings.ToLower(y.login)) }
	slices.SortFunc(covering, byLogin)
	slices.SortFunc(stale, byLogin)

	if len(covering) >= need {
		f.Outcome = model.Pass
		if len(covering) == 1 {
			f.Reason = fmt.Sprintf("approval by %s covers final commit %s", covering[0].login, c.HeadSHA)
		} else {
			f.Reason = fmt.Sprintf("approvals by %s cover final commit %s", logins(covering), c.HeadSHA)
		}
		return f
	}
	f.Outcome = model.Fail
	var why string
	if len(stale) == 1 {
		why = fmt.Sprintf("approval by %s was for %s", stale[0].login, commitText(stale[0].commit, "an unknown commit"))
	} else {
		parts := make([]string, len(stale))
		for i, ap := range stale {
			parts[i] = fmt.Sprintf("%s (%s)", ap.login, commitText(ap.commit, "unknown commit"))
		}
		why = fmt.Sprintf("approvals by %s were for other commits", strings.Join(parts, ", "))
	}
	if len(covering) == 0 {
		f.Reason = fmt.Sprintf("%s, final commit is %s", why, c.HeadSHA)
	} else {
		f.Reason = fmt.Sprintf("%d of %d required approvals on final commit %s (%s); %s",
			len(covering), need, c.HeadSHA, logins(covering), why)
	}
	return f
}

func logins(aps []approver) string {
	s := make([]string, len(aps))
	for i, ap := range aps {
		s[i] = ap.login
	}
	return strings.Join(s, ", ")
}

// commitText names an approval's commit; GitHub can omit it on old reviews.
func commitText(sha, unknown string) string {
	if sha == "" {
		return unknown
	}
	return sha
}
