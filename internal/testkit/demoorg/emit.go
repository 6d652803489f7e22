package demoorg

import (
	"fmt"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// ev is one delivery before rendering.
type ev struct {
	at       time.Time // delivery order
	ord      int       // order among events of one PR at the same instant
	seq      int       // creation order, the final tie-break
	event    string
	key      string // stable, unique: the delivery id derives from it
	repo     *repo
	push     *fixture.PushEvent // set for pushes
	chain    bool               // a push to the default branch: before is the previous tip
	change   string             // for chain pushes: the change's subject
	pushedAt time.Time          // repository.pushed_at for non-push events
	build    func(e *ev) []byte
}

func (g *gen) newEv(at time.Time, ord int, event, key string, r *repo, build func(e *ev) []byte) *ev {
	e := &ev{at: at, ord: ord, seq: len(g.evs), event: event, key: key, repo: r, build: build}
	g.evs = append(g.evs, e)
	return e
}

// fxPR is the fixture view of p as seen at a moment: head is the head
// commit at that moment; merged/closed state only after the merge.
func (p *plan) fxPR(head string, afterMerge bool) fixture.PR {
	f := fixture.PR{
		Repo: p.repo.fx, Number: p.number, Author: p.author, Title: p.title, Body: p.body,
		HeadRef: p.branch, HeadSHA: head, Labels: p.labels, CreatedAt: p.created,
	}
	if afterMerge {
		if p.isMerged {
			f.Merged, f.MergedAt, f.MergedBy, f.MergeCommitSHA = true, p.merged, p.mergedBy, p.mergeSHA
		} else {
			f.ClosedAt = p.merged
		}
	}
	return f
}

// Event ordering at one instant for a PR: reviews (0) < closed (5) < push
// (6) < late review (7); a push-first PR puts its push at 4.
const (
	ordReview = iota
	ordSync
	ordPushFirst = 4
	ordClosed    = 5
	ordPush      = 6
	ordLate      = 7
)

func (g *gen) emitPR(p *plan) {
	subj := p.subject()
	g.newEv(p.created, 0, "pull_request", subj+"/opened", p.repo, func(e *ev) []byte {
		f := p.fxPR(p.heads[0], false)
		f.Repo.PushedAt = e.pushedAt
		return fixture.PullRequest("opened", f)
	})
	for k := 1; k < len(p.heads); k++ {
		head, before, sender := p.heads[k], p.heads[k-1], p.syncBy[k]
		g.newEv(p.headAt[k], ordSync, "pull_request", fmt.Sprintf("%s/synchronize/%d", subj, k), p.repo, func(e *ev) []byte {
			f := p.fxPR(head, false)
			f.Repo.PushedAt = e.pushedAt
			return fixture.Synchronize(f, sender, before, head)
		})
	}
	g.emitCheck(p)
	for i, rv := range p.reviews {
		at, ord := rv.at, ordReview
		if rv.late {
			at, ord = p.merged, ordLate
		}
		g.newEv(at, ord, "pull_request_review", fmt.Sprintf("%s/review/%d", subj, i), p.repo, func(e *ev) []byte {
			// The PR as GitHub shows it when the review is sent.
			f := p.fxPR(p.headAtTime(rv.at), !rv.at.Before(p.merged))
			f.Repo.PushedAt = e.pushedAt
			submitted := rv.submitted
			if submitted.IsZero() {
				submitted = rv.at
			}
			return fixture.PullRequestReview(rv.action, fixture.ReviewEvent{
				PR: f, ReviewID: rv.id, Reviewer: rv.reviewer, State: rv.state,
				CommitID: rv.commit, SubmittedAt: submitted, Sender: rv.sender,
			})
		})
	}
	g.newEv(p.merged, ordClosed, "pull_request", subj+"/closed", p.repo, func(e *ev) []byte {
		f := p.fxPR(p.head(), true)
		f.Repo.PushedAt = e.pushedAt
		return fixture.PullRequest("closed", f)
	})
	if !p.isMerged {
		return
	}
	var commits []fixture.Commit
	if p.repo.mergeCommits {
		commits = append(commits,
			fixture.Commit{SHA: p.head(), Message: p.title, Author: p.author, Timestamp: p.headAt[len(p.headAt)-1]},
			fixture.Commit{SHA: p.mergeSHA, Message: fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", p.number, g.o.Org, p.branch, p.title),
				Author: p.mergedBy, Committer: "web-flow", Timestamp: p.merged})
	} else {
		commits = append(commits, fixture.Commit{SHA: p.mergeSHA, Message: fmt.Sprintf("%s (#%d)", p.title, p.number),
			Author: p.author, Committer: "web-flow", Timestamp: p.merged})
	}
	ord := ordPush
	if p.pushFirst {
		ord = ordPushFirst
	}
	pe := &fixture.PushEvent{Repo: p.repo.fx, After: p.mergeSHA, Pusher: p.mergedBy, PushedAt: p.merged, Commits: commits}
	e := g.newEv(p.merged, ord, "push", subj+"/push", p.repo, func(e *ev) []byte { return fixture.Push(*e.push) })
	e.push, e.chain, e.change = pe, true, subj
}

// expectPR records p's categories and expected outcomes.
func (g *gen) expectPR(p *plan) {
	s := p.subject()
	if !p.repo.inScope {
		g.add(CatOutOfScope, s)
		return
	}
	g.add(p.cat, s)
	if p.cat == CatClosedUnmerged {
		return
	}
	for _, f := range p.flags {
		g.add(f, s)
	}
	if p.pushFirst {
		g.add(CatWithdrawnDirectPush, p.repo.full+"@"+p.mergeSHA)
		g.expect("CM-1", p.repo.full+"@"+p.mergeSHA, model.NotApplicable)
	}
	if p.tickets {
		g.add(CatTicketLinked, s)
		g.expect("CM-4", s, model.Pass)
	} else {
		g.add(CatTicketMissing, s)
		g.expect("CM-4", s, model.Fail)
	}
	g.expect("CM-1", s, model.Pass)
	if p.isMerged {
		if p.check == "success" {
			g.expect("CM-7", s, model.Pass)
		} else {
			g.expect("CM-7", s, model.Fail)
		}
	}
	switch p.cat {
	case CatApproved, CatBotAuthored:
		g.expect("CM-2", s, model.Pass)
		g.expect("CM-3", s, model.Pass)
	case CatStaleApproval:
		g.expect("CM-2", s, model.Pass)
		g.expect("CM-3", s, model.Fail)
	case CatEmergencyRetro:
		g.expect("CM-2", s, model.Pass)
	case CatEmergencyPending:
		g.expect("CM-2", s, model.Pending)
	default:
		g.expect("CM-2", s, model.Fail)
	}
}
