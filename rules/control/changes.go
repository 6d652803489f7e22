package control

import (
	"fmt"

	"github.com/changeproof/changeproof/model"
)

// ChangeFinding starts rule's finding on change c: subject, repository,
// occurrence time and the evidence every change-management control shows
// (where the change is, who made it, which commits). Controls add their
// outcome, reason and own evidence.
func ChangeFinding(rule string, c model.Change) model.Finding {
	f := model.Finding{
		Rule:       rule,
		Subject:    ChangeSubject(c),
		Repo:       c.Repo,
		OccurredAt: c.OccurredAt,
		Evidence:   model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: c.URL}},
	}
	switch c.Kind {
	case model.KindPullRequest:
		f.Evidence.Author = c.Author
		f.Evidence.MergedBy = c.MergedBy
		f.Evidence.HeadSHA = c.HeadSHA
		f.Evidence.MergeCommitSHA = c.MergeCommitSHA
		f.Evidence.Labels = c.Labels
	case model.KindDirectPush:
		f.Evidence.Pusher = c.Pusher
		f.Evidence.SHA = c.SHA
	}
	return f
}

// ChangeSubject is c's subject in the format of docs/controls.md, "Subjects": OWNER/REPO#N for a
// pull request, OWNER/REPO@<sha> for a direct push. The derived Subject is
// used when present so that findings always match the change they judge.
func ChangeSubject(c model.Change) string {
	if c.Subject != "" {
		return c.Subject
	}
	if c.Kind == model.KindPullRequest {
		return fmt.Sprintf("%s#%d", c.Repo, c.Number)
	}
	return c.Repo + "@" + c.SHA
}

// EachChange judges every change of ev of the given kind ("" = every kind)
// with judge, which returns false when the change is not a subject of the
// control. It is the loop every per-change control shares: the result is
// sized once (repositories have thousands of changes) and nil when no
// change is a subject.
func EachChange(ev *model.RepoEvidence, kind model.ChangeKind, judge func(c model.Change) (model.Finding, bool)) []model.Finding {
	var out []model.Finding
	for _, c := range ev.Changes {
		if kind != "" && c.Kind != kind {
			continue
		}
		f, ok := judge(c)
		if !ok {
			continue
		}
		if out == nil {
			out = make([]model.Finding, 0, len(ev.Changes))
		}
		out = append(out, f)
	}
	return out
}
