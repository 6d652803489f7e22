package demoorg

import (
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Mallory is the person who left (Options.Operations): her identity has
// terminated_at three weeks before Now (terminatedAt), but nobody removed
// her from the GitHub organisation, the prod-db users or the bastion, so she
// keeps showing up after she left. That is what AC-3 exists to catch.
const Mallory = "mallory"

// terminatedAt is mallory's last moment of employment: 17:00 UTC on the
// day 21 days before Now, so that she has history on both sides of it.
func (g *gen) terminatedAt() time.Time {
	return g.o.Now.Truncate(24*time.Hour).AddDate(0, 0, -21).Add(17 * time.Hour)
}

// leaverPR is one of mallory's pull requests, by the role she plays in it.
type leaverPR struct {
	p    *plan
	role string // "author", "approver" or "late-commenter"
	rev  int    // index in p.reviews of her review, for the reviewer roles
}

// planLeaver adds three plain approved PRs that involve mallory, in the
// service repositories, before numbering:
//
//   - she authored and merged one before she left (AC-3 pass for the PR);
//   - she approved carol's before she left (AC-3 pass for the review, and a
//     qualifying approval: CM-2 does not care about employment);
//   - four days after she left she commented on dave's PR, which erin
//     approved (AC-3 fail for the review; CM-2 and CM-3 pass on erin's
//     approval).
//
// They are CatApproved like any other. They draw from g.x only, except for
// review ids, which must keep growing with g.reviewN.
func (g *gen) planLeaver() {
	term := g.terminatedAt()
	type spec struct {
		repo              *repo
		author, reviewer  string
		mergeAt, reviewAt time.Duration // relative to termination
		role              string
		title             string
	}
	specs := []spec{
		{g.repos[0], Mallory, "bob", -6*24*time.Hour - 5*time.Hour, -6*24*time.Hour - 7*time.Hour, "author", "PAY-2207 Hand over settlement batch job to the payments team"},
		{g.repos[2], "carol", Mallory, -3*24*time.Hour - 4*time.Hour, -3*24*time.Hour - 6*time.Hour, "approver", "LED-871 Reconcile FX revaluation entries"},
		{g.repos[1], "dave", "erin", 4*24*time.Hour - 3*time.Hour, 4*24*time.Hour - 5*time.Hour, "late-commenter", "PAY-2311 Show pending refunds in the order timeline"},
	}
	for _, s := range specs {
		merged := term.Add(s.mergeAt).Add(g.x.dur(0, 40*time.Minute)).Truncate(time.Second)
		p := &plan{idx: len(g.plans), repo: s.repo, cat: CatApproved, isMerged: true, author: s.author, mergedBy: s.author,
			title: s.title, tickets: true, merged: merged}
		p.created = merged.Add(-26*time.Hour - g.x.dur(0, 3*time.Hour)).Truncate(time.Second)
		p.branch = "feature/" + slug(s.title)
		_, what, _ := strings.Cut(s.title, " ")
		p.body = "This change: " + strings.ToLower(what[:1]) + what[1:] + ".\n\nTested in staging."
		p.heads = []string{g.sha("head", s.repo.full, p.idx, 0)}
		p.headAt = []time.Time{p.created}
		p.mergeSHA = g.sha("merge", s.repo.full, p.idx)
		reviewAt := term.Add(s.reviewAt).Truncate(time.Second)
		lp := leaverPR{p: p, role: s.role}
		switch s.role {
		case "author", "approver":
			lp.rev = len(p.reviews)
			g.review(p, s.reviewer, "approved", p.head(), reviewAt)
		case "late-commenter":
			g.review(p, s.reviewer, "approved", p.head(), reviewAt.Add(-2*time.Hour))
			lp.rev = len(p.reviews)
			g.review(p, Mallory, "commented", p.head(), reviewAt)
		}
		g.plans = append(g.plans, p)
		g.leaver = append(g.leaver, lp)
	}
}

// expectLeaver records AC-3 for mallory's PRs and reviews, once the PRs
// have numbers. The PR outcomes themselves come from expectPR.
func (g *gen) expectLeaver() {
	term := g.terminatedAt()
	for _, lp := range g.leaver {
		p := lp.p
		subj, at := p.subject(), p.merged
		if lp.role != "author" {
			rv := p.reviews[lp.rev]
			subj, at = fmt.Sprintf("%s/review/%d", p.subject(), rv.id), rv.at
		}
		g.terminated(subj, at, term)
	}
}

// terminated records an AC-3 subject of mallory's: fail after she left.
func (g *gen) terminated(subject string, at, term time.Time) {
	if at.After(term) {
		g.add(CatTerminatedAfter, subject)
		g.expect("AC-3", subject, model.Fail)
	} else {
		g.add(CatTerminatedBefore, subject)
		g.expect("AC-3", subject, model.Pass)
	}
}
