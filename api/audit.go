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

func (a AuditSource) production(env string) bool { return a.IsProduction == nil || a.IsProduction(env) }

func (a AuditSource) inScope(repo string) bool { return a.InScope == nil || a.InScope(repo) }

// outcomes maps subject -> rule -> current outcome.
func (a AuditSource) outcomes(ctx context.Context) (map[string]map[string]string, error) {
	return a.Store.Outcomes(ctx, "")
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

// Bundle implements audit.Source.
func (a AuditSource) Bundle(ctx context.Context, population, subject string) (any, error) {
	switch population {
	case audit.PopulationChanges:
		if m := prSubject.FindStringSubmatch(subject); m != nil {
			n, _ := strconv.Atoi(m[2])
			return a.BundleFor(ctx, m[1], n, "")
		}
		if m := pushSubject.FindStringSubmatch(subject); m != nil {
			return a.BundleFor(ctx, m[1], 0, m[2])
		}
		return nil, fmt.Errorf("change %q: not OWNER/REPO#N or OWNER/REPO@<sha>", subject)
	case audit.PopulationDeploys, audit.PopulationAccess:
		b := &OtherBundle{Subject: subject, Findings: []FindingView{}, Waivers: []model.Waiver{}}
		if population == audit.PopulationDeploys {
			parts := strings.SplitN(subject, "@", 3)
			if len(parts) != 3 {
				return nil, fmt.Errorf("deploy %q: not SERVICE@ENVIRONMENT@ID", subject)
			}
			ds, err := a.Store.DeploysBetween(ctx, time.Time{}, time.Time{})
			if err != nil {
				return nil, err
			}
			for i := range ds {
				if ds[i].Subject() == subject {
					b.Deploy = &ds[i]
				}
			}
		} else {
			sys, id, ok := strings.Cut(subject, ":")
			if !ok {
				return nil, fmt.Errorf("access event %q: not SYSTEM:ID", subject)
			}
			e, found, err := a.Store.AccessEvent(ctx, sys, id)
			if err != nil {
				return nil, err
			}
			if found {
				b.Access = &e
			}
		}
		hist, err := a.Store.Findings(ctx, store.FindingQuery{Subject: subject, History: true})
		if err != nil {
			return nil, err
		}
		byRule := map[string]*FindingView{}
		var rules []string
		for _, f := range hist {
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
		ws, err := a.Store.Waivers(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			if w.Subject == subject {
				b.Waivers = append(b.Waivers, w.Waiver)
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("population %q: want changes, deploys or access", population)
}
