package demoorg

// Deploys (Options.Operations).
//
// Three services, each built from one in-scope repository (scope.services):
// payments-api <- OWNER/payments-api, payments-web <- OWNER/payments-web,
// ledger <- OWNER/ledger. infra (Terraform) and sandbox are not deployed.
//
// Every two to five working days a service goes to staging and, 20-90
// minutes later, to production; each deploy ships the default-branch tip at
// its start (the after of the latest push before it), so one production
// deploy usually ships several changes. Around that cadence the generator
// places deploys that make a point:
//
//   - a pair around the pending emergency PR, around the waived
//     self-approval, around one unreviewed (CatNoReview) change and around
//     one passing change: the first deploy of the pair ships everything up
//     to the change before, the second ships that one change alone, so its
//     CM-5 outcome is the change's (pending; pass thanks to the waiver;
//     fail; pass);
//   - one failed production deploy of payments-api and one of the ledger,
//     each retried successfully half an hour later (a failed deploy is not
//     a production deploy and is never the "previous deploy");
//   - payments-web's last deploy, still in progress at Now (no finished_at:
//     null);
//   - payments-api's last production deploy, by ivan, of a commit that only
//     ever was on a feature branch (the CatNotAChange branch): CM-5 fails
//     on an unknown SHA and ships nothing. It is the service's last
//     deploy, so no later deploy's shipped changes depend on how "previous
//     deploy" treats an unknown SHA.
//
// payments-api and payments-web deploys are CI/CD events
// (History.DeployLines, POST /v1/deploys): id "ci-<run id>", pipeline
// "deploy.yml", url the Actions run, version "YYYY.MM.DD-<short sha>". The
// ledger's are GitHub deployment_status deliveries in History.Deliveries
// (state success or failure, environment production or staging), one per
// deployment with its final state: the receiver maps them to deploy id
// "gh-<deployment.id>" and, through scope.services, to service "ledger".
//
// CM-5 expectations follow docs/controls.md: only successful production deploys
// are subjects; the changes a deploy ships are the chain pushes after the
// service's previous successful production deploy (by finish time) up to
// its SHA; the first one ships only the change that produced its SHA (the
// first-deploy watermark, CatDeployFirst); fail for an unknown SHA or a
// shipped change with CM-1, CM-2 or CM-3 fail (waived is not fail); pending
// for a shipped pending change; else pass.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/model"
)

// Service names, and the repository (index into repoSpecs) each is built
// from.
const (
	ServicePaymentsAPI = "payments-api"
	ServicePaymentsWeb = "payments-web"
	ServiceLedger      = "ledger"
)

var services = []struct {
	name string
	repo int
}{{ServicePaymentsAPI, 0}, {ServicePaymentsWeb, 1}, {ServiceLedger, 2}}

// Deploy environments.
const (
	EnvProduction = "production"
	EnvStaging    = "staging"
)

// chainPush is one movement of a default branch, in chain order.
type chainPush struct {
	at     time.Time
	after  string
	change string // the change's subject: OWNER/REPO#N or OWNER/REPO@SHA
}

type deploy struct {
	service, env string
	r            *repo
	sha, status  string
	actor        string
	started      time.Time
	finished     time.Time // zero while in progress
	webhook      bool      // the ledger's: a deployment_status delivery
	num          int64     // Actions run id, or GitHub deployment id
	id           string
	version      string
	cat          string // the point it makes, besides what its outcome says
}

func (d *deploy) subject() string { return d.service + "@" + d.env + "@" + d.id }

// at is the deploy's event time, as model.Deploy.OccurredAt.
func (d *deploy) at() time.Time {
	if d.finished.IsZero() {
		return d.started
	}
	return d.finished
}

// interval is a stretch of time in one repository that the cadence must
// leave alone.
type interval struct{ lo, hi time.Time }

func (a interval) overlaps(b interval) bool { return !a.hi.Before(b.lo) && !b.hi.Before(a.lo) }

func clampDur(d, lo, hi time.Duration) time.Duration { return max(lo, min(hi, d)) }

// threadChains computes each repository's default-branch chain in the
// order render will deliver (and thread) it.
func (g *gen) threadChains() {
	evs := slices.Clone(g.evs)
	slices.SortFunc(evs, func(a, b *ev) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.ord, b.ord), cmp.Compare(a.seq, b.seq))
	})
	g.chains = map[*repo][]chainPush{}
	for _, e := range evs {
		if e.chain {
			g.chains[e.repo] = append(g.chains[e.repo], chainPush{at: e.at, after: e.push.After, change: e.change})
		}
	}
}

// tipAt is the after of r's last push strictly before t.
func (g *gen) tipAt(r *repo, t time.Time) (string, bool) {
	c := g.chains[r]
	i, _ := slices.BinarySearchFunc(c, t, func(p chainPush, t time.Time) int { return p.at.Compare(t) })
	if i == 0 {
		return "", false
	}
	return c[i-1].after, true
}

// verdict is a change's combined CM-1..CM-3 and CM-7 outcome as CM-5
// reads it.
func (g *gen) verdict(change string) model.Outcome {
	v := model.Pass
	for _, rule := range []string{"CM-1", "CM-2", "CM-3", "CM-7"} {
		switch g.out[rule][change] {
		case model.Fail:
			return model.Fail
		case model.Pending:
			v = model.Pending
		}
	}
	return v
}

func (g *gen) newDeploy(r *repo, env, sha, actor string, start time.Time, dur time.Duration) *deploy {
	start = start.Truncate(time.Second)
	return &deploy{service: r.name, env: env, r: r, sha: sha, status: model.DeploySuccess, actor: actor,
		started: start, finished: start.Add(dur).Truncate(time.Second), webhook: r.name == ServiceLedger}
}

// deployer picks who pressed the button for a production deploy.
func (g *gen) deployer() string { return g.x.pick([]string{"heidi", "frank", "judy", "bob", "heidi"}) }

// pair returns the deploys around r's k-th push: a (nil when k is the first
// push or shares its second with the previous one) deploys the push before,
// b deploys the push itself, so b ships exactly that change. span is what
// the cadence must keep out of.
func (g *gen) pair(r *repo, k int) (a, b *deploy, span interval) {
	c := g.chains[r]
	tk := c[k].at
	next := g.o.Now
	if k+1 < len(c) {
		next = c[k+1].at
	}
	if k >= 1 {
		prev := c[k-1].at
		if gap := tk.Sub(prev); gap >= 2*time.Second {
			a = g.newDeploy(r, EnvProduction, c[k-1].after, g.deployer(), prev.Add(clampDur(gap/2, time.Second, 2*time.Hour)),
				clampDur(gap/4, 30*time.Second, 8*time.Minute))
			span.lo = prev
		}
	}
	start := tk.Add(clampDur(next.Sub(tk)/3, time.Second, 25*time.Minute))
	if a != nil && !start.After(a.finished) {
		start = a.finished.Add(30 * time.Second)
	}
	b = g.newDeploy(r, EnvProduction, c[k].after, g.deployer(), start, g.x.dur(2*time.Minute, 9*time.Minute))
	if limit := g.o.Now.Add(-30 * time.Second); b.finished.After(limit) {
		b.finished = limit
	}
	if span.lo.IsZero() {
		span.lo = b.started.Add(-time.Minute)
	}
	span.hi = b.finished.Add(time.Minute)
	return a, b, span
}

// findPush is the index of change's push in r's chain.
func (g *gen) findPush(change string) (*repo, int, bool) {
	for _, s := range services {
		r := g.repos[s.repo]
		for k, p := range g.chains[r] {
			if p.change == change {
				return r, k, true
			}
		}
	}
	return nil, 0, false
}

func (g *gen) planDeploys() {
	g.threadChains()
	reserved := map[*repo][]interval{}
	free := func(r *repo, iv interval) bool {
		for _, x := range reserved[r] {
			if x.overlaps(iv) {
				return false
			}
		}
		return true
	}
	var all []*deploy
	addPair := func(r *repo, k int, cat string) bool {
		a, b, span := g.pair(r, k)
		if !free(r, span) {
			return false
		}
		reserved[r] = append(reserved[r], span)
		if a != nil {
			all = append(all, a)
		}
		b.cat = cat
		all = append(all, b)
		return true
	}

	// The deploys whose change is fixed: the pending emergency and the
	// waived self-approval.
	for _, want := range []struct{ change, cat string }{
		{first(g.cats[CatEmergencyPending]), CatDeployPending},
		{g.ops.waived(), CatDeployWaived},
	} {
		if r, k, ok := g.findPush(want.change); ok {
			addPair(r, k, want.cat)
		}
	}
	// The deploys whose change is picked: one unreviewed, one passing.
	noReview := map[string]bool{}
	for _, s := range g.cats[CatNoReview] {
		noReview[s] = true
	}
	for _, pick := range []struct {
		cat string
		ok  func(change string) bool
	}{
		{CatDeployUnreviewed, func(c string) bool { return noReview[c] }},
		{CatDeployUnreviewed, func(c string) bool {
			return g.out["CM-2"][c] == model.Fail || g.out["CM-1"][c] == model.Fail || g.out["CM-7"][c] == model.Fail
		}},
		{CatDeployPassing, func(c string) bool { return g.verdict(c) == model.Pass && g.out["CM-2"][c] != model.Waived }},
	} {
		if pick.cat == CatDeployUnreviewed && slices.ContainsFunc(all, func(d *deploy) bool { return d.cat == CatDeployUnreviewed }) {
			continue
		}
		type cand struct {
			r *repo
			k int
		}
		var cands []cand
		for _, s := range services {
			r := g.repos[s.repo]
			c := g.chains[r]
			for k := 1; k+1 < len(c); k++ {
				if c[k].at.Sub(c[k-1].at) >= 30*time.Minute && c[k+1].at.Sub(c[k].at) >= 30*time.Minute &&
					pick.ok(c[k].change) && free(r, interval{c[k-1].at, c[k].at.Add(40 * time.Minute)}) {
					cands = append(cands, cand{r, k})
				}
			}
		}
		if len(cands) > 0 {
			c := cands[g.x.intn(len(cands))]
			addPair(c.r, c.k, pick.cat)
		}
	}

	// The cadence, kept out of the pairs' way.
	regular := map[*repo][]*deploy{}
	for _, s := range services {
		r := g.repos[s.repo]
		c := g.chains[r]
		if len(c) == 0 {
			continue
		}
		day := g.o.Now.Truncate(24*time.Hour).AddDate(0, 0, -88+g.x.intn(3))
		for {
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				day = day.AddDate(0, 0, 1)
				continue
			}
			start := day.Add(9*time.Hour + g.x.dur(0, 8*time.Hour)).Truncate(time.Second)
			day = day.AddDate(0, 0, 2+g.x.intn(4))
			if start.After(g.o.Now.Add(-30 * time.Hour)) {
				break
			}
			sha, ok := g.tipAt(r, start)
			if !ok {
				continue // nothing merged yet: nothing to deploy
			}
			d := g.newDeploy(r, EnvProduction, sha, g.deployer(), start, g.x.dur(3*time.Minute, 12*time.Minute))
			if !free(r, interval{d.started, d.finished}) {
				continue
			}
			if g.x.chance(0.8) {
				st := start.Add(-g.x.dur(20*time.Minute, 90*time.Minute))
				if sha, ok := g.tipAt(r, st); ok {
					s := g.newDeploy(r, EnvStaging, sha, GitHubActions, st, g.x.dur(2*time.Minute, 6*time.Minute))
					s.cat = CatDeployStaging
					all = append(all, s)
				}
			}
			regular[r] = append(regular[r], d)
			all = append(all, d)
		}
	}

	// A failed production deploy of payments-api and of the ledger, each
	// retried: the middle cadence deploy whose retry has room.
	for _, ri := range []int{0, 2} {
		r := g.repos[ri]
		list := regular[r]
		for off := 0; off < len(list); off++ {
			i := len(list)/2 + (off+1)/2*(1-2*(off%2))
			if i < 0 || i >= len(list) {
				continue
			}
			d := list[i]
			retryAt := d.finished.Add(g.x.dur(20*time.Minute, 50*time.Minute))
			sha, _ := g.tipAt(r, retryAt)
			retry := g.newDeploy(r, EnvProduction, sha, d.actor, retryAt, g.x.dur(3*time.Minute, 12*time.Minute))
			if !free(r, interval{d.started, retry.finished}) {
				continue
			}
			d.status, d.cat = model.DeployFailure, CatDeployFailed
			all = append(all, retry)
			break
		}
	}

	// payments-web: the last deploy is still running.
	web := g.repos[1]
	if sha, ok := g.tipAt(web, g.o.Now.Add(-7*time.Minute)); ok {
		d := g.newDeploy(web, EnvProduction, sha, g.deployer(), g.o.Now.Add(-7*time.Minute), 0)
		d.status, d.finished, d.cat = model.DeployInProgress, time.Time{}, CatDeployInProgress
		all = append(all, d)
	}

	// payments-api: last, a feature-branch commit deployed by hand.
	api := g.repos[0]
	start := g.o.Now.Add(-45 * time.Minute)
	for _, d := range all {
		if d.r == api && d.env == EnvProduction && !d.finished.Add(15*time.Minute).Before(start) {
			start = d.finished.Add(15 * time.Minute)
		}
	}
	if start.Before(g.o.Now.Add(-4 * time.Minute)) {
		d := g.newDeploy(api, EnvProduction, g.sha("feature", api.full, 2), "ivan", start, 3*time.Minute)
		d.cat = CatDeployUnknownSHA
		all = append(all, d)
	}

	g.deploys = all
	g.numberDeploys()
	g.expectDeploys()
	g.emitDeployStatuses()
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return slices.Min(xs)
}

// numberDeploys assigns ids in start order: Actions run ids and GitHub
// deployment ids both grow over time, across repositories.
func (g *gen) numberDeploys() {
	slices.SortStableFunc(g.deploys, func(a, b *deploy) int {
		return cmp.Or(a.started.Compare(b.started), cmp.Compare(a.service, b.service), cmp.Compare(a.env, b.env))
	})
	run := int64(8_400_000_000) + int64(g.x.intn(100_000))
	dep := int64(1_700_000_000) + int64(g.x.intn(100_000))
	for _, d := range g.deploys {
		if d.webhook {
			dep += 1 + int64(g.x.intn(90_000))
			d.num, d.id = dep, fmt.Sprintf("gh-%d", dep)
		} else {
			run += 1 + int64(g.x.intn(40_000))
			d.num, d.id = run, fmt.Sprintf("ci-%d", run)
		}
		d.version = d.started.Format("2006.01.02") + "-" + d.sha[:7]
	}
}

// expectDeploys records the CM-5 outcomes, shipped changes and deploy
// categories.
func (g *gen) expectDeploys() {
	g.ops.shipped = map[string][]string{}
	for _, s := range services {
		r := g.repos[s.repo]
		index := map[string]int{}
		for k, p := range g.chains[r] {
			index[p.after] = k
		}
		var prod []*deploy
		for _, d := range g.deploys {
			if d.r != r {
				continue
			}
			if d.webhook {
				g.add(CatDeployWebhook, d.subject())
			}
			switch {
			case d.env != EnvProduction:
				g.add(CatDeployStaging, d.subject())
			case d.status == model.DeployFailure:
				g.add(CatDeployFailed, d.subject())
			case d.status == model.DeployInProgress:
				g.add(CatDeployInProgress, d.subject())
			default:
				prod = append(prod, d)
			}
		}
		slices.SortStableFunc(prod, func(a, b *deploy) int { return cmp.Or(a.at().Compare(b.at()), cmp.Compare(a.id, b.id)) })
		prev := -1
		for n, d := range prod {
			subj := d.subject()
			if n == 0 {
				g.add(CatDeployFirst, subj)
			}
			k, known := index[d.sha]
			shipped := []string{}
			switch {
			case !known:
				g.add(CatDeployUnknownSHA, subj)
				g.ops.shipped[subj] = shipped
				g.expect("CM-5", subj, model.Fail)
				continue
			case prev < 0:
				shipped = append(shipped, g.chains[r][k].change)
			case k > prev:
				for _, p := range g.chains[r][prev+1 : k+1] {
					shipped = append(shipped, p.change)
				}
			}
			prev = k
			g.ops.shipped[subj] = shipped
			o, waived := model.Pass, false
			for _, c := range shipped {
				switch g.verdict(c) {
				case model.Fail:
					o = model.Fail
				case model.Pending:
					if o == model.Pass {
						o = model.Pending
					}
				}
				waived = waived || g.out["CM-2"][c] == model.Waived
			}
			g.expect("CM-5", subj, o)
			switch {
			case waived:
				g.add(CatDeployWaived, subj)
			case len(shipped) == 0:
				g.add(CatDeployNoChanges, subj)
			case o == model.Pass:
				g.add(CatDeployPassing, subj)
			case o == model.Pending:
				g.add(CatDeployPending, subj)
			}
			if o == model.Fail {
				g.add(CatDeployFailing, subj)
			}
			if d.cat == CatDeployUnreviewed {
				g.add(CatDeployUnreviewed, subj)
			}
		}
	}
}

// emitDeployStatuses adds the ledger's deploys as deployment_status
// deliveries, at the moment of their final status.
func (g *gen) emitDeployStatuses() {
	for _, d := range g.deploys {
		if !d.webhook {
			continue
		}
		dep := fixture.Deployment{Repo: d.r.fx, ID: d.num, Environment: d.env, State: d.status, SHA: d.sha,
			Ref: d.r.branch, Creator: d.actor, CreatedAt: d.started, StatusAt: d.at()}
		g.newEv(d.at(), 0, "deployment_status", fmt.Sprintf("%s/deployment/%d", d.r.full, d.num), d.r, func(e *ev) []byte {
			dep.Repo.PushedAt = e.pushedAt
			return fixture.DeploymentStatus(dep)
		})
	}
}

// deployLine is one POST /v1/deploys object, fields in the order
// docs/http.md lists them. FinishedAt is null while in progress.
type deployLine struct {
	ID          string  `json:"id"`
	Service     string  `json:"service"`
	Environment string  `json:"environment"`
	SHA         string  `json:"sha"`
	Repo        string  `json:"repo"`
	Status      string  `json:"status"`
	Actor       string  `json:"actor"`
	StartedAt   string  `json:"started_at"`
	FinishedAt  *string `json:"finished_at"`
	Pipeline    string  `json:"pipeline"`
	URL         string  `json:"url"`
	Version     string  `json:"version"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (g *gen) deployLines() [][]byte {
	var out [][]byte
	for _, d := range g.deploys {
		if d.webhook {
			continue
		}
		l := deployLine{ID: d.id, Service: d.service, Environment: d.env, SHA: d.sha, Repo: d.r.full, Status: d.status,
			Actor: d.actor, StartedAt: rfc3339(d.started), Pipeline: "deploy.yml",
			URL: fmt.Sprintf("https://github.com/%s/actions/runs/%d", d.r.full, d.num), Version: d.version}
		if !d.finished.IsZero() {
			f := rfc3339(d.finished)
			l.FinishedAt = &f
		}
		b, err := json.Marshal(l)
		if err != nil {
			panic(err) // strings only
		}
		out = append(out, b)
	}
	return out
}
