package demoorg

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Waiver text, as cmd/changeproof/demo.go writes it.
const (
	waiverReason   = "pairing session, reviewed live"
	waiverApprover = "cto"
)

// opsExpect collects what Options.Operations adds to Expectations.
type opsExpect struct {
	org     string
	waivers []Waiver
	shipped map[string][]string
	skipped map[string]int
}

// waived is the waived CM-2 subject, or "".
func (o *opsExpect) waived() string {
	for _, w := range o.waivers {
		if w.Rule == "CM-2" {
			return w.Subject
		}
	}
	return ""
}

// waive applies the demo's waiver: CM-2 of the first CatSelfApproved
// subject (sorted, as Expectations.Categories has it) becomes "waived".
func (g *gen) waive() {
	g.ops.org = g.o.Org
	s := first(g.cats[CatSelfApproved])
	if s == "" {
		return
	}
	g.ops.waivers = []Waiver{{Rule: "CM-2", Subject: s, Reason: waiverReason, ApprovedBy: waiverApprover,
		Expires: endOfDay(g.o.Now.AddDate(0, 3, 0))}}
	g.expect("CM-2", s, model.Waived)
	g.add(CatWaived, s)
}

// endOfDay is the last instant of t's day, UTC: what a config date means
// for expires.
func endOfDay(t time.Time) time.Time {
	return t.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Add(-time.Nanosecond)
}

// Authorized principals and break-glass roles per in-scope system. mallory
// is still listed where she had access: nobody revoked it, which is why
// AC-1 passes her and AC-3 fails her after she left.
var systems = map[string]SystemConfig{
	SystemDB:      {Authorized: []string{"alice", "bob", "carol", "heidi", Mallory}, BreakGlassRoles: []string{RoleDBBreakGlass}},
	SystemK8s:     {Authorized: []string{"alice", "dave", "erin", "frank", K8sDeployer}, BreakGlassRoles: []string{RoleK8sBreakGlass}},
	SystemBastion: {Authorized: []string{"alice", "bob", "frank", "ivan", Mallory}},
}

func (o *opsExpect) fill(e *Expectations) {
	e.Services = map[string][]string{}
	for _, s := range services {
		e.Services[s.name] = []string{o.org + "/" + repoSpecs[s.repo].name}
	}
	e.Systems = maps.Clone(systems)
	maps.Copy(e.Systems, formatSystems)
	e.Waivers = o.waivers
	e.Shipped = o.shipped
	e.AccessSkipped = o.skipped
}

// ConfigYAML renders the configuration the outcomes assume, for a
// changeproof YAML file: the policy keys besides the defaults that the
// outcomes assume (bot_min_approvals, required_checks; indented, so the
// text must follow a "policy:" line), then the whole scope, access,
// identities and waivers sections (replace those of your file with it).
// policy.require_ticket: true, which CM-4's outcomes assume, is not part of
// this text.
func (e Expectations) ConfigYAML() string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "  bot_min_approvals: %d\n", e.BotMinApprovals)
	qs := make([]string, len(e.RequiredChecks))
	for i, c := range e.RequiredChecks {
		qs[i] = q(c)
	}
	fmt.Fprintf(&b, "  required_checks: [%s]\n", strings.Join(qs, ", "))
	list := func(xs []string) string {
		qs := make([]string, len(xs))
		for i, x := range xs {
			qs[i] = q(x)
		}
		return "[" + strings.Join(qs, ", ") + "]"
	}
	b.WriteString("scope:\n")
	fmt.Fprintf(&b, "  repos: %s\n", list(e.ScopeRepos))
	fmt.Fprintf(&b, "  exclude_repos: %s\n", list(e.ExcludeRepos))
	if len(e.Services) > 0 {
		b.WriteString("  services:\n")
		for _, name := range slices.Sorted(maps.Keys(e.Services)) {
			fmt.Fprintf(&b, "    %s: {repos: %s}\n", q(name), list(e.Services[name]))
		}
	}
	if len(e.Systems) > 0 {
		b.WriteString("access:\n  systems:\n")
		for _, name := range slices.Sorted(maps.Keys(e.Systems)) {
			s := e.Systems[name]
			fmt.Fprintf(&b, "    %s: {authorized: %s, break_glass_roles: %s}\n", q(name), list(s.Authorized), list(s.BreakGlassRoles))
		}
	}
	b.WriteString("identities:\n")
	for _, id := range e.Identities {
		fmt.Fprintf(&b, "  - {name: %s, logins: %s", q(id.Name), list(id.Logins))
		if !id.TerminatedAt.IsZero() {
			fmt.Fprintf(&b, ", terminated_at: %s", q(id.TerminatedAt.UTC().Format(time.RFC3339)))
		}
		b.WriteString("}\n")
	}
	if len(e.Waivers) == 0 {
		b.WriteString("waivers: []\n")
	} else {
		b.WriteString("waivers:\n")
		for _, w := range e.Waivers {
			fmt.Fprintf(&b, "  - {rule: %s, subject: %s, reason: %s, approved_by: %s, expires: %s}\n",
				q(w.Rule), q(w.Subject), q(w.Reason), q(w.ApprovedBy), q(w.Expires.UTC().Format("2006-01-02")))
		}
	}
	return b.String()
}
