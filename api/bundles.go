package api

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/change"
)

// Bundles returns the evidence bundle of every key (see BundleFor), in key
// order, reading them together: a handful of statements however many keys,
// which is what makes a sample of 60 from a million changes cheap. A key
// without a change is ErrNotFound (the first such key is named).
func (s *Service) Bundles(ctx context.Context, keys []model.ChangeKey) ([]*Bundle, error) {
	// The rows only; which change each key names is rules/change's, the
	// same derivation the evaluator judged.
	rec, err := s.Store.ChangeRecordsOf(ctx, keys)
	if err != nil {
		return nil, err
	}
	changes := change.Lookup(rec, keys)
	var repos, tips, subjects []string
	seenRepo := map[string]bool{}
	for _, k := range keys {
		ch, ok := changes[k]
		if !ok {
			subject := k.Repo + "#" + strconv.Itoa(k.Number)
			if k.Number == 0 {
				subject = k.Repo + "@" + k.SHA
			}
			return nil, fmt.Errorf("change %s: %w", subject, ErrNotFound)
		}
		tip := changeTip(ch)
		repos, tips = append(repos, k.Repo), append(tips, tip)
		subjects = append(subjects, ch.Subject)
		// Findings of the provisional direct-push subject belong to the
		// bundle too: they explain why it was withdrawn.
		if ch.Kind == model.KindPullRequest && tip != "" {
			subjects = append(subjects, k.Repo+"@"+tip)
		}
		seenRepo[k.Repo] = true
	}
	pushes, err := s.Store.PushesToEach(ctx, repos, tips)
	if err != nil {
		return nil, err
	}
	history, err := s.Store.FindingHistories(ctx, subjects)
	if err != nil {
		return nil, err
	}
	var distinct []string
	for r := range seenRepo {
		distinct = append(distinct, r)
	}
	sort.Strings(distinct)
	shipped, err := s.shippedByEach(ctx, distinct)
	if err != nil {
		return nil, err
	}
	// Every waiver ever configured for the subject, applied or not yet,
	// expired or not: the auditor judges them too.
	ws, err := s.Store.Waivers(ctx)
	if err != nil {
		return nil, err
	}
	rulesets := map[string][]model.RulesetEvent{}
	for _, r := range distinct {
		if rulesets[r], err = s.Store.Rulesets(ctx, r); err != nil {
			return nil, err
		}
	}
	out := make([]*Bundle, len(keys))
	for i, k := range keys {
		ch := changes[k]
		b := &Bundle{Subject: ch.Subject, InScope: s.InScope == nil || s.InScope(k.Repo), Change: ch,
			ReviewVerdicts: []model.ReviewVerdict{}, Pushes: pushes[[2]string{k.Repo, changeTip(ch)}],
			Findings: []FindingView{}, Deploys: shipped(k.Repo, ch.Subject), Waivers: []model.Waiver{}}
		all := history[ch.Subject]
		if tip := changeTip(ch); ch.Kind == model.KindPullRequest && tip != "" {
			all = append(append([]model.Finding(nil), all...), history[k.Repo+"@"+tip]...)
		}
		byKey := map[string]*FindingView{}
		var fkeys []string
		for _, f := range all {
			fk := f.Rule + "\x00" + f.Subject
			v, ok := byKey[fk]
			if !ok {
				v = &FindingView{}
				byKey[fk] = v
				fkeys = append(fkeys, fk)
			}
			v.History = append(v.History, f)
			v.Finding = f // history is oldest first: the last is current
		}
		sort.Strings(fkeys)
		for _, fk := range fkeys {
			v := byKey[fk]
			if v.Rule == reviewVerdictsRule && len(v.Finding.Evidence.Reviews) > 0 {
				b.ReviewVerdicts = v.Finding.Evidence.Reviews
			}
			b.Findings = append(b.Findings, *v)
		}
		for _, w := range ws {
			if w.Subject == ch.Subject {
				b.Waivers = append(b.Waivers, w.Waiver)
			}
		}
		if b.Pushes == nil {
			b.Pushes = []model.Push{}
		}
		b.Rulesets = rulesetsAt(rulesets[k.Repo], ch.OccurredAt)
		out[i] = b
	}
	return out, nil
}

// changeTip is the commit a change put on the default branch.
func changeTip(ch model.Change) string {
	if ch.Kind == model.KindPullRequest {
		return ch.MergeCommitSHA
	}
	return ch.SHA
}

// shippedByEach reads the deploy verdicts (of the control that presents
// shipments) and deploys of repos and returns the production deploys that
// shipped a change (subject) of one of them, oldest first, each with its
// verdict.
func (s *Service) shippedByEach(ctx context.Context, repos []string) (func(repo, subject string) []ShippedBy, error) {
	if shipmentsRule == "" {
		return func(string, string) []ShippedBy { return []ShippedBy{} }, nil
	}
	verdicts, err := s.Store.CurrentFindingsOf(ctx, shipmentsRule, repos)
	if err != nil {
		return nil, err
	}
	var shipping []string // repositories with a deploy that shipped something
	for _, r := range repos {
		for _, f := range verdicts[r] {
			if len(f.Evidence.Shipped) > 0 {
				shipping = append(shipping, r)
				break
			}
		}
	}
	deploys, err := s.Store.DeploysOfEach(ctx, shipping)
	if err != nil {
		return nil, err
	}
	return func(repo, subject string) []ShippedBy {
		out := []ShippedBy{}
		var hits []model.Finding
		for _, f := range verdicts[repo] {
			for _, sh := range f.Evidence.Shipped {
				if sh == subject {
					hits = append(hits, f)
					break
				}
			}
		}
		if len(hits) == 0 {
			return out
		}
		bySubject := map[string]model.Deploy{}
		for _, d := range deploys[repo] {
			bySubject[d.Subject()] = d
		}
		for _, f := range hits {
			out = append(out, ShippedBy{Deploy: bySubject[f.Subject], Subject: f.Subject, Outcome: f.Outcome, Reason: f.Reason})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Deploy.OccurredAt().Before(out[j].Deploy.OccurredAt()) })
		return out
	}, nil
}

// rulesetsAt returns, of states (oldest first), each ruleset's latest state
// at or before t.
func rulesetsAt(states []model.RulesetEvent, t time.Time) []model.RulesetEvent {
	out := []model.RulesetEvent{}
	at := map[int64]int{}
	for _, r := range states {
		if r.OccurredAt.After(t) {
			continue
		}
		if i, ok := at[r.RulesetID]; ok {
			out[i] = r
			continue
		}
		at[r.RulesetID] = len(out)
		out = append(out, r)
	}
	return out
}

// The controls whose findings a bundle shows beyond their verdicts, by
// their definitions: the first (catalogue order) whose findings carry the
// review verdicts, and the first that lists the changes each deploy
// shipped.
var reviewVerdictsRule, shipmentsRule = func() (string, string) {
	var reviews, shipments string
	for _, d := range rules.Catalogue() {
		if reviews == "" && d.Presents.ReviewVerdicts {
			reviews = d.ID
		}
		if shipments == "" && d.Presents.Shipments {
			shipments = d.ID
		}
	}
	return reviews, shipments
}()
