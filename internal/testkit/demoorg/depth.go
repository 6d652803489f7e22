package demoorg

import (
	"fmt"
	"slices"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// The newer change evidence in the demo history: contributors, bot
// approvals, required checks and rulesets. The policy the outcomes assume
// (Expectations.BotMinApprovals, RequiredChecks) is part of ConfigYAML.
const (
	// demoBotMinApprovals is policy.bot_min_approvals in the demo.
	demoBotMinApprovals = 2
	// demoCheck is the demo's one required check.
	demoCheck = "ci/test"
	// rulesetUser edits the ruleset to let a repository role bypass it.
	rulesetUser = "dave"
)

// depth shapes the newer evidence into the planned pull requests, without
// drawing from the generator's random streams (so everything else the
// demo generates stays as it was):
//   - the latest plain approved PR becomes a co-authored approval: its
//     approver pushes the final head before approving;
//   - the next one's required check fails (delivered after the merge);
//   - every bot-authored PR but the oldest gets a second human approval
//     (policy.bot_min_approvals: 2); the oldest has too few;
//   - every other merged PR's required check succeeds.
func (g *gen) depth() {
	var plain, bots []*plan
	for _, p := range g.plans {
		if !p.isMerged {
			continue
		}
		p.check = "success"
		if !p.repo.inScope {
			continue
		}
		switch {
		case p.cat == CatApproved && len(p.flags) == 0 && !p.pushFirst && len(p.reviews) == 1 &&
			p.reviews[0].state == "approved" && !p.reviews[0].late:
			plain = append(plain, p)
		case p.cat == CatBotAuthored && len(p.reviews) == 1:
			bots = append(bots, p)
		}
	}
	byMerge := func(a, b *plan) int { return a.merged.Compare(b.merged) }
	slices.SortFunc(plain, byMerge)
	slices.SortFunc(bots, byMerge)
	if n := len(plain); n > 0 {
		p := plain[n-1]
		rv := &p.reviews[0]
		last := p.headAt[len(p.headAt)-1]
		at := rv.at.Add(-5 * time.Minute)
		if !at.After(last) {
			at = last.Add(rv.at.Sub(last) / 2)
		}
		head := g.sha("co-author head", p.repo.full, p.idx)
		p.heads, p.headAt = append(p.heads, head), append(p.headAt, at.Truncate(time.Second))
		p.syncBy = map[int]string{len(p.heads) - 1: rv.reviewer}
		rv.commit = head
		p.cat = CatCoAuthoredApproval
	}
	if n := len(plain); n > 1 {
		p := plain[n-2]
		p.check, p.checkLate = "failure", true
		p.flags = append(p.flags, CatCheckFailed)
	}
	for i, p := range bots {
		if i == 0 {
			p.cat = CatBotTooFewApprovals
			continue
		}
		first := p.reviews[0]
		for _, h := range humans {
			if person(h) != person(first.reviewer) && person(h) != person(p.author) {
				g.reviewN += 7
				p.reviews = append(p.reviews, review{id: g.reviewN, action: "submitted", reviewer: h, state: "approved",
					commit: first.commit, at: first.at.Add(time.Minute)})
				break
			}
		}
	}
}

// emitCheck adds the check_run of p's required check on its final head,
// completed before the merge.
func (g *gen) emitCheck(p *plan) {
	if p.check == "" {
		return
	}
	last := p.headAt[len(p.headAt)-1]
	done := p.merged.Add(-3 * time.Minute)
	if !done.After(last) {
		done = last.Add(p.merged.Sub(last) / 2)
	}
	done = done.Truncate(time.Second)
	at, ord := done, ordReview
	if p.checkLate {
		at, ord = p.merged, ordLate
	}
	head, conclusion := p.head(), p.check
	g.newEv(at, ord, "check_run", p.subject()+"/check", p.repo, func(e *ev) []byte {
		return fixture.CheckRun(fixture.CheckRunEvent{Repo: p.repo.fx, Name: demoCheck, HeadSHA: head, Conclusion: conclusion,
			StartedAt: done.Add(-4 * time.Minute), CompletedAt: done, Sender: GitHubActions})
	})
}

// ruleset adds the edit of the first repository's ruleset that lets a
// repository role (RepositoryRole:5, a custom "maintain" role) bypass it.
func (g *gen) ruleset() {
	r := g.repos[0]
	at := g.o.Now.AddDate(0, 0, -20)
	e := g.newEv(at, 0, "repository_ruleset", fmt.Sprintf("%s/ruleset/42", r.full), r, func(e *ev) []byte {
		return fixture.RepositoryRuleset(fixture.RulesetEvent{Repo: r.fx, Action: "edited", ID: 42, Name: "main protection",
			Review: &fixture.ReviewRule{RequiredApprovals: 1, DismissStale: true},
			Bypass: []fixture.BypassActor{{Type: "RepositoryRole", ID: 5}}, UpdatedAt: at, Sender: rulesetUser})
	})
	g.protectionEvs = append(g.protectionEvs, protectionEv{e: e, cat: CatRulesetBypass, ruleset: 42})
}
