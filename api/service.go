package api

import (
	"context"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store"
)

// Service answers evidence queries from the store. Safe for concurrent use.
type Service struct {
	Store *store.Store
	// InScope says whether a repository is in scope (scope.repos).
	InScope func(repo string) bool
	// Rules are the control ids a rule filter may name (exact case); nil
	// accepts any.
	Rules []string
}

// FindingsQuery is the parsed query of GET /v1/findings.
type FindingsQuery struct {
	Rule, Outcome, Repo string
	From, To            time.Time // inclusive bounds on occurred_at; zero = open
	History             bool
}

// FindingView is one finding as the API renders it.
type FindingView struct {
	model.Finding
	History []model.Finding `json:"history,omitempty"`
}

// Findings returns the current findings matching q, sorted by rule and
// subject, each with its earlier outcomes when q.History.
func (s *Service) Findings(ctx context.Context, q FindingsQuery) ([]FindingView, error) {
	if err := s.checkFilters(q.Rule, q.Outcome, q.Repo, q.From, q.To); err != nil {
		return nil, err
	}
	fq := store.FindingQuery{Rule: q.Rule, Outcome: q.Outcome, Repo: q.Repo, From: lower(q.From), To: exclusive(q.To)}
	cur, err := s.Store.Findings(ctx, fq)
	if err != nil {
		return nil, err
	}
	out := make([]FindingView, len(cur))
	for i, f := range cur {
		out[i] = FindingView{Finding: f}
	}
	if q.History && len(cur) > 0 {
		all, err := s.Store.Findings(ctx, store.FindingQuery{Rule: q.Rule, Repo: q.Repo, History: true})
		if err != nil {
			return nil, err
		}
		hist := map[string][]model.Finding{}
		for _, f := range all {
			k := f.Rule + "\x00" + f.Subject
			hist[k] = append(hist[k], f)
		}
		for i := range out {
			out[i].History = hist[out[i].Rule+"\x00"+out[i].Subject]
		}
	}
	return out, nil
}

// lower rounds an inclusive lower bound up to the millisecond the store
// keeps, so a bound between two milliseconds excludes the earlier one.
func lower(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); r.Before(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

// exclusive turns an inclusive upper bound into the store's exclusive one
// (occurred_at is kept to the millisecond).
func exclusive(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(time.Millisecond)
}

// ChangesQuery is the parsed query of GET /v1/changes.
type ChangesQuery struct {
	Repo     string
	From, To time.Time // inclusive
	InScope  bool      // only in-scope repositories
}

// ChangeView is one member of the population of changes with its CM outcomes.
type ChangeView struct {
	Subject    string            `json:"subject"`
	Kind       string            `json:"kind"`
	Repo       string            `json:"repo"`
	Number     int               `json:"number,omitempty"`
	SHA        string            `json:"sha"`
	OccurredAt time.Time         `json:"occurred_at"`
	Actor      string            `json:"actor"`
	Title      string            `json:"title"`
	URL        string            `json:"url"`
	InScope    bool              `json:"in_scope"`
	Outcomes   map[string]string `json:"outcomes"` // rule -> outcome
}

// Changes returns the population of changes matching q, sorted by subject.
func (s *Service) Changes(ctx context.Context, q ChangesQuery) ([]ChangeView, error) {
	if err := s.checkFilters("", "", q.Repo, q.From, q.To); err != nil {
		return nil, err
	}
	rows, err := s.Store.Changes(ctx, store.ChangeQuery{Repo: q.Repo, From: lower(q.From), To: exclusive(q.To)})
	if err != nil {
		return nil, err
	}
	outcomes, err := s.Store.Outcomes(ctx, rules.InPopulation(control.PopulationChanges))
	if err != nil {
		return nil, err
	}
	out := make([]ChangeView, 0, len(rows))
	for _, r := range rows {
		in := s.InScope == nil || s.InScope(r.Repo)
		if q.InScope && !in {
			continue
		}
		o := outcomes[r.Subject]
		if o == nil {
			o = map[string]string{}
		}
		out = append(out, ChangeView{Subject: r.Subject, Kind: r.Kind, Repo: r.Repo, Number: r.Number, SHA: r.SHA,
			OccurredAt: r.OccurredAt.T(), Actor: r.Actor, Title: r.Title, URL: r.URL, InScope: in, Outcomes: o})
	}
	return out, nil
}

// Bundle is one change's evidence: what happened, who reviewed it and
// whether each review counted, the pushes that carried it, and every verdict.
type Bundle struct {
	Subject        string                `json:"subject"`
	InScope        bool                  `json:"in_scope"`
	Change         model.Change          `json:"change"`
	ReviewVerdicts []model.ReviewVerdict `json:"review_verdicts"`
	Pushes         []model.Push          `json:"pushes"`
	Deploys        []ShippedBy           `json:"deploys"`
	Findings       []FindingView         `json:"findings"`
	// Waivers are the configured waivers naming this subject.
	Waivers []model.Waiver `json:"waivers"`
	// Rulesets are the rulesets of the repository (and its organisation)
	// as they stood when the change happened: each one's latest recorded
	// state at or before it. The change's contributors and check results
	// are in Change.
	Rulesets []model.RulesetEvent `json:"rulesets"`
}

// ShippedBy is a production deploy that shipped the change, with its CM-5
// verdict.
type ShippedBy struct {
	model.Deploy
	Subject string        `json:"subject"`
	Outcome model.Outcome `json:"outcome"`
	Reason  string        `json:"reason"`
}

// ErrNotFound means no change has that subject.
var ErrNotFound = fmt.Errorf("not found")

// BundleFor returns the evidence bundle of OWNER/REPO#N (number > 0) or of
// the direct push OWNER/REPO@sha: Bundles of one key.
func (s *Service) BundleFor(ctx context.Context, repo string, number int, sha string) (*Bundle, error) {
	bs, err := s.Bundles(ctx, []model.ChangeKey{{Repo: repo, Number: number, SHA: sha}})
	if err != nil {
		return nil, err
	}
	return bs[0], nil
}
