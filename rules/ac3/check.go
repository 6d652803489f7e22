package ac3

import (
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// CheckAccess judges every event of an in-scope system in ev whose
// principal belongs to a terminated person, in order.
func (Control) CheckAccess(env control.Env, ev *model.AccessEvidence) []model.Finding {
	var out []model.Finding
	for _, e := range ev.Events {
		if e.System == "" {
			e.System = ev.System
		}
		if _, ok := control.LookupSystem(env.Systems, e.System); !ok {
			continue
		}
		id, ok := terminated(env.Identities, e.Principal)
		if !ok {
			continue
		}
		f := model.Finding{
			Rule:       ID,
			Subject:    e.Subject(),
			OccurredAt: e.Time,
			Evidence:   model.Evidence{PrincipalEvidence: model.PrincipalEvidence{Principal: e.Principal, Person: id.Name, System: e.System, Role: e.Role, Ticket: e.Ticket}},
		}
		what := fmt.Sprintf("access by %s on %s", describe(id, e.Principal), e.System)
		f.Outcome, f.Reason = judgeTime(what, e.Time, id.TerminatedAt)
		if strings.EqualFold(e.Result, "failure") {
			f.Reason += " (attempt failed)"
		}
		out = append(out, f)
	}
	return out
}

// Check judges, in the order of ev.Changes, every merged pull request
// authored or merged by a terminated person, each review such a person
// submitted on it, and every direct push such a person made.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	var out []model.Finding
	for _, c := range ev.Changes {
		switch c.Kind {
		case model.KindPullRequest:
			if f, ok := judgePR(env, c); ok {
				out = append(out, f)
			}
			out = append(out, judgeReviews(env, c)...)
		case model.KindDirectPush:
			id, ok := terminated(env.Identities, c.Pusher)
			if !ok {
				continue
			}
			f := control.ChangeFinding(ID, c)
			f.Evidence.Person = id.Name
			what := fmt.Sprintf("direct push of %s by %s", c.SHA, describe(id, c.Pusher))
			f.Outcome, f.Reason = judgeTime(what, c.OccurredAt, id.TerminatedAt)
			out = append(out, f)
		}
	}
	return out
}

// party is a terminated person in one role on a pull request.
type party struct {
	role  string // "author", "merger" or "author and merger"
	login string
	id    model.Identity
}

func (p party) String() string {
	alias := ""
	if !strings.EqualFold(p.id.Name, p.login) {
		alias = "as " + p.login + ", "
	}
	return fmt.Sprintf("%s %s (%sterminated %s)", p.role, p.id.Name, alias, stamp(p.id.TerminatedAt))
}

// judgePR judges a merged pull request by its merge time against the
// termination of its author and of its merger: merging is an act of the
// merger, and a merge after the author left lands code no current employee
// is accountable for as its author.
func judgePR(env control.Env, c model.Change) (model.Finding, bool) {
	var parties []party
	author, authorGone := terminated(env.Identities, c.Author)
	if authorGone {
		parties = append(parties, party{"author", c.Author, author})
	}
	if merger, ok := terminated(env.Identities, c.MergedBy); ok {
		if authorGone && env.Identities.SamePerson(c.Author, c.MergedBy) {
			parties[0].role = "author and merger"
		} else {
			parties = append(parties, party{"merger", c.MergedBy, merger})
		}
	}
	if len(parties) == 0 {
		return model.Finding{}, false
	}
	f := control.ChangeFinding(ID, c)
	if c.OccurredAt.IsZero() {
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("merge time of pull request #%d unknown: cannot compare with termination of %s",
			c.Number, join(parties))
		return f, true
	}
	var late []party
	for _, p := range parties {
		if c.OccurredAt.After(p.id.TerminatedAt) {
			late = append(late, p)
		}
	}
	if len(late) > 0 {
		f.Outcome = model.Fail
		f.Reason = fmt.Sprintf("merged at %s after termination of %s", stamp(c.OccurredAt), join(late))
	} else {
		f.Outcome = model.Pass
		f.Reason = fmt.Sprintf("merged at %s before termination of %s", stamp(c.OccurredAt), join(parties))
	}
	return f, true
}

func join(ps []party) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " and ")
}

// judgeReviews judges each review id of c once, by the terminated
// reviewer's submission: edits and dismissals are part of the same review
// and do not make it a new act.
func judgeReviews(env control.Env, c model.Change) []model.Finding {
	gone := false
	for _, r := range c.Reviews {
		if _, ok := terminated(env.Identities, r.Reviewer); ok && r.ReviewID != 0 {
			gone = true
			break
		}
	}
	if !gone {
		return nil // nobody who left reviewed it: most pull requests
	}
	var order []int64
	first := map[int64]model.Review{}
	for _, r := range c.Reviews {
		if r.ReviewID == 0 {
			continue // no id, no stable subject
		}
		kept, seen := first[r.ReviewID]
		switch {
		case !seen:
			order = append(order, r.ReviewID)
			first[r.ReviewID] = r
		case !strings.EqualFold(kept.Action, "submitted") && strings.EqualFold(r.Action, "submitted"):
			// The submission, when seen, dates the review better than an
			// edit or dismissal recorded before it.
			first[r.ReviewID] = r
		}
	}
	var out []model.Finding
	for _, rid := range order {
		r := first[rid]
		id, ok := terminated(env.Identities, r.Reviewer)
		if !ok {
			continue
		}
		url := r.URL
		if url == "" {
			url = c.URL
		}
		f := model.Finding{
			Rule:       ID,
			Subject:    fmt.Sprintf("%s/review/%d", control.ChangeSubject(c), rid),
			Repo:       c.Repo,
			OccurredAt: r.SubmittedAt,
			Evidence:   model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: url, SHA: r.CommitID}, PrincipalEvidence: model.PrincipalEvidence{Principal: r.Reviewer, Person: id.Name}},
		}
		what := fmt.Sprintf("review %d", rid)
		if r.State != "" {
			what += " (" + strings.ToLower(r.State) + ")"
		}
		what += " by " + describe(id, r.Reviewer)
		f.Outcome, f.Reason = judgeTime(what, r.SubmittedAt, id.TerminatedAt)
		out = append(out, f)
	}
	return out
}

// judgeTime is the comparison every AC-3 subject comes down to. Happening
// exactly at the termination time is not "after" it.
func judgeTime(what string, at, term time.Time) (model.Outcome, string) {
	switch {
	case at.IsZero():
		return model.Error, fmt.Sprintf("%s has no time: cannot compare with termination at %s", what, stamp(term))
	case at.After(term):
		return model.Fail, fmt.Sprintf("%s at %s after termination at %s", what, stamp(at), stamp(term))
	default:
		return model.Pass, fmt.Sprintf("%s at %s before termination at %s", what, stamp(at), stamp(term))
	}
}

// terminated returns the identity of login when it has a termination time.
func terminated(ids model.Identities, login string) (model.Identity, bool) {
	if login == "" {
		return model.Identity{}, false
	}
	id, ok := ids.Lookup(login)
	return id, ok && !id.TerminatedAt.IsZero()
}

// describe names the person, and the login used too when it is not their
// identity name: "mallory (as mal-root)".
func describe(id model.Identity, login string) string {
	if strings.EqualFold(id.Name, login) {
		return id.Name
	}
	return id.Name + " (as " + login + ")"
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
