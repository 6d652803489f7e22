package api

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
)

// AuditSource serves the auditor export (package audit) from the same
// queries the API answers with, so a sample's evidence is the API's.
type AuditSource struct {
	*Service
	// IsProduction says whether an environment is a production one
	// (scope.production_environments).
	IsProduction func(env string) bool
	// InScopeSystem says whether access events of a system are judged
	// (access.systems).
	InScopeSystem func(system string) bool
}

var _ audit.Source = AuditSource{}

// Population implements audit.Source: the in-scope changes, the
// production deploys (CM-5 subjects) or the in-scope access events whose
// event time lies in [from, to] (inclusive).
func (a AuditSource) Population(ctx context.Context, population string, from, to time.Time) ([]audit.Member, error) {
	names, err := audit.ColumnNames(population)
	if err != nil {
		return nil, err
	}
	outcomes, err := a.outcomes(ctx)
	if err != nil {
		return nil, err
	}
	var out []audit.Member
	add := func(subject string, at time.Time, values map[string]string) {
		for rule, o := range outcomes[subject] {
			values[rule] = o
		}
		out = append(out, audit.Member{Subject: subject, OccurredAt: at.UTC(), Columns: audit.ColumnsFrom(names, values)})
	}
	switch population {
	case audit.PopulationChanges:
		cs, err := a.Changes(ctx, ChangesQuery{From: from, To: to, InScope: true})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			add(c.Subject, c.OccurredAt, map[string]string{"kind": c.Kind, "repo": c.Repo, "sha": c.SHA, "actor": c.Actor,
				"title": c.Title, "url": c.URL})
		}
	case audit.PopulationDeploys:
		ds, err := a.Store.DeploysBetween(ctx, lower(from), exclusive(to))
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Status != model.DeploySuccess || !a.production(d.Environment) || !a.inScope(d.Repo) {
				continue
			}
			add(d.Subject(), d.OccurredAt(), map[string]string{"service": d.Service, "environment": d.Environment,
				"deploy_id": d.ID, "repo": d.Repo, "sha": d.SHA, "status": d.Status, "actor": d.Actor, "url": d.URL})
		}
	case audit.PopulationAccess:
		es, err := a.Store.AccessBetween(ctx, lower(from), exclusive(to))
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if a.InScopeSystem != nil && !a.InScopeSystem(e.System) {
				continue
			}
			add(e.Subject(), e.Time, map[string]string{"system": e.System, "event_id": e.ID, "principal": e.Principal,
				"action": e.Action, "result": e.Result, "role": e.Role, "ticket": e.Ticket, "source_ip": e.SourceIP})
		}
	}
	return out, nil
}

var _ audit.Walker = AuditSource{}

// Walk implements audit.Walker: the members Population returns, streamed
// from the store in subject order with their outcomes joined in the
// engine, so that a population of millions is never held in memory.
func (a AuditSource) Walk(ctx context.Context, population string, from, to time.Time,
	fn func(subject string, occurredAt time.Time, values []string) error) error {
	names, err := audit.ColumnNames(population)
	if err != nil {
		return err
	}
	fields, err := store.PopulationFields(population)
	if err != nil {
		return err
	}
	// Each header column is a store field (>= 0) or a rule's outcome
	// (-1 - its index in rules).
	field := map[string]int{}
	for i, f := range fields {
		field[f] = i
	}
	var rules []string
	colOf := make([]int, len(names))
	for i, n := range names {
		if j, ok := field[n]; ok {
			colOf[i] = j
			continue
		}
		rules = append(rules, n)
		colOf[i] = -len(rules)
	}
	keep, err := a.filter(population, field)
	if err != nil {
		return err
	}
	values := make([]string, len(names))
	return a.Store.WalkPopulation(ctx, population, lower(from), exclusive(to), rules, func(r store.PopulationRow) error {
		if !keep(r.Fields) {
			return nil
		}
		for i, j := range colOf {
			if j >= 0 {
				values[i] = r.Fields[j]
			} else {
				values[i] = r.Outcomes[-1-j]
			}
		}
		return fn(r.Subject, r.OccurredAt, values)
	})
}

// filter says which stored members belong to the population, as
// Population decides: in-scope repositories' changes, successful deploys
// to production of in-scope repositories, in-scope systems' access events.
func (a AuditSource) filter(population string, field map[string]int) (func(fields []string) bool, error) {
	switch population {
	case audit.PopulationChanges:
		repo := field["repo"]
		return func(f []string) bool { return a.inScope(f[repo]) }, nil
	case audit.PopulationDeploys:
		status, env, repo := field["status"], field["environment"], field["repo"]
		return func(f []string) bool {
			return f[status] == model.DeploySuccess && a.production(f[env]) && a.inScope(f[repo])
		}, nil
	case audit.PopulationAccess:
		system := field["system"]
		return func(f []string) bool { return a.InScopeSystem == nil || a.InScopeSystem(f[system]) }, nil
	}
	return nil, fmt.Errorf("population %q: want changes, deploys or access", population)
}

func (a AuditSource) production(env string) bool { return a.IsProduction == nil || a.IsProduction(env) }

func (a AuditSource) inScope(repo string) bool { return a.InScope == nil || a.InScope(repo) }

// outcomes maps subject -> rule -> current outcome.
func (a AuditSource) outcomes(ctx context.Context) (map[string]map[string]string, error) {
	return a.Store.Outcomes(ctx, nil)
}

var (
	prSubject   = regexp.MustCompile(`^([^/#@\s]+/[^/#@\s]+)#([0-9]+)$`)
	pushSubject = regexp.MustCompile(`^([^/#@\s]+/[^/#@\s]+)@([0-9a-f]{40})$`)
)

// OtherBundle is the evidence of a deploy or an access event: the record
// and every verdict on it, with history.
type OtherBundle struct {
	Subject  string             `json:"subject"`
	Deploy   *model.Deploy      `json:"deploy,omitempty"`
	Access   *model.AccessEvent `json:"access,omitempty"`
	Findings []FindingView      `json:"findings"`
	Waivers  []model.Waiver     `json:"waivers"`
}

// Bundle implements audit.Source: Bundles of one subject.
func (a AuditSource) Bundle(ctx context.Context, population, subject string) (any, error) {
	bs, err := a.Bundles(ctx, population, []string{subject})
	if err != nil {
		return nil, err
	}
	return bs[0], nil
}

var _ audit.BundleBatcher = AuditSource{}

// Bundles implements audit.BundleBatcher: the bundles of many members read
// together (Service.Bundles for changes), a handful of statements for the
// whole sample.
func (a AuditSource) Bundles(ctx context.Context, population string, subjects []string) ([]any, error) {
	out := make([]any, len(subjects))
	switch population {
	case audit.PopulationChanges:
		keys := make([]model.ChangeKey, len(subjects))
		for i, subject := range subjects {
			if m := prSubject.FindStringSubmatch(subject); m != nil {
				n, _ := strconv.Atoi(m[2])
				keys[i] = model.ChangeKey{Repo: m[1], Number: n}
			} else if m := pushSubject.FindStringSubmatch(subject); m != nil {
				keys[i] = model.ChangeKey{Repo: m[1], SHA: m[2]}
			} else {
				return nil, fmt.Errorf("change %q: not OWNER/REPO#N or OWNER/REPO@<sha>", subject)
			}
		}
		bs, err := a.Service.Bundles(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i, b := range bs {
			out[i] = b
		}
		return out, nil
	case audit.PopulationDeploys, audit.PopulationAccess:
		bs, err := a.otherBundles(ctx, population, subjects)
		if err != nil {
			return nil, err
		}
		for i, b := range bs {
			out[i] = b
		}
		return out, nil
	}
	return nil, fmt.Errorf("population %q: want changes, deploys or access", population)
}

// otherBundles reads the bundles of deploys or access events.
func (a AuditSource) otherBundles(ctx context.Context, population string, subjects []string) ([]*OtherBundle, error) {
	var deploys map[string]model.Deploy
	var events map[[2]string]model.AccessEvent
	if population == audit.PopulationDeploys {
		for _, subject := range subjects {
			if len(strings.SplitN(subject, "@", 3)) != 3 {
				return nil, fmt.Errorf("deploy %q: not SERVICE@ENVIRONMENT@ID", subject)
			}
		}
		var err error
		if deploys, err = a.Store.DeploysBySubject(ctx, subjects); err != nil {
			return nil, err
		}
	} else {
		systems, ids := make([]string, len(subjects)), make([]string, len(subjects))
		for i, subject := range subjects {
			sys, id, ok := strings.Cut(subject, ":")
			if !ok {
				return nil, fmt.Errorf("access event %q: not SYSTEM:ID", subject)
			}
			systems[i], ids[i] = sys, id
		}
		var err error
		if events, err = a.Store.AccessEventsOf(ctx, systems, ids); err != nil {
			return nil, err
		}
	}
	history, err := a.Store.FindingHistories(ctx, subjects)
	if err != nil {
		return nil, err
	}
	ws, err := a.Store.Waivers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*OtherBundle, len(subjects))
	for i, subject := range subjects {
		b := &OtherBundle{Subject: subject, Findings: []FindingView{}, Waivers: []model.Waiver{}}
		if d, ok := deploys[subject]; ok {
			b.Deploy = &d
		}
		if sys, id, ok := strings.Cut(subject, ":"); ok && events != nil {
			if e, found := events[[2]string{sys, id}]; found {
				b.Access = &e
			}
		}
		byRule := map[string]*FindingView{}
		var rules []string
		for _, f := range history[subject] {
			v, ok := byRule[f.Rule]
			if !ok {
				v = &FindingView{}
				byRule[f.Rule] = v
				rules = append(rules, f.Rule)
			}
			v.History = append(v.History, f)
			v.Finding = f
		}
		for _, r := range rules {
			b.Findings = append(b.Findings, *byRule[r])
		}
		for _, w := range ws {
			if w.Subject == subject {
				b.Waivers = append(b.Waivers, w.Waiver)
			}
		}
		out[i] = b
	}
	return out, nil
}
