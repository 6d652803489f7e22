// Package demoorg generates a realistic organisation's GitHub history as
// webhook deliveries: a few hundred merged pull requests over ~90 days
// across five repositories, with the reviews, merge pushes, direct pushes and
// branch protection changes an auditor would want to see, including every
// way a change can fail the change-management controls (docs/controls.md).
//
// It exists for the product demo and for end-to-end tests: the history is
// deterministic (same Options, byte-identical deliveries), every body is
// built by package fixture from GitHub's real payload shapes, and the
// generator records what it meant each subject to show (Expectations), so a
// test can post the deliveries to the receiver and compare the findings.
//
// People: alice, bob, carol, dave, erin, frank, grace, heidi, ivan, judy, and
// alice-alt (alice's second login). Bots: dependabot[bot], renovate[bot],
// github-actions[bot].
//
// With Options.Operations the organisation also runs its software: three
// services (payments-api, payments-web, ledger) deployed to staging and
// production every few days (deploys.go), and people accessing three
// production systems (access.go), including mallory, who left the company
// three weeks before Now and kept her accounts (leaver.go). Expectations
// then also carry the configuration those outcomes assume (scope.services,
// access.systems, identities, the demo's waiver; ConfigYAML renders it) and
// the expected CM-5, AC-1, AC-2 and AC-3 outcomes.
package demoorg

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// DefaultNow is used when Options.Now is zero, so that a zero Options is
// still deterministic.
var DefaultNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Options controls Generate.
type Options struct {
	Seed int64
	Now  time.Time // the end of the history; zero: DefaultNow
	Org  string    // default "acme"
	// PRs is the number of merged pull requests, in and out of scope
	// (default 300). Below ~50 some categories are left out: at most half
	// of the PRs are non-"approved" ones.
	PRs int
	// Operations adds deploys (History.DeployLines and, for the ledger,
	// deployment_status deliveries), access events (History.Access) and a
	// terminated person with three pull requests of her own, with their
	// expectations. It is opt-in so that callers that only replay the
	// GitHub history, against a configuration without services, systems or
	// the waiver, keep exactly the history they had: without it the output
	// is byte-identical to the generator before operations existed. With
	// it, the change history differs a little for the same seed (mallory's
	// PRs; self-approved and pending-emergency PRs are kept out of infra,
	// which has no service, so that deploys can ship them).
	Operations bool
}

// History is a generated organisation.
type History struct {
	// Deliveries in the order GitHub would deliver them: by event time,
	// except the deliberate reorderings (CatPushBeforePR,
	// CatReviewDeliveredLate).
	Deliveries []fixture.Delivery
	Repos      []string // every repository, in-scope ones first
	// DeployLines are the CI/CD deploys of payments-api and payments-web
	// (Options.Operations), one JSON object each, ready to POST to
	// /v1/deploys as NDJSON (join with "\n"), oldest first. The ledger's
	// deploys are deployment_status deliveries in Deliveries instead, so
	// that both ingestion paths are exercised (see deploys.go).
	DeployLines [][]byte
	// Access are access-log uploads, one per system, ready to POST to
	// /v1/access?format=FORMAT&system=SYSTEM (Options.Operations).
	Access []AccessUpload
	Expect Expectations
}

// AccessUpload is one access-log upload: Body is newline-terminated lines
// in Format ("generic", "k8s-audit" or "sshd") for System, the
// access.systems key (for sshd and k8s-audit it is the ?system= parameter;
// generic lines also name it).
type AccessUpload struct {
	Format, System string
	Body           []byte
}

// Expectations is what the generator intended, for tests and the demo.
type Expectations struct {
	// Now is Options.Now: the "pending" outcomes hold when evaluating at
	// Now (and up to ~2 days later).
	Now time.Time
	// ScopeRepos and ExcludeRepos are the scope.repos / scope.exclude_repos
	// configuration the outcomes assume.
	ScopeRepos, ExcludeRepos []string
	InScope, OutOfScope      []string // repositories
	// Identities is the identities configuration the outcomes assume:
	// alice owns alice and alice-alt. Every other login is its own person.
	Identities []model.Identity
	People     []string // human logins, including alice-alt
	Bots       []string
	// BotMinApprovals and RequiredChecks are the policy the outcomes
	// assume besides the defaults (policy.bot_min_approvals,
	// policy.required_checks); ConfigYAML writes them.
	BotMinApprovals int
	RequiredChecks  []string
	// Categories maps a category (the Cat* constants) to its subjects,
	// sorted. Categories with no subject are absent.
	Categories map[string][]string
	// Outcomes maps a rule ID ("CM-1", "CM-2", "CM-3", "CM-4", "CM-6",
	// "CM-7") to the expected outcome per subject, for in-scope subjects
	// only, under the default policy plus BotMinApprovals and
	// RequiredChecks, evaluated at Now. CM-4 assumes
	// policy.require_ticket: true (it is not evaluated by default). CM-3
	// lists only PRs that pass CM-2 through pre-merge approvals. CM-1 lists
	// the withdrawn direct push as not_applicable.
	//
	// With Options.Operations it also has "CM-5" (SERVICE@ENVIRONMENT@ID
	// for every successful production deploy), "AC-1" (SYSTEM:ID for every
	// event of an in-scope system; not_applicable for break-glass use),
	// "AC-2" (break-glass events) and "AC-3" (access events, merged PRs
	// and reviews of the terminated person: SYSTEM:ID, OWNER/REPO#N,
	// OWNER/REPO#N/review/ID), and the outcomes assume the configuration
	// below, including Waivers: the waived CM-2 subject is "waived".
	// Without Operations those rules are absent.
	Outcomes map[string]map[string]model.Outcome

	// The fields below are set with Options.Operations only, except that
	// ConfigYAML always works.

	// Services is scope.services: service name -> its repositories.
	Services map[string][]string
	// Systems is access.systems: the in-scope production systems.
	Systems map[string]SystemConfig
	// Waivers are the waivers the outcomes assume: the demo's (see
	// cmd/changeproof/demo.go) CM-2 waiver of the first CatSelfApproved
	// subject.
	Waivers []Waiver
	// Shipped maps each CM-5 subject to the changes the deploy ships
	// (OWNER/REPO#N or OWNER/REPO@SHA), in chain order, oldest first. It is
	// empty for the deploy of an unknown SHA.
	Shipped map[string][]string
	// AccessSkipped maps a system to how many lines of its upload are not
	// access events and must be skipped (not rejected): k8s RequestReceived
	// stages and sshd lines other than Accepted/Failed.
	AccessSkipped map[string]int
}

// SystemConfig is one access.systems entry.
type SystemConfig struct {
	Authorized      []string // identity names or logins
	BreakGlassRoles []string
}

// Waiver is one waivers entry.
type Waiver struct {
	Rule, Subject, Reason, ApprovedBy string
	Expires                           time.Time // end of the day it names
}

// Logins used by the generator.
const (
	AliceAlt       = "alice-alt"
	Dependabot     = "dependabot[bot]"
	Renovate       = "renovate[bot]"
	GitHubActions  = "github-actions[bot]"
	protectionUser = "judy" // the org admin who manages branch protection
)

var humans = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

// person maps a login to its owner, as Expectations.Identities says.
func person(login string) string {
	if login == AliceAlt {
		return "alice"
	}
	return login
}

type repoSpec struct {
	name, branch, ticket string
	inScope              bool
	weight               int
	firstPR              int
	mergeCommits         bool // merge commits (else squash merges)
	titles               []string
}

var repoSpecs = []repoSpec{
	{"payments-api", "main", "PAY", true, 35, 1100, true, []string{
		"Add idempotency keys to refund endpoint", "Validate currency codes on charge requests",
		"Fix rounding in FX conversion", "Retry merchant webhooks with backoff",
		"Expose settlement status in charge response", "Reject refunds above the captured amount",
		"Log correlation ids on payment failures", "Cache merchant config for 60s",
		"Handle card network timeouts", "Add partial capture support",
		"Return 409 on duplicate payment intent", "Move fee calculation into its own service",
		"Mask card numbers in audit logs", "Add metrics for authorisation latency",
	}},
	{"payments-web", "main", "PAY", true, 25, 640, false, []string{
		"Show refund status on order page", "Fix checkout button double submit",
		"Localise payment error messages", "Upgrade router to the latest major",
		"Add dark mode to merchant dashboard", "Lazy-load the receipts table",
		"Fix date picker in statement export", "Explain declined cards in plain words",
		"Remove unused feature flags", "Improve keyboard navigation in checkout",
	}},
	{"ledger", "master", "LED", true, 25, 310, false, []string{
		"Check double entry before committing journals", "Fix off-by-one in statement period",
		"Index postings by account and date", "Reconcile daily balances with the bank file",
		"Store amounts as integer minor units", "Make month-end close idempotent",
		"Add trial balance report", "Speed up account history query",
		"Reject postings to closed accounts", "Backfill missing currency on old entries",
	}},
	{"infra", "main", "OPS", true, 15, 95, false, []string{
		"Increase API pod memory limit", "Rotate database credentials through Vault",
		"Alert on queue depth above threshold", "Pin Terraform provider versions",
		"Enable TLS 1.3 on the load balancer", "Scale ledger workers on lag",
		"Tighten security group for the admin VPN", "Move backups to a separate account",
	}},
	{"sandbox", "main", "SBX", false, 0, 12, false, []string{
		"Try a new lint config", "Experiment with a gRPC gateway", "Spike on event sourcing",
		"Play with the new test runner",
	}},
}

var deps = []struct{ name, from, to string }{
	{"lodash", "4.17.20", "4.17.21"}, {"axios", "1.6.7", "1.7.2"}, {"golang.org/x/net", "0.23.0", "0.25.0"},
	{"express", "4.18.2", "4.19.2"}, {"github.com/stretchr/testify", "1.8.4", "1.9.0"}, {"webpack", "5.90.0", "5.91.0"},
	{"hashicorp/aws", "5.40.0", "5.46.0"}, {"google.golang.org/grpc", "1.62.1", "1.63.2"},
}

// rng is splitmix64: tiny, fast, and fixed forever, so a seed means the
// same history on every Go version (math/rand's derived methods are not
// promised to stay stable).
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
func (r *rng) intn(n int) int          { return int(r.next() % uint64(n)) }
func (r *rng) chance(p float64) bool   { return float64(r.next()>>11)/(1<<53) < p }
func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }
func (r *rng) dur(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.next()%uint64(hi-lo+1))
}

type repo struct {
	repoSpec
	full    string
	nextPR  int
	fx      fixture.Repo
	initial string // tip of the default branch before the history starts
}

type review struct {
	id       int64
	action   string // "submitted" | "dismissed"
	reviewer string
	state    string
	commit   string
	at       time.Time // when the event happens
	// submitted is review.submitted_at when it differs from at: a
	// dismissal keeps the dismissed review's submission time.
	submitted time.Time
	sender    string
	late      bool // delivered right after the merge push instead of at `at`
}

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

type gen struct {
	o       Options
	r       rng
	repos   []*repo
	plans   []*plan
	evs     []*ev
	cats    map[string][]string
	out     map[string]map[string]model.Outcome
	reviewN int64

	protectionEvs []protectionEv

	// Operations (Options.Operations only). x is a second random stream, so
	// that adding operations leaves g.r's draws for the change history
	// alone wherever it can.
	x       rng
	leaver  []leaverPR
	chains  map[*repo][]chainPush
	deploys []*deploy
	ops     opsExpect
}

// Generate builds the history for o.
func Generate(o Options) History {
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if o.Org == "" {
		o.Org = "acme"
	}
	if o.PRs <= 0 {
		o.PRs = 300
	}
	g := &gen{
		o:       o,
		r:       rng{s: uint64(o.Seed)*0x2545f4914f6cdd1d + 0x5eed},
		cats:    map[string][]string{},
		out:     map[string]map[string]model.Outcome{},
		reviewN: 1_900_000_000 + int64(uint64(o.Seed)%1_000_000)*10,
		x:       rng{s: uint64(o.Seed)*0x9e3779b97f4a7c15 + 0x0be7a7105},
	}
	for _, s := range repoSpecs {
		full := o.Org + "/" + s.name
		g.repos = append(g.repos, &repo{
			repoSpec: s, full: full, nextPR: s.firstPR,
			fx:      fixture.Repo{FullName: full, DefaultBranch: s.branch},
			initial: g.sha("initial", full),
		})
	}
	g.planPRs()
	g.planUnmerged()
	if o.Operations {
		g.planLeaver()
	}
	g.number()
	g.depth()
	for _, p := range g.plans {
		g.emitPR(p)
		g.expectPR(p)
	}
	g.directPushes()
	g.notChanges()
	g.protection()
	g.ruleset()
	g.ping()
	if o.Operations {
		g.expectLeaver()
		g.waive()
		g.planDeploys()
	}

	deliveries := g.render()
	h := History{Deliveries: deliveries}
	if o.Operations {
		h.DeployLines = g.deployLines()
		h.Access = g.access()
	}
	for _, r := range g.repos {
		h.Repos = append(h.Repos, r.full)
		if r.inScope {
			h.Expect.InScope = append(h.Expect.InScope, r.full)
		} else {
			h.Expect.OutOfScope = append(h.Expect.OutOfScope, r.full)
			h.Expect.ExcludeRepos = append(h.Expect.ExcludeRepos, r.full)
		}
	}
	h.Expect.Now = o.Now
	h.Expect.ScopeRepos = []string{o.Org + "/*"}
	h.Expect.Identities = []model.Identity{{Name: "alice", Logins: []string{"alice", AliceAlt}}}
	h.Expect.People = append(slices.Clone(humans), AliceAlt)
	if o.Operations {
		h.Expect.Identities = append(h.Expect.Identities, model.Identity{Name: Mallory, Logins: []string{Mallory}, TerminatedAt: g.terminatedAt()})
		h.Expect.People = append(h.Expect.People, Mallory)
		g.ops.fill(&h.Expect)
	}
	h.Expect.Bots = []string{Dependabot, Renovate, GitHubActions}
	h.Expect.BotMinApprovals, h.Expect.RequiredChecks = demoBotMinApprovals, []string{demoCheck}
	for k := range g.cats {
		slices.Sort(g.cats[k])
		g.cats[k] = slices.Compact(g.cats[k])
	}
	h.Expect.Categories = g.cats
	h.Expect.Outcomes = g.out
	return h
}

func (g *gen) sha(parts ...any) string {
	return fixture.SHA(fmt.Sprint(append([]any{"demoorg", g.o.Seed}, parts...)...))
}

func (g *gen) add(cat, subject string) { g.cats[cat] = append(g.cats[cat], subject) }

func (g *gen) expect(rule, subject string, o model.Outcome) {
	if g.out[rule] == nil {
		g.out[rule] = map[string]model.Outcome{}
	}
	g.out[rule][subject] = o
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

// ping adds the ping GitHub sends when the webhook is created, before
// anything else.
func (g *gen) ping() {
	r := g.repos[0]
	g.newEv(g.o.Now.AddDate(0, 0, -91), 0, "ping", "ping", r, func(e *ev) []byte { return fixture.Ping(r.fx) })
}

// render orders the events, threads each repository's default-branch chain
// through the pushes, assigns delivery ids and builds the bodies.
func (g *gen) render() []fixture.Delivery {
	slices.SortFunc(g.evs, func(a, b *ev) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.ord, b.ord), cmp.Compare(a.seq, b.seq))
	})
	tip := map[*repo]string{}
	lastPush := map[*repo]time.Time{}
	for _, e := range g.evs {
		if e.push != nil {
			if e.chain {
				before, ok := tip[e.repo]
				if !ok {
					before = e.repo.initial
				}
				e.push.Before = before
				tip[e.repo] = e.push.After
			}
			lastPush[e.repo] = e.push.PushedAt
		} else {
			e.pushedAt = lastPush[e.repo]
		}
	}
	out := make([]fixture.Delivery, len(g.evs))
	for i, e := range g.evs {
		out[i] = fixture.Delivery{Event: e.event, ID: fixture.DeliveryID(fmt.Sprintf("demoorg/%d/%s", g.o.Seed, e.key))}
	}
	for _, pe := range g.protectionEvs {
		for i, e := range g.evs {
			if e == pe.e && pe.ruleset != 0 {
				s := fmt.Sprintf("%s:ruleset/%d@%s", e.repo.full, pe.ruleset, out[i].ID)
				g.add(pe.cat, s)
				g.expect("CM-6", s, model.Fail)
			} else if e == pe.e {
				s := e.repo.full + ":protection@" + out[i].ID
				g.add(pe.cat, s)
				switch pe.cat {
				case CatProtectionOK:
					g.expect("CM-6", s, model.Pass)
				case CatProtectionWeakened, CatProtectionDeleted:
					g.expect("CM-6", s, model.Fail)
				}
			}
		}
	}
	// Bodies are independent of each other once the chain is threaded, so
	// build them in parallel; each lands at its fixed index, which keeps the
	// output deterministic.
	workers := min(runtime.GOMAXPROCS(0), 8)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(g.evs); i += workers {
				out[i].Body = g.evs[i].build(g.evs[i])
			}
		}()
	}
	wg.Wait()
	return out
}
