package demoorg

import (
	"fmt"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// directPushes adds pushes straight to default branches.
func (g *gen) directPushes() {
	type dp struct {
		repo   int
		pusher string
		msgs   []string
		ticket bool
	}
	list := []dp{
		{3, "frank", []string{"Fix typo in alert threshold"}, false},
		{0, "heidi", []string{"PAY-318 Raise refund limit for enterprise merchants"}, true},
		{1, GitHubActions, []string{"chore(release): 4.12.0"}, false},
		{2, "dave", []string{"Quick fix for statement totals", "Add missing test"}, false},
		{4, "ivan", []string{"Scratch commit"}, false},
	}
	for i, d := range list {
		r := g.repos[d.repo]
		at := g.mergeTime(6 * time.Hour)
		after := g.sha("direct", r.full, i)
		var commits []fixture.Commit
		for k, m := range d.msgs {
			sha := after
			if k < len(d.msgs)-1 {
				sha = g.sha("direct", r.full, i, k)
			}
			commits = append(commits, fixture.Commit{SHA: sha, Message: m, Author: d.pusher,
				Timestamp: at.Add(-time.Duration(len(d.msgs)-1-k) * 7 * time.Minute)})
		}
		pe := &fixture.PushEvent{Repo: r.fx, After: after, Pusher: d.pusher, PushedAt: at, Commits: commits}
		e := g.newEv(at, ordPush, "push", fmt.Sprintf("%s/direct/%d", r.full, i), r, func(e *ev) []byte { return fixture.Push(*e.push) })
		s := r.full + "@" + after
		e.push, e.chain, e.change = pe, true, s
		if !r.inScope {
			g.add(CatOutOfScope, s)
			continue
		}
		g.add(CatDirectPush, s)
		g.expect("CM-1", s, model.Fail)
		if d.ticket {
			g.add(CatTicketLinked, s)
			g.expect("CM-4", s, model.Pass)
		} else {
			g.add(CatTicketMissing, s)
			g.expect("CM-4", s, model.Fail)
		}
	}
}

// notChanges adds pushes that move no default branch: a feature branch's
// life (created, pushed to, deleted) and a tag.
func (g *gen) notChanges() {
	r := g.repos[0]
	at := g.mergeTime(7 * 24 * time.Hour)
	ref := "refs/heads/feature/" + r.ticket + "-4242-fx-cache"
	c1, c2 := g.sha("feature", r.full, 1), g.sha("feature", r.full, 2)
	tag := g.sha("tag", r.full)
	pushes := []fixture.PushEvent{
		{Repo: r.fx, Ref: ref, Before: fixture.ZeroSHA, After: c1, Pusher: "erin", Created: true, PushedAt: at,
			Commits: []fixture.Commit{{SHA: c1, Message: "Cache FX rates", Author: "erin", Timestamp: at}}},
		{Repo: r.fx, Ref: ref, Before: c1, After: c2, Pusher: "erin", PushedAt: at.Add(40 * time.Minute),
			Commits: []fixture.Commit{{SHA: c2, Message: "Expire cached rates", Author: "erin", Timestamp: at.Add(40 * time.Minute)}}},
		{Repo: r.fx, Ref: ref, Before: c2, After: fixture.ZeroSHA, Pusher: "erin", Deleted: true, PushedAt: at.Add(26 * time.Hour)},
		{Repo: r.fx, Ref: "refs/tags/v2.31.0", Before: fixture.ZeroSHA, After: tag, Pusher: "judy", Created: true, PushedAt: at.Add(27 * time.Hour)},
	}
	for i := range pushes {
		pe := &pushes[i]
		e := g.newEv(pe.PushedAt, ordPush, "push", fmt.Sprintf("%s/other/%d", r.full, i), r, func(e *ev) []byte { return fixture.Push(*e.push) })
		e.push = pe
		g.add(CatNotAChange, r.full+":"+pe.Ref+"@"+pe.After)
	}
}

// protection adds branch_protection_rule events. Their subjects use the
// delivery id, known only once ids are assigned, so categories are filled
// in render.
func (g *gen) protection() {
	now := g.o.Now
	good := func(r *repo, at time.Time) fixture.ProtectionRule {
		return fixture.ProtectionRule{Repo: r.fx, Action: "created", Name: r.branch, ReviewEnforcement: "everyone",
			RequiredApprovals: 1, DismissStale: true, AdminEnforced: true, UpdatedAt: at, Sender: protectionUser}
	}
	type bp struct {
		rule fixture.ProtectionRule
		cat  string
	}
	var list []bp
	for i, r := range g.repos[:4] {
		list = append(list, bp{good(r, now.AddDate(0, 0, -89).Add(time.Duration(i)*time.Hour)), CatProtectionOK})
	}
	weak := good(g.repos[2], now.AddDate(0, 0, -40))
	weak.Action, weak.ReviewEnforcement, weak.RequiredApprovals, weak.DismissStale = "edited", "non_admins", 0, false
	weak.CreatedAt = list[2].rule.UpdatedAt
	weak.Sender = "dave"
	weak.Changes = map[string]any{"required_approving_review_count": 1, "dismiss_stale_reviews_on_push": true,
		"pull_request_reviews_enforcement_level": "everyone"}
	list = append(list, bp{weak, CatProtectionWeakened})
	del := good(g.repos[3], now.AddDate(0, 0, -12))
	del.Action, del.CreatedAt = "deleted", list[3].rule.UpdatedAt
	list = append(list, bp{del, CatProtectionDeleted})
	sb := good(g.repos[4], now.AddDate(0, 0, -60))
	sb.ReviewEnforcement, sb.RequiredApprovals = "off", 0
	list = append(list, bp{sb, CatOutOfScope})

	for i, b := range list {
		rule := b.rule
		r := g.repoByFull(rule.Repo.FullName)
		cat := b.cat
		e := g.newEv(rule.UpdatedAt, 0, "branch_protection_rule", fmt.Sprintf("%s/protection/%d", r.full, i), r, func(e *ev) []byte {
			rule.Repo.PushedAt = e.pushedAt
			return fixture.BranchProtectionRule(rule)
		})
		g.protectionEvs = append(g.protectionEvs, protectionEv{e: e, cat: cat})
	}
}

type protectionEv struct {
	e       *ev
	cat     string
	ruleset int64 // a repository_ruleset event of this ruleset id
}

func (g *gen) repoByFull(full string) *repo {
	for _, r := range g.repos {
		if r.full == full {
			return r
		}
	}
	panic("demoorg: unknown repo " + full)
}
