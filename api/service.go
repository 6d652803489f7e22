package api

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
)

// Service answers evidence queries from the store. Safe for concurrent use.
type Service struct {
	Store *store.Store
	// InScope says whether a repository is in scope (scope.repos).
	InScope func(repo string) bool
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
	rows, err := s.Store.Changes(ctx, store.ChangeQuery{Repo: q.Repo, From: lower(q.From), To: exclusive(q.To)})
	if err != nil {
		return nil, err
	}
	outcomes, err := s.Store.Outcomes(ctx, "CM-")
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
// the direct push OWNER/REPO@sha.
func (s *Service) BundleFor(ctx context.Context, repo string, number int, sha string) (*Bundle, error) {
	found, ok, err := s.Store.Change(ctx, repo, number, sha)
	if err != nil {
		return nil, err
	}
	subject := repo + "#" + strconv.Itoa(number)
	if number == 0 {
		subject = repo + "@" + sha
	}
	if !ok {
		return nil, fmt.Errorf("change %s: %w", subject, ErrNotFound)
	}
	ch := &found
	b := &Bundle{Subject: ch.Subject, InScope: s.InScope == nil || s.InScope(repo), Change: *ch,
		ReviewVerdicts: []model.ReviewVerdict{}, Deploys: []ShippedBy{}, Waivers: []model.Waiver{}}
	tip := ch.SHA
	if ch.Kind == model.KindPullRequest {
		tip = ch.MergeCommitSHA
	}
	if b.Pushes, err = s.Store.PushesTo(ctx, repo, tip); err != nil {
		return nil, err
	}
	all, err := s.Store.Findings(ctx, store.FindingQuery{Subject: ch.Subject, History: true})
	if err != nil {
		return nil, err
	}
	// Findings of the provisional direct-push subject belong to the bundle
	// too: they explain why it was withdrawn.
	if ch.Kind == model.KindPullRequest && tip != "" {
		prov, err := s.Store.Findings(ctx, store.FindingQuery{Subject: repo + "@" + tip, History: true})
		if err != nil {
			return nil, err
		}
		all = append(all, prov...)
	}
	byKey := map[string]*FindingView{}
	var keys []string
	for _, f := range all {
		k := f.Rule + "\x00" + f.Subject
		v, ok := byKey[k]
		if !ok {
			v = &FindingView{}
			byKey[k] = v
			keys = append(keys, k)
		}
		v.History = append(v.History, f)
		v.Finding = f // history is oldest first: the last is current
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := byKey[k]
		if v.Rule == "CM-2" && len(v.Finding.Evidence.Reviews) > 0 {
			b.ReviewVerdicts = v.Finding.Evidence.Reviews
		}
		b.Findings = append(b.Findings, *v)
	}
	if b.Deploys, err = s.shippedBy(ctx, repo, ch.Subject); err != nil {
		return nil, err
	}
	// Every waiver ever configured for the subject, applied or not yet,
	// expired or not: the auditor judges them too.
	ws, err := s.Store.Waivers(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.Subject == ch.Subject {
			b.Waivers = append(b.Waivers, w.Waiver)
		}
	}
	if b.Pushes == nil {
		b.Pushes = []model.Push{}
	}
	if b.Findings == nil {
		b.Findings = []FindingView{}
	}
	return b, nil
}

// shippedBy finds the deploys whose CM-5 finding lists subject among the
// changes they shipped.
func (s *Service) shippedBy(ctx context.Context, repo, subject string) ([]ShippedBy, error) {
	out := []ShippedBy{}
	fs, err := s.Store.Findings(ctx, store.FindingQuery{Rule: "CM-5", Repo: repo})
	if err != nil {
		return nil, err
	}
	var hits []model.Finding
	for _, f := range fs {
		for _, sh := range f.Evidence.Shipped {
			if sh == subject {
				hits = append(hits, f)
				break
			}
		}
	}
	if len(hits) == 0 {
		return out, nil
	}
	deploys, err := s.Store.DeploysOf(ctx, repo)
	if err != nil {
		return nil, err
	}
	bySubject := map[string]model.Deploy{}
	for _, d := range deploys {
		bySubject[d.Subject()] = d
	}
	for _, f := range hits {
		out = append(out, ShippedBy{Deploy: bySubject[f.Subject], Subject: f.Subject, Outcome: f.Outcome, Reason: f.Reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Deploy.OccurredAt().Before(out[j].Deploy.OccurredAt()) })
	return out, nil
}
