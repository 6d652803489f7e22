package demoorg

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

type plan struct {
	idx       int
	repo      *repo
	cat       string
	flags     []string
	number    int
	author    string
	mergedBy  string
	title     string
	body      string
	branch    string
	labels    []string
	created   time.Time
	merged    time.Time // merge (or close, when !isMerged) time
	isMerged  bool
	heads     []string    // head commits; the last is final
	headAt    []time.Time // when each head commit was pushed
	mergeSHA  string
	reviews   []review
	tickets   bool
	pushFirst bool
	// syncBy names who pushed head k (k >= 1) when it is not the author: a
	// contributor (see depth.go).
	syncBy map[int]string
	// check is the conclusion of the required check on the final head;
	// checkLate delivers it after the merge event.
	check     string
	checkLate bool
}

func (p *plan) subject() string { return fmt.Sprintf("%s#%d", p.repo.full, p.number) }
func (p *plan) head() string    { return p.heads[len(p.heads)-1] }

// headAtTime is the PR's head commit at t.
func (p *plan) headAtTime(t time.Time) string {
	head := p.heads[0]
	for k, at := range p.headAt {
		if !at.After(t) {
			head = p.heads[k]
		}
	}
	return head
}

// special categories with their count per 300 PRs, in the order they are
// granted when the budget (half of the PRs) runs out.
var specials = []struct {
	cat   string
	per   int
	min   int
	fixed bool
}{
	{CatEmergencyPending, 1, 1, true},
	{CatSelfApprovedAlt, 2, 1, false},
	{CatStaleApproval, 10, 1, false},
	{CatSelfApproved, 8, 1, false},
	{CatBotApproved, 6, 1, false},
	{CatApprovalDismissed, 6, 1, false},
	{CatChangesRequested, 6, 1, false},
	{CatNoReview, 6, 1, false},
	{CatApprovedAfterMerge, 5, 1, false},
	{CatEmergencyRetro, 5, 1, false},
	{CatEmergencyOverdue, 4, 1, false},
	{CatCommentedOnly, 4, 1, false},
	{CatBotAuthored, 10, 1, false},
	{CatBotAuthoredUnreviewed, 2, 1, false},
	{CatOutOfScope, 12, 1, false},
}

func (g *gen) planPRs() {
	n := g.o.PRs
	var cats []string
	budget := n / 2
	for _, s := range specials {
		c := s.min
		if !s.fixed {
			c = max(s.min, (s.per*n+150)/300)
		}
		c = min(c, budget)
		budget -= c
		for range c {
			cats = append(cats, s.cat)
		}
	}
	for len(cats) < n {
		cats = append(cats, CatApproved)
	}
	// Fisher-Yates with our own rng, so the mix is spread over time.
	for i := len(cats) - 1; i > 0; i-- {
		j := g.r.intn(i + 1)
		cats[i], cats[j] = cats[j], cats[i]
	}
	inScope := []*repo{}
	for _, r := range g.repos {
		if r.inScope {
			for range r.weight {
				inScope = append(inScope, r)
			}
		}
	}
	var sandbox *repo
	for _, r := range g.repos {
		if !r.inScope {
			sandbox = r
		}
	}
	variant := map[string]int{}
	for i, cat := range cats {
		p := &plan{idx: i, cat: cat, isMerged: true}
		if cat == CatOutOfScope {
			p.repo = sandbox
		} else {
			p.repo = inScope[g.r.intn(len(inScope))]
			// Deploys must be able to ship the waived self-approval and
			// the pending emergency, and infra has no service. Moving them
			// draws nothing from g.r, so the rest of the history stays put.
			if g.o.Operations && p.repo.name == "infra" && (cat == CatSelfApproved || cat == CatEmergencyPending) {
				p.repo = g.repos[i%3]
			}
		}
		g.shapePR(p, variant[cat])
		variant[cat]++
		g.plans = append(g.plans, p)
	}
	g.flagSpecialDeliveries()
}

// mergeTime picks a merge time on a working day, at least minAge before Now
// and within the last 90 days.
func (g *gen) mergeTime(minAge time.Duration) time.Time {
	now := g.o.Now
	for {
		days := g.r.intn(89)
		day := now.Truncate(24*time.Hour).AddDate(0, 0, -days)
		if wd := day.Weekday(); (wd == time.Saturday || wd == time.Sunday) && g.r.chance(0.85) {
			continue
		}
		t := day.Add(8*time.Hour + g.r.dur(0, 11*time.Hour))
		if t.After(now.Add(-minAge)) || t.Before(now.AddDate(0, 0, -90)) {
			continue
		}
		return t.Truncate(time.Second)
	}
}

// otherHuman returns a person other than the author (by identity).
func (g *gen) otherHuman(not ...string) string {
	for {
		c := g.r.pick(humans)
		ok := true
		for _, n := range not {
			if person(c) == person(n) {
				ok = false
			}
		}
		if ok {
			return c
		}
	}
}

func slug(title string) string {
	w := strings.Fields(strings.ToLower(title))
	if len(w) > 5 {
		w = w[:5]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, strings.Join(w, "-"))
}

// shapePR fills everything about p except its number: people, text, times,
// commits and reviews, according to its category. v counts earlier PRs of
// the same category, to rotate through a category's variants.
func (g *gen) shapePR(p *plan, v int) {
	cat := p.cat
	botAuthor := cat == CatBotAuthored || cat == CatBotAuthoredUnreviewed
	emergency := cat == CatEmergencyRetro || cat == CatEmergencyOverdue || cat == CatEmergencyPending

	// Who.
	switch {
	case botAuthor:
		p.author = []string{Dependabot, Renovate}[v%2]
	case cat == CatSelfApprovedAlt:
		p.author = []string{"alice", AliceAlt}[v%2]
	default:
		p.author = g.r.pick(humans)
	}

	// When.
	switch cat {
	case CatEmergencyPending:
		p.merged = g.o.Now.Add(-g.r.dur(2*time.Hour, 5*time.Hour)).Truncate(time.Second)
	case CatEmergencyRetro:
		p.merged = g.mergeTime(4 * 24 * time.Hour)
	case CatEmergencyOverdue:
		p.merged = g.mergeTime(6 * 24 * time.Hour)
	case CatApprovedAfterMerge:
		p.merged = g.mergeTime(2 * 24 * time.Hour)
	default:
		p.merged = g.mergeTime(6 * time.Hour)
	}
	if emergency {
		p.created = p.merged.Add(-g.r.dur(10*time.Minute, 50*time.Minute))
	} else {
		p.created = p.merged.Add(-g.r.dur(40*time.Minute, 72*time.Hour))
	}

	// What.
	if botAuthor {
		d := deps[g.r.intn(len(deps))]
		if p.author == Dependabot {
			p.title = fmt.Sprintf("Bump %s from %s to %s", d.name, d.from, d.to)
			p.branch = fmt.Sprintf("dependabot/npm_and_yarn/%s-%s", strings.ReplaceAll(d.name, "/", "-"), d.to)
			p.body = fmt.Sprintf("Bumps %s from %s to %s.", d.name, d.from, d.to)
		} else {
			p.title = fmt.Sprintf("Update dependency %s to v%s", d.name, d.to)
			p.branch = "renovate/" + strings.ReplaceAll(d.name, "/", "-") + "-" + strings.SplitN(d.to, ".", 2)[0] + ".x"
			p.body = "This PR contains the following updates: " + d.name + " " + d.from + " -> " + d.to + "."
		}
		p.labels = []string{"dependencies"}
	} else {
		base := g.r.pick(p.repo.titles)
		key := fmt.Sprintf("%s-%d", p.repo.ticket, 100+g.r.intn(900))
		kind := "fix"
		if g.r.chance(0.6) {
			kind = "feature"
		}
		p.title, p.branch, p.body = base, kind+"/"+slug(base), "This change: "+strings.ToLower(base)+".\n\nTested locally and in staging."
		if g.r.chance(0.65) {
			p.tickets = true
			switch g.r.intn(10) {
			case 0, 1, 2, 3, 4:
				p.title = key + " " + base
			case 5, 6, 7:
				p.branch = kind + "/" + key + "-" + slug(base)
			default:
				p.body = "Implements " + key + ".\n\n" + p.body
			}
		} else if g.r.chance(0.1) {
			// A lower-case key is not a ticket under the default pattern.
			p.branch = kind + "/" + strings.ToLower(key) + "-" + slug(base)
		}
		if emergency {
			p.labels = []string{[]string{"hotfix", "emergency", "Hotfix", "hotfix", "EMERGENCY"}[v%5]}
			p.title = "Hotfix: " + p.title
		} else if g.r.chance(0.3) {
			p.labels = []string{g.r.pick([]string{"bug", "enhancement", "refactor", "performance"})}
		}
	}

	// Commits: one to three pushes to the head branch.
	nHeads := 1 + g.r.intn(3)
	if cat == CatStaleApproval {
		nHeads = max(nHeads, 2)
	}
	for k := range nHeads {
		p.heads = append(p.heads, g.sha("head", p.repo.full, p.idx, k))
		frac := time.Duration(k) * p.merged.Sub(p.created) / time.Duration(nHeads+1)
		p.headAt = append(p.headAt, p.created.Add(frac))
	}
	p.mergeSHA = g.sha("merge", p.repo.full, p.idx)
	p.mergedBy = p.author

	// Reviews.
	span := p.merged.Sub(p.created)
	pre := func(frac float64) time.Time { // a moment before the merge
		return p.created.Add(time.Duration(float64(span) * frac)).Truncate(time.Second)
	}
	after := func(lo, hi time.Duration) time.Time {
		t := p.merged.Add(g.r.dur(lo, hi)).Truncate(time.Second)
		if lim := g.o.Now.Add(-time.Minute); t.After(lim) {
			t = lim
		}
		return t
	}
	final := p.head()
	rev := g.otherHuman(p.author)
	switch cat {
	case CatApproved:
		switch x := g.r.intn(100); {
		case x < 8 && len(p.heads) >= 2:
			g.review(p, rev, "changes_requested", p.heads[0], pre(0.2))
			g.review(p, rev, "approved", final, pre(0.9))
			p.flags = append(p.flags, CatChangesRequestedThenApproved)
		case x < 15:
			g.review(p, rev, "approved", final, pre(0.85))
			g.review(p, rev, "commented", final, pre(0.92))
			p.flags = append(p.flags, CatApprovedThenCommented)
		case x < 30:
			g.review(p, rev, "approved", final, pre(0.8))
			g.review(p, g.otherHuman(p.author, rev), "approved", final, pre(0.9))
		default:
			if g.r.chance(0.2) {
				g.review(p, g.otherHuman(p.author), "commented", p.headAtTime(pre(0.3)), pre(0.3))
			}
			g.review(p, rev, "approved", final, pre(0.88))
		}
		if g.r.chance(0.04) {
			p.labels = append(p.labels, "hotfix")
			p.flags = append(p.flags, CatEmergencyLabelApproved)
		}
		if g.r.chance(0.4) {
			p.mergedBy = rev
		}
	case CatBotAuthored:
		g.review(p, rev, "approved", final, pre(0.9))
		p.mergedBy = rev
	case CatBotAuthoredUnreviewed:
		p.mergedBy = rev
	case CatSelfApproved:
		if g.r.chance(0.5) {
			g.review(p, rev, "commented", p.headAtTime(pre(0.4)), pre(0.4))
		}
		g.review(p, p.author, "approved", final, pre(0.9))
	case CatSelfApprovedAlt:
		other := map[string]string{"alice": AliceAlt, AliceAlt: "alice"}[p.author]
		g.review(p, other, "approved", final, pre(0.9))
	case CatBotApproved:
		g.review(p, []string{Dependabot, Renovate}[v%2], "approved", final, pre(0.9))
	case CatStaleApproval:
		g.review(p, rev, "approved", p.heads[0], pre(0.2))
	case CatApprovalDismissed:
		approvedAt := pre(0.7)
		id := g.review(p, rev, "approved", final, approvedAt)
		// A maintainer who is neither the reviewer nor the author dismisses it.
		dismisser := ""
		for _, m := range []string{protectionUser, "heidi", "grace"} {
			if dismisser == "" && m != rev && person(m) != person(p.author) {
				dismisser = m
			}
		}
		p.reviews = append(p.reviews, review{id: id, action: "dismissed", reviewer: rev, state: "dismissed",
			commit: final, at: pre(0.85), submitted: approvedAt, sender: dismisser})
	case CatChangesRequested:
		g.review(p, rev, "approved", final, pre(0.6))
		g.review(p, rev, "changes_requested", final, pre(0.85))
	case CatNoReview:
	case CatCommentedOnly:
		g.review(p, rev, "commented", final, pre(0.7))
		if v%2 == 1 {
			g.review(p, g.otherHuman(p.author, rev), "commented", final, pre(0.8))
		}
	case CatApprovedAfterMerge:
		g.review(p, rev, "approved", final, after(time.Hour, 30*time.Hour))
	case CatEmergencyRetro:
		g.review(p, rev, "approved", final, after(time.Hour, 60*time.Hour))
	case CatEmergencyOverdue:
		switch v % 4 {
		case 1: // a retro review, but after the window closed
			g.review(p, rev, "approved", final, after(80*time.Hour, 110*time.Hour))
		case 3: // the author's own retro approval does not count
			g.review(p, p.author, "approved", final, after(2*time.Hour, 20*time.Hour))
		}
	case CatEmergencyPending:
	case CatOutOfScope:
		if g.r.chance(0.5) {
			g.review(p, rev, "approved", final, pre(0.8))
		}
	}
}

// review records a submitted review and returns its id. Review ids grow with
// creation order, as GitHub's do over time (roughly).
func (g *gen) review(p *plan, who, state, commit string, at time.Time) int64 {
	g.reviewN += 1 + int64(g.r.intn(4000))
	p.reviews = append(p.reviews, review{id: g.reviewN, action: "submitted", reviewer: who, state: state, commit: commit, at: at})
	return g.reviewN
}

// flagSpecialDeliveries picks the one PR whose merge push is delivered
// before its "closed" event and the one whose approval is delivered after
// the merge: the oldest plain approved PRs of payments-api, so that the
// choice is stable and the reordering is visible in the demo.
func (g *gen) flagSpecialDeliveries() {
	var cands []*plan
	for _, p := range g.plans {
		if p.cat == CatApproved && len(p.flags) == 0 && len(p.reviews) == 1 && p.repo.mergeCommits {
			cands = append(cands, p)
		}
	}
	slices.SortFunc(cands, func(a, b *plan) int { return a.merged.Compare(b.merged) })
	if len(cands) > 0 {
		cands[0].pushFirst = true
		cands[0].flags = append(cands[0].flags, CatPushBeforePR)
	}
	if len(cands) > 1 {
		cands[1].reviews[0].late = true
		cands[1].flags = append(cands[1].flags, CatReviewDeliveredLate)
	}
}

// planUnmerged adds PRs that were closed without merging (not changes).
func (g *gen) planUnmerged() {
	n := max(1, g.o.PRs/50)
	for i := range n {
		r := g.repos[i%4]
		p := &plan{idx: len(g.plans), repo: r, cat: CatClosedUnmerged, author: g.r.pick(humans)}
		p.merged = g.mergeTime(6 * time.Hour) // here: the close time
		p.created = p.merged.Add(-g.r.dur(time.Hour, 96*time.Hour))
		base := g.r.pick(r.titles)
		p.title, p.branch = "WIP "+base, "spike/"+slug(base)
		p.body = "Superseded; closing."
		p.heads = []string{g.sha("head", r.full, p.idx, 0)}
		p.headAt = []time.Time{p.created}
		if i%2 == 0 {
			g.review(p, g.otherHuman(p.author), "changes_requested", p.head(), p.created.Add(p.merged.Sub(p.created)/2).Truncate(time.Second))
		}
		g.plans = append(g.plans, p)
	}
}

// number assigns PR numbers per repository in creation order.
func (g *gen) number() {
	byCreated := slices.Clone(g.plans)
	slices.SortStableFunc(byCreated, func(a, b *plan) int {
		return cmp.Or(a.created.Compare(b.created), cmp.Compare(a.idx, b.idx))
	})
	for _, p := range byCreated {
		p.number = p.repo.nextPR
		p.repo.nextPR += 1 + g.r.intn(3) // issues share the number space
	}
}
