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
	"fmt"
	"slices"
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
