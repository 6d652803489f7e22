// Package report writes the SOC 2 Type II period report: for an
// observation window, the system in scope and the policy in force, every
// control's question, population, outcomes, exception rate and
// month-by-month trend, every exception with its reason, waiver and
// remediation status, and the raw log's chain heads; as report.html
// (printable, with inline SVG charts), report.json, exceptions.csv and
// manifest.json (the SHA-256 of every other file, optionally signed), or as
// OSCAL assessment results (package oscal).
//
// The report is computed from plain data (Input) the caller collects: the
// current findings whose occurred_at lies in the period, exactly those the
// findings API returns for the same from/to, so the report's numbers are
// the API's. Controls come from the catalogue the caller passes (the
// rules package's), so a new control appears without a change here.
package report

import (
	"fmt"
	"sort"
	"time"

	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// FormatVersion is Report.Format and the manifest's format.
const FormatVersion = "changeproof-report/1"

// Input is everything a report is computed from.
type Input struct {
	// From and To bound occurred_at, both inclusive.
	From, To time.Time
	// Controls is the control catalogue, in catalogue order.
	Controls []control.Definition
	// Findings are the current findings (one per rule and subject) whose
	// occurred_at lies in [From, To], each with its earlier fails.
	Findings []Finding
	// System is the system in scope and the policy in force.
	System System
	// ChainHeads are the raw log's chain heads when the report is made.
	ChainHeads []ChainHead
	// ToolVersion is recorded as given.
	ToolVersion string
	// GeneratedAt is the generation time, the one thing that differs
	// between two reports of the same data.
	GeneratedAt time.Time
}

// Finding is a current finding with its history, oldest first: every
// earlier verdict, or at least every earlier fail (all the report reads).
type Finding struct {
	model.Finding
	History []model.Finding `json:"history,omitempty"`
}

// System is the system in scope: what the controls judged, and how.
type System struct {
	// Repositories are the in-scope repositories with evidence, sorted.
	Repositories []string `json:"repositories"`
	// RepositoryPatterns are the configured scope patterns.
	RepositoryPatterns []string `json:"repository_patterns"`
	// ProductionEnvironments are the environments whose deploys are judged.
	ProductionEnvironments []string `json:"production_environments"`
	// Services map deploy services to their repositories, sorted by name.
	Services []Service `json:"services"`
	// AccessSystems are the production systems whose access is judged.
	AccessSystems []string `json:"access_systems"`
	// Policy is the policy section in force, key by key.
	Policy map[string]any `json:"policy"`
	// Waivers are the configured waivers.
	Waivers []model.Waiver `json:"waivers"`
}

// Service is one deployable service and its repositories.
type Service struct {
	Name  string   `json:"name"`
	Repos []string `json:"repos"`
}

// ChainHead is the last link of one chain of the raw log.
type ChainHead struct {
	Chain string `json:"chain"`
	Seq   uint64 `json:"head_seq"`
	Hash  string `json:"head_hash"`
}

// Report is report.json.
type Report struct {
	Format      string       `json:"format"`
	Period      audit.Period `json:"period"`
	GeneratedAt time.Time    `json:"generated_at"`
	ToolVersion string       `json:"tool_version"`
	System      System       `json:"system"`
	// ExceptionRateDefinition says how the rates are computed.
	ExceptionRateDefinition string          `json:"exception_rate_definition"`
	Controls                []ControlResult `json:"controls"`
	Exceptions              []Exception     `json:"exceptions"`
	ChainHeads              []ChainHead     `json:"chain_heads"`
	// Findings are the findings the report was computed from (OSCAL lists
	// them one by one; report.json gives the counts and the findings API
	// the rows).
	Findings []Finding `json:"-"`
}

// RateDefinition is Report.ExceptionRateDefinition.
const RateDefinition = "exceptions (current outcome fail or waived) divided by the members tested (population less not_applicable); 0 when nothing was tested"

// ControlResult is one control's results over the period.
type ControlResult struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Question    string `json:"question"`
	Subjects    string `json:"subjects"`
	Remediation string `json:"remediation"`
	Counts
	// Months is the trend, one entry per calendar month (UTC) the period
	// touches, by occurred_at.
	Months []MonthResult `json:"months"`
}

// Counts are the outcome counts of a population.
type Counts struct {
	// Population is the number of subjects judged (current findings).
	Population int `json:"population"`
	// Outcomes counts the current outcomes; every outcome is present.
	Outcomes map[model.Outcome]int `json:"outcomes"`
	// Tested is Population less not_applicable.
	Tested int `json:"tested"`
	// Exceptions are the fails and waivers.
	Exceptions int `json:"exceptions"`
	// ExceptionRate is Exceptions / Tested, rounded to 4 decimals.
	ExceptionRate float64 `json:"exception_rate"`
	// Remediated counts subjects that failed earlier in their history and
	// pass now (not exceptions any more, listed among the exceptions).
	Remediated int `json:"remediated"`
}

// MonthResult is one month of a control's trend.
type MonthResult struct {
	Month string `json:"month"` // YYYY-MM
	Counts
}

// Exception is a finding the auditor must look at: a fail, a waiver, or a
// subject that failed earlier and no longer does.
type Exception struct {
	Rule        string        `json:"rule"`
	Control     string        `json:"control"`
	Subject     string        `json:"subject"`
	Repo        string        `json:"repo"`
	OccurredAt  time.Time     `json:"occurred_at"`
	EvaluatedAt time.Time     `json:"evaluated_at"`
	Outcome     model.Outcome `json:"outcome"`
	Reason      string        `json:"reason"`
	// FailReason is, for a remediated exception, the reason of the last
	// fail in its history.
	FailReason string        `json:"fail_reason,omitempty"`
	Waiver     *model.Waiver `json:"waiver"`
	// Status is the remediation status: "open" (still failing, or not
	// settled since it failed), "waived" (accepted by a waiver),
	// "remediated" (failed, passes now) or "withdrawn" (failed, then the
	// control found it does not apply, e.g. a push that was a pull
	// request's merge).
	Status string `json:"status"`
	// Remediation is the control's guidance for a fail.
	Remediation string `json:"remediation"`
	// URL links the evidence (the pull request, push or deploy), when known.
	URL string `json:"url,omitempty"`
}

// Remediation statuses.
const (
	StatusOpen       = "open"
	StatusWaived     = "waived"
	StatusRemediated = "remediated"
	StatusWithdrawn  = "withdrawn"
)

// Build computes the report. It is a pure function of in: the same input
// gives the same report.
func Build(in Input) *Report {
	r := &Report{Format: FormatVersion, Period: audit.Period{From: in.From.UTC(), To: in.To.UTC()},
		GeneratedAt: in.GeneratedAt.UTC(), ToolVersion: in.ToolVersion, System: in.System,
		ExceptionRateDefinition: RateDefinition, Controls: []ControlResult{}, Exceptions: []Exception{},
		ChainHeads: in.ChainHeads, Findings: in.Findings}
	if r.ChainHeads == nil {
		r.ChainHeads = []ChainHead{}
	}
	normalise(&r.System)
	months := Months(in.From, in.To)
	defs := map[string]control.Definition{}
	var order []string
	for _, d := range in.Controls {
		if _, dup := defs[d.ID]; !dup {
			defs[d.ID] = d
			order = append(order, d.ID)
		}
	}
	// Rules the catalogue does not know still count (a newer store, an
	// older binary): listed after the catalogue, by id.
	var extra []string
	for _, f := range in.Findings {
		if _, ok := defs[f.Rule]; !ok {
			defs[f.Rule] = control.Definition{ID: f.Rule, Name: "(not in this version's catalogue)"}
			extra = append(extra, f.Rule)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)

	byRule := map[string][]Finding{}
	for _, f := range in.Findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	for _, id := range order {
		d := defs[id]
		c := ControlResult{ID: d.ID, Name: d.Name, Question: d.Question, Subjects: d.Subjects, Remediation: d.Remediation,
			Counts: newCounts()}
		monthIdx := map[string]int{}
		for i, m := range months {
			monthIdx[m] = i
			c.Months = append(c.Months, MonthResult{Month: m, Counts: newCounts()})
		}
		fs := byRule[id]
		sort.Slice(fs, func(i, j int) bool { return fs[i].Subject < fs[j].Subject })
		for _, f := range fs {
			failReason, failedBefore := earlierFail(f)
			remediated := failedBefore && f.Outcome == model.Pass
			c.add(f.Outcome, remediated)
			if i, ok := monthIdx[f.OccurredAt.UTC().Format("2006-01")]; ok {
				c.Months[i].add(f.Outcome, remediated)
			}
			if e, ok := exception(d, f, failReason, failedBefore); ok {
				r.Exceptions = append(r.Exceptions, e)
			}
		}
		c.finish()
		for i := range c.Months {
			c.Months[i].finish()
		}
		r.Controls = append(r.Controls, c)
	}
	return r
}

func newCounts() Counts {
	c := Counts{Outcomes: map[model.Outcome]int{}}
	for _, o := range model.Outcomes {
		c.Outcomes[o] = 0
	}
	return c
}

func (c *Counts) add(o model.Outcome, remediated bool) {
	c.Population++
	c.Outcomes[o]++
	if remediated {
		c.Remediated++
	}
}

func (c *Counts) finish() {
	c.Tested = c.Population - c.Outcomes[model.NotApplicable]
	c.Exceptions = c.Outcomes[model.Fail] + c.Outcomes[model.Waived]
	if c.Tested > 0 {
		c.ExceptionRate = float64(int64(float64(c.Exceptions)/float64(c.Tested)*10000+0.5)) / 10000
	}
}

// earlierFail returns the reason of the last fail in the history of a
// finding that is neither fail nor waived now; ok false when it never failed.
func earlierFail(f Finding) (reason string, ok bool) {
	if f.Outcome == model.Fail || f.Outcome == model.Waived {
		return "", false
	}
	for i := len(f.History) - 1; i >= 0; i-- {
		if f.History[i].Outcome == model.Fail {
			return f.History[i].Reason, true
		}
	}
	return "", false
}

func exception(d control.Definition, f Finding, failReason string, failedBefore bool) (Exception, bool) {
	e := Exception{Rule: f.Rule, Control: d.Name, Subject: f.Subject, Repo: f.Repo, OccurredAt: f.OccurredAt.UTC(),
		EvaluatedAt: f.EvaluatedAt.UTC(), Outcome: f.Outcome, Reason: f.Reason, Waiver: f.Waiver,
		Remediation: d.Remediation, URL: f.Evidence.URL}
	switch {
	case f.Outcome == model.Fail:
		e.Status = StatusOpen
	case f.Outcome == model.Waived:
		e.Status = StatusWaived
	case !failedBefore:
		return Exception{}, false
	case f.Outcome == model.Pass:
		e.Status, e.FailReason = StatusRemediated, failReason
	case f.Outcome == model.NotApplicable:
		e.Status, e.FailReason = StatusWithdrawn, failReason
	default: // pending or error after a fail: not settled
		e.Status, e.FailReason = StatusOpen, failReason
	}
	return e, true
}

// Months lists the calendar months (UTC, "YYYY-MM") from's through to's.
func Months(from, to time.Time) []string {
	from, to = from.UTC(), to.UTC()
	var out []string
	m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	for !m.After(to) && len(out) < 1200 {
		out = append(out, m.Format("2006-01"))
		m = m.AddDate(0, 1, 0)
	}
	return out
}

// normalise makes nil lists empty and sorts what has no order of its own,
// so equal systems render equal bytes.
func normalise(s *System) {
	for _, l := range []*[]string{&s.Repositories, &s.RepositoryPatterns, &s.ProductionEnvironments, &s.AccessSystems} {
		if *l == nil {
			*l = []string{}
		}
	}
	sort.Strings(s.Repositories)
	sort.Strings(s.AccessSystems)
	if s.Services == nil {
		s.Services = []Service{}
	}
	sort.Slice(s.Services, func(i, j int) bool { return s.Services[i].Name < s.Services[j].Name })
	if s.Waivers == nil {
		s.Waivers = []model.Waiver{}
	}
	if s.Policy == nil {
		s.Policy = map[string]any{}
	}
}

// Percent renders a rate for people: "2.5%", "0%".
func Percent(rate float64) string {
	s := fmt.Sprintf("%.2f", rate*100)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s + "%"
}
