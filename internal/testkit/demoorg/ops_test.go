package demoorg

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// opsOptions are the histories the operations tests run on: the default
// one, a small one, and one whose 90 days do not cross a year boundary.
var opsOptions = []Options{
	{Operations: true},
	{Seed: 3, PRs: 60, Operations: true},
	{Seed: 21, PRs: 150, Now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), Org: "globex", Operations: true},
}

func TestOperationsDeterministic(t *testing.T) {
	o := Options{Seed: 42, Now: time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC), PRs: 120, Operations: true}
	a, b := Generate(o), Generate(o)
	same := func(x, y History) bool {
		if len(x.Deliveries) != len(y.Deliveries) || len(x.DeployLines) != len(y.DeployLines) || len(x.Access) != len(y.Access) {
			return false
		}
		for i := range x.Deliveries {
			if x.Deliveries[i].ID != y.Deliveries[i].ID || !bytes.Equal(x.Deliveries[i].Body, y.Deliveries[i].Body) {
				return false
			}
		}
		for i := range x.DeployLines {
			if !bytes.Equal(x.DeployLines[i], y.DeployLines[i]) {
				return false
			}
		}
		for i := range x.Access {
			if x.Access[i].Format != y.Access[i].Format || x.Access[i].System != y.Access[i].System || !bytes.Equal(x.Access[i].Body, y.Access[i].Body) {
				return false
			}
		}
		ex, _ := json.Marshal(x.Expect)
		ey, _ := json.Marshal(y.Expect)
		return bytes.Equal(ex, ey)
	}
	if !same(a, b) {
		t.Fatal("the same Options gave different output")
	}
	o.Seed = 43
	if same(a, Generate(o)) {
		t.Fatal("a different seed gave the same output")
	}
}

// TestOperationsOptIn: without Operations nothing of it appears, so callers
// that replay only the GitHub history against a configuration without
// services, systems or waivers keep their expectations.
func TestOperationsOptIn(t *testing.T) {
	h := Generate(Options{Seed: 9, PRs: 80})
	if len(h.DeployLines) != 0 || len(h.Access) != 0 {
		t.Fatal("deploys or access events without Options.Operations")
	}
	for _, d := range h.Deliveries {
		if d.Event == "deployment_status" {
			t.Fatal("deployment_status delivery without Options.Operations")
		}
	}
	for _, r := range []string{"CM-5", "AC-1", "AC-2", "AC-3"} {
		if _, ok := h.Expect.Outcomes[r]; ok {
			t.Errorf("%s outcomes without Options.Operations", r)
		}
	}
	if h.Expect.Services != nil || h.Expect.Systems != nil || h.Expect.Waivers != nil || len(h.Expect.Identities) != 1 {
		t.Error("operations configuration without Options.Operations")
	}
	for _, s := range h.Expect.Outcomes["CM-2"] {
		if s == model.Waived {
			t.Error("a waived outcome without Options.Operations")
		}
	}
}

var (
	hexSHA     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	deployKeys = []string{"id", "service", "environment", "sha", "repo", "status", "actor", "started_at", "finished_at", "pipeline", "url", "version"}
)

// deployRec is a deploy as the receiver would record it, from either path.
type deployRec struct {
	id, service, env, sha, repo, status string
	started, finished                   time.Time
	webhook                             bool
}

func (d deployRec) subject() string { return d.service + "@" + d.env + "@" + d.id }
func (d deployRec) at() time.Time {
	if d.finished.IsZero() {
		return d.started
	}
	return d.finished
}

// readDeploys parses History.DeployLines strictly (every field present, in
// the documented formats) and the deployment_status deliveries, mapping a
// repository to its service through Expect.Services as the receiver does.
func readDeploys(t *testing.T, h History) []deployRec {
	t.Helper()
	serviceOf := map[string]string{}
	for s, repos := range h.Expect.Services {
		for _, r := range repos {
			serviceOf[r] = s
		}
	}
	var out []deployRec
	ids := map[string]bool{}
	for i, line := range h.DeployLines {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("deploy line %d: %v", i, err)
		}
		if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, slices.Sorted(slices.Values(deployKeys))) {
			t.Fatalf("deploy line %d has fields %v, want %v", i, keys, deployKeys)
		}
		str := func(k string) string {
			s, ok := m[k].(string)
			if !ok || s == "" {
				t.Fatalf("deploy line %d: %s = %v, want a non-empty string: %s", i, k, m[k], line)
			}
			return s
		}
		tm := func(k string) time.Time {
			v, err := time.Parse(time.RFC3339, str(k))
			if err != nil {
				t.Fatalf("deploy line %d: %s: %v", i, k, err)
			}
			return v
		}
		d := deployRec{id: str("id"), service: str("service"), env: str("environment"), sha: str("sha"), repo: str("repo"),
			status: str("status"), started: tm("started_at")}
		str("actor")
		str("pipeline")
		str("version")
		if !strings.HasPrefix(str("url"), "https://") {
			t.Fatalf("deploy line %d: url %q", i, m["url"])
		}
		if m["finished_at"] == nil {
			if d.status != model.DeployInProgress {
				t.Fatalf("deploy line %d: finished_at null for status %s", i, d.status)
			}
		} else if d.finished = tm("finished_at"); d.finished.Before(d.started) || d.status == model.DeployInProgress {
			t.Fatalf("deploy line %d: finished_at %v for start %v, status %s", i, d.finished, d.started, d.status)
		}
		if !slices.Contains([]string{model.DeploySuccess, model.DeployFailure, model.DeployInProgress}, d.status) ||
			!slices.Contains([]string{EnvProduction, EnvStaging}, d.env) || !hexSHA.MatchString(d.sha) ||
			serviceOf[d.repo] != d.service || d.service == ServiceLedger {
			t.Fatalf("deploy line %d: %s", i, line)
		}
		if ids[d.id] {
			t.Fatalf("deploy line %d: id %s repeated", i, d.id)
		}
		ids[d.id] = true
		out = append(out, d)
	}
	for _, dl := range h.Deliveries {
		if dl.Event != "deployment_status" {
			continue
		}
		var p struct {
			Action           string
			DeploymentStatus struct {
				State       string
				Environment string
				CreatedAt   time.Time `json:"created_at"`
			} `json:"deployment_status"`
			Deployment struct {
				ID          int64
				SHA         string
				Environment string
				CreatedAt   time.Time `json:"created_at"`
			}
			Repository struct {
				FullName string `json:"full_name"`
			}
		}
		if err := json.Unmarshal(dl.Body, &p); err != nil {
			t.Fatal(err)
		}
		ds, dep := p.DeploymentStatus, p.Deployment
		d := deployRec{id: fmt.Sprintf("gh-%d", dep.ID), service: serviceOf[p.Repository.FullName], env: dep.Environment,
			sha: dep.SHA, repo: p.Repository.FullName, status: ds.State, started: dep.CreatedAt, finished: ds.CreatedAt, webhook: true}
		if p.Action != "created" || d.service != ServiceLedger || ds.Environment != dep.Environment || !hexSHA.MatchString(d.sha) ||
			!slices.Contains([]string{model.DeploySuccess, model.DeployFailure}, d.status) || d.finished.Before(d.started) || ids[d.id] {
			t.Fatalf("deployment_status %s: %+v", dl.ID, d)
		}
		ids[d.id] = true
		out = append(out, d)
	}
	for _, d := range out {
		if d.at().After(h.Expect.Now) {
			t.Fatalf("deploy %s after Now", d.subject())
		}
	}
	return out
}

// chainPushRec is one default-branch push read from a delivery.
type chainPushRec struct {
	before, after, change string
	at                    time.Time
}

// readChains follows each repository's default-branch pushes from before
// to after, and names each push's change as docs/controls.md does: the merged
// PR whose merge_commit_sha it is, else a direct push.
func readChains(t *testing.T, h History, ps []payload) map[string][]chainPushRec {
	t.Helper()
	prOf := map[string]string{}
	pushes := map[string][]chainPushRec{}
	for i, d := range h.Deliveries {
		p := ps[i]
		switch d.Event {
		case "pull_request":
			if p.Action == "closed" && *p.PullRequest.Merged {
				prOf[p.Repository.FullName+"@"+p.PullRequest.MergeCommitSHA] = fmt.Sprintf("%s#%d", p.Repository.FullName, p.Number)
			}
		case "push":
			if p.Ref == "refs/heads/"+p.Repository.DefaultBranch && !p.Created && !p.Deleted {
				var sec int64
				_ = json.Unmarshal(p.Repository.PushedAt, &sec)
				pushes[p.Repository.FullName] = append(pushes[p.Repository.FullName],
					chainPushRec{before: p.Before, after: p.After, at: time.Unix(sec, 0).UTC()})
			}
		}
	}
	chains := map[string][]chainPushRec{}
	for repo, list := range pushes {
		byBefore, afters := map[string]chainPushRec{}, map[string]bool{}
		for _, p := range list {
			byBefore[p.before], afters[p.after] = p, true
		}
		var start []chainPushRec
		for _, p := range list {
			if !afters[p.before] {
				start = append(start, p)
			}
		}
		if len(start) != 1 {
			t.Fatalf("%s: %d chain starts", repo, len(start))
		}
		for p, ok := start[0], true; ok; p, ok = byBefore[p.after] {
			p.change = cmp.Or(prOf[repo+"@"+p.after], repo+"@"+p.after)
			chains[repo] = append(chains[repo], p)
		}
		if len(chains[repo]) != len(list) {
			t.Fatalf("%s: chain of %d pushes has %d", repo, len(list), len(chains[repo]))
		}
	}
	return chains
}

func TestDeploysFitTheChain(t *testing.T) {
	for _, o := range opsOptions {
		h := Generate(o)
		chains := readChains(t, h, decodeAll(t, h))
		deploys := readDeploys(t, h)
		unknown := h.Expect.Categories[CatDeployUnknownSHA]
		if len(unknown) != 1 {
			t.Fatalf("unknown-SHA deploys: %v", unknown)
		}
		for _, d := range deploys {
			k := slices.IndexFunc(chains[d.repo], func(p chainPushRec) bool { return p.after == d.sha })
			if d.subject() == unknown[0] {
				if k >= 0 {
					t.Errorf("%s: the unknown SHA is on the chain", d.subject())
				}
				continue
			}
			if k < 0 {
				t.Errorf("%s: SHA %s is not on %s's default branch", d.subject(), d.sha, d.repo)
				continue
			}
			// It deploys the tip: its push came before the deploy started,
			// and the next one after.
			c := chains[d.repo]
			if !c[k].at.Before(d.started) || k+1 < len(c) && c[k+1].at.Before(d.started) {
				t.Errorf("%s started %v does not deploy the tip (push %v, next %v)", d.subject(), d.started, c[k].at,
					c[min(k+1, len(c)-1)].at)
			}
		}
		// Every shipped change was pushed before the deploy that ships it.
		byChange := map[string]time.Time{}
		for _, c := range chains {
			for _, p := range c {
				byChange[p.change] = p.at
			}
		}
		for _, d := range deploys {
			for _, c := range h.Expect.Shipped[d.subject()] {
				if at, ok := byChange[c]; !ok || !at.Before(d.started) {
					t.Errorf("%s ships %s, pushed %v, after its start %v", d.subject(), c, at, d.started)
				}
			}
		}
	}
}

// TestOperationsMatchPayloads re-derives every expected outcome, CM-1 to
// AC-3, and the shipped changes, from the generated bodies alone plus the
// configuration Expectations states (services, systems, identities,
// waivers), like TestExpectationsMatchPayloads does for the history.
func TestOperationsMatchPayloads(t *testing.T) {
	for _, o := range opsOptions {
		h := Generate(o)
		ps := decodeAll(t, h)
		got := oracle(t, h, ps)
		for _, w := range h.Expect.Waivers {
			if got[w.Rule][w.Subject] == model.Fail && h.Expect.Now.Before(w.Expires) {
				got[w.Rule][w.Subject] = model.Waived
			}
		}
		shipped := cm5Oracle(t, h, ps, got)
		acOracle(t, h, ps, got)
		for _, rule := range []string{"CM-1", "CM-2", "CM-3", "CM-4", "CM-5", "CM-6", "CM-7", "AC-1", "AC-2", "AC-3"} {
			want := maps.Clone(h.Expect.Outcomes[rule])
			if len(want) == 0 {
				t.Errorf("%s: no expectations", rule)
			}
			if rule == "CM-1" {
				for _, s := range h.Expect.Categories[CatWithdrawnDirectPush] {
					delete(want, s)
				}
			}
			for s, w := range want {
				if got[rule][s] != w {
					t.Errorf("%s %s: generator expects %s, payloads say %q", rule, s, w, got[rule][s])
				}
			}
			for s, g := range got[rule] {
				if _, ok := want[s]; !ok {
					t.Errorf("%s %s: payloads give %s, generator expects nothing", rule, s, g)
				}
			}
		}
		if len(shipped) != len(h.Expect.Shipped) {
			t.Errorf("%d deploys ship changes, generator says %d", len(shipped), len(h.Expect.Shipped))
		}
		for s, w := range h.Expect.Shipped {
			if !slices.Equal(shipped[s], w) {
				t.Errorf("%s ships %v, generator says %v", s, shipped[s], w)
			}
		}
	}
}

// cm5Oracle judges every successful production deploy from the deploy
// lines, the deployment_status deliveries and the pushes (docs/controls.md,
// "Change chain" and CM-5), given the changes' CM-1..CM-3 outcomes in got.
func cm5Oracle(t *testing.T, h History, ps []payload, got map[string]map[string]model.Outcome) map[string][]string {
	chains := readChains(t, h, ps)
	got["CM-5"] = map[string]model.Outcome{}
	shipped := map[string][]string{}
	byService := map[string][]deployRec{}
	for _, d := range readDeploys(t, h) {
		if d.status == model.DeploySuccess && (d.env == "production" || d.env == "prod") {
			byService[d.service] = append(byService[d.service], d)
		}
	}
	for _, list := range byService {
		slices.SortFunc(list, func(a, b deployRec) int { return cmp.Or(a.at().Compare(b.at()), cmp.Compare(a.id, b.id)) })
		prev := -1
		for _, d := range list {
			c := chains[d.repo]
			k := slices.IndexFunc(c, func(p chainPushRec) bool { return p.after == d.sha })
			s := d.subject()
			shipped[s] = []string{}
			if k < 0 {
				got["CM-5"][s] = model.Fail
				continue
			}
			from := prev + 1
			if prev < 0 {
				from = k // the first deploy ships only its own change
			}
			for _, p := range c[from:max(from, k+1)] {
				shipped[s] = append(shipped[s], p.change)
			}
			prev = k
			o := model.Pass
			for _, ch := range shipped[s] {
				for _, rule := range []string{"CM-1", "CM-2", "CM-3", "CM-7"} {
					switch got[rule][ch] {
					case model.Fail:
						o = model.Fail
					case model.Pending:
						if o == model.Pass {
							o = model.Pending
						}
					}
				}
			}
			got["CM-5"][s] = o
		}
	}
	return shipped
}

// accessRec is an access event as the oracle reads it from any format.
type accessRec struct {
	id, system, principal, role, ticket string
	at                                  time.Time
}

var (
	syslogRE = regexp.MustCompile(`^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) (\S+) sshd\[\d+\]: (.*)$`)
	loginRE  = regexp.MustCompile(`^(?:Accepted \S+ for |Failed \S+ for (?:invalid user )?)(\S+) from \S+ port \d+`)
)

// readAccess parses the uploads and checks how many lines are skipped.
func readAccess(t *testing.T, h History) []accessRec {
	t.Helper()
	var out []accessRec
	for _, u := range h.Access {
		bg := h.Expect.Systems[u.System].BreakGlassRoles
		skipped := 0
		sc := bufio.NewScanner(bytes.NewReader(u.Body))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := sc.Text()
			if rs, sk := readFormatLine(t, u.System, u.Format, line); rs != nil || sk > 0 {
				out = append(out, rs...)
				skipped += sk
				continue
			}
			switch u.Format {
			case FormatGeneric:
				var e struct{ ID, Time, Principal, System, Action, Result, Role, Ticket string }
				if err := json.Unmarshal([]byte(line), &e); err != nil || e.ID == "" || e.Action == "" ||
					(e.Result != "success" && e.Result != "failure") || e.System != u.System {
					t.Fatalf("%s: bad generic line %s", u.System, line)
				}
				at, err := time.Parse(time.RFC3339, e.Time)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, accessRec{e.ID, e.System, e.Principal, e.Role, e.Ticket, at})
			case FormatK8sAudit:
				var e struct {
					Kind, APIVersion, AuditID, Stage string
					User                             struct {
						Username string
						Groups   []string
					}
					ResponseStatus *struct{ Code int } `json:"responseStatus"`
					Received       time.Time           `json:"requestReceivedTimestamp"`
					Annotations    map[string]string
				}
				if err := json.Unmarshal([]byte(line), &e); err != nil || e.Kind != "Event" || e.APIVersion != "audit.k8s.io/v1" || e.AuditID == "" {
					t.Fatalf("%s: bad audit line %s", u.System, line)
				}
				if e.Stage != "ResponseComplete" {
					skipped++
					continue
				}
				if e.ResponseStatus == nil || e.Annotations["authorization.k8s.io/decision"] != "allow" {
					t.Fatalf("%s: incomplete audit line %s", u.System, line)
				}
				role := ""
				for _, g := range e.User.Groups {
					if slices.Contains(bg, g) {
						role = g
					}
				}
				out = append(out, accessRec{e.AuditID, u.System, e.User.Username, role, e.Annotations[K8sTicketAnnotation], e.Received})
			case FormatSSHD:
				m := syslogRE.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("%s: not a syslog sshd line: %q", u.System, line)
				}
				lm := loginRE.FindStringSubmatch(m[3])
				if lm == nil {
					skipped++
					continue
				}
				// No year in syslog: the latest that is not after Now.
				now := h.Expect.Now
				at, err := time.Parse("2006 Jan _2 15:04:05", fmt.Sprintf("%d %s", now.Year(), m[1]))
				if err != nil {
					t.Fatal(err)
				}
				if at.After(now.Add(24 * time.Hour)) {
					at = at.AddDate(-1, 0, 0)
				}
				out = append(out, accessRec{sshdID(u.System, line), u.System, lm[1], "", "", at})
			default:
				t.Fatalf("format %q", u.Format)
			}
		}
		if skipped != h.Expect.AccessSkipped[u.System] {
			t.Errorf("%s: %d lines to skip, generator says %d", u.System, skipped, h.Expect.AccessSkipped[u.System])
		}
	}
	return out
}

func sshdID(system, line string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(system+"\n"+line)))
}

// acOracle judges AC-1..AC-3 from the uploads and, for AC-3's pull
// requests and reviews, from the deliveries.
func acOracle(t *testing.T, h History, ps []payload, got map[string]map[string]model.Outcome) {
	ids := model.NewIdentities(h.Expect.Identities)
	term := map[string]time.Time{}
	for _, id := range h.Expect.Identities {
		if !id.TerminatedAt.IsZero() {
			term[id.Name] = id.TerminatedAt
		}
	}
	for _, r := range []string{"AC-1", "AC-2", "AC-3"} {
		got[r] = map[string]model.Outcome{}
	}
	ac3 := func(s, login string, at time.Time) {
		if tt, ok := term[ids.Person(login)]; ok {
			got["AC-3"][s] = map[bool]model.Outcome{true: model.Fail, false: model.Pass}[at.After(tt)]
		}
	}
	ticket := regexp.MustCompile(`[A-Z][A-Z0-9]+-[0-9]+`)
	seen := map[string]bool{}
	for _, e := range readAccess(t, h) {
		sys, ok := h.Expect.Systems[e.system]
		if !ok {
			continue
		}
		s := e.system + ":" + e.id
		if seen[s] {
			t.Fatalf("access subject %s twice", s)
		}
		seen[s] = true
		if e.role != "" && slices.Contains(sys.BreakGlassRoles, e.role) {
			got["AC-1"][s] = model.NotApplicable
			got["AC-2"][s] = map[bool]model.Outcome{true: model.Pass, false: model.Fail}[ticket.MatchString(e.ticket)]
		} else {
			ok := slices.ContainsFunc(sys.Authorized, func(a string) bool {
				glob, _ := path.Match(a, e.principal)
				return glob || ids.SamePerson(a, e.principal)
			})
			got["AC-1"][s] = map[bool]model.Outcome{true: model.Pass, false: model.Fail}[ok]
		}
		ac3(s, e.principal, e.at)
	}
	inScope := func(r string) bool { return slices.Contains(h.Expect.InScope, r) }
	for i, d := range h.Deliveries {
		p := ps[i]
		if !inScope(p.Repository.FullName) {
			continue
		}
		switch {
		case d.Event == "pull_request" && p.Action == "closed" && *p.PullRequest.Merged:
			var m struct {
				PullRequest struct {
					MergedBy struct{ Login string } `json:"merged_by"`
				} `json:"pull_request"`
			}
			_ = json.Unmarshal(d.Body, &m)
			s := fmt.Sprintf("%s#%d", p.Repository.FullName, p.Number)
			ac3(s, p.PullRequest.User.Login, *p.PullRequest.MergedAt)
			if _, done := got["AC-3"][s]; !done {
				ac3(s, m.PullRequest.MergedBy.Login, *p.PullRequest.MergedAt)
			}
		case d.Event == "pull_request_review" && p.Action == "submitted":
			ac3(fmt.Sprintf("%s#%d/review/%d", p.Repository.FullName, p.PullRequest.Number, p.Review.ID), p.Review.User.Login, p.Review.SubmittedAt)
		}
	}
}

// TestOperationsCategories checks the per-category counts the category
// comments document, for several histories.
func TestOperationsCategories(t *testing.T) {
	exact := map[string]int{
		CatWaived: 1, CatDeployFirst: 3, CatDeployUnreviewed: 1, CatDeployPending: 1, CatDeployWaived: 1,
		CatDeployUnknownSHA: 1, CatDeployFailed: 2, CatDeployInProgress: 1,
		CatAccessUnauthorized: 11, CatAccessAlias: 5, CatBreakGlassTicket: 2, CatBreakGlassNoTicket: 3,
		CatTerminatedBefore: 9, CatTerminatedAfter: 4, CatAccessOutOfScope: 6, CatAccessAuthorized: 277,
	}
	atLeast := map[string]int{
		CatDeployPassing: 1, CatDeployFailing: 5, CatDeployStaging: 10, CatDeployWebhook: 5, CatAccessFailedAttempt: 2,
	}
	for _, o := range append(opsOptions, Options{Seed: 77, Operations: true}, Options{Seed: 5, PRs: 40, Operations: true}) {
		h := Generate(o)
		c := h.Expect.Categories
		for cat, n := range exact {
			if len(c[cat]) != n {
				t.Errorf("%+v: %s has %d subjects, want %d: %v", o, cat, len(c[cat]), n, c[cat])
			}
		}
		for cat, n := range atLeast {
			if len(c[cat]) < n {
				t.Errorf("%+v: %s has %d subjects, want at least %d", o, cat, len(c[cat]), n)
			}
		}
		out := h.Expect.Outcomes
		if s := c[CatDeployPending]; len(s) == 1 && out["CM-5"][s[0]] != model.Pending {
			t.Errorf("pending deploy %s: %s", s[0], out["CM-5"][s[0]])
		}
		if s := c[CatDeployWaived]; len(s) == 1 {
			if !slices.Contains(h.Expect.Shipped[s[0]], c[CatWaived][0]) || out["CM-5"][s[0]] != model.Pass {
				t.Errorf("waived deploy %s: %s, ships %v", s[0], out["CM-5"][s[0]], h.Expect.Shipped[s[0]])
			}
		}
		if s := c[CatDeployUnreviewed]; len(s) == 1 {
			sh := h.Expect.Shipped[s[0]]
			if len(sh) != 1 || out["CM-2"][sh[0]] != model.Fail && out["CM-1"][sh[0]] != model.Fail {
				t.Errorf("unreviewed deploy %s ships %v", s[0], sh)
			}
		}
		for _, s := range c[CatDeployFirst] {
			if len(h.Expect.Shipped[s]) != 1 {
				t.Errorf("first deploy %s ships %v", s, h.Expect.Shipped[s])
			}
		}
		if o == opsOptions[0] {
			for _, k := range slices.Sorted(maps.Keys(c)) {
				t.Logf("%-32s %d", k, len(c[k]))
			}
			for _, r := range slices.Sorted(maps.Keys(out)) {
				n := map[model.Outcome]int{}
				for _, v := range out[r] {
					n[v]++
				}
				t.Logf("%s %v", r, n)
			}
		}
	}
}

func TestConfigYAML(t *testing.T) {
	h := Generate(Options{Operations: true})
	y := h.Expect.ConfigYAML()
	for _, want := range []string{
		"scope:\n  repos: [\"acme/*\"]\n  exclude_repos: [\"acme/sandbox\"]\n  services:\n",
		`    "ledger": {repos: ["acme/ledger"]}`,
		`    "prod-k8s": {authorized: ["alice", "dave", "erin", "frank", "system:serviceaccount:ci:deployer"], break_glass_roles: ["break-glass"]}`,
		`  - {name: "mallory", logins: ["mallory"], terminated_at: "2026-02-09T17:00:00Z"}`,
		`  - {rule: "CM-2", subject: "` + h.Expect.Categories[CatWaived][0] + `", reason: "pairing session, reviewed live", approved_by: "cto", expires: "2026-06-02"}`,
	} {
		if !strings.Contains(y, want) {
			t.Errorf("ConfigYAML lacks %q:\n%s", want, y)
		}
	}
	plain := Generate(Options{PRs: 30}).Expect.ConfigYAML()
	if strings.Contains(plain, "services") || strings.Contains(plain, "access") || !strings.Contains(plain, "waivers: []") {
		t.Errorf("ConfigYAML without operations:\n%s", plain)
	}
}
