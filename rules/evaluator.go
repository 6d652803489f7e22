package rules

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

var (
	evalSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "changeproof_rule_evaluation_seconds", Help: "Time to evaluate every control over one repository.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	accessEvalSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "changeproof_access_evaluation_seconds", Help: "Time to evaluate the access controls over one batch of events.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
)

// Store is what evaluation reads and writes.
//
// Methods block on the store and are safe for concurrent use. An error means
// the evidence could not be read or the verdicts not recorded; evaluation
// turns a read error into `error` findings, never into `fail`.
type Store interface {
	RepoEvidence(ctx context.Context, repo string) (*model.RepoEvidence, error)
	// CurrentFindings returns the latest verdict of every (rule, subject) of repo.
	CurrentFindings(ctx context.Context, repo string) ([]model.Finding, error)
	// FindingsFor returns the latest verdict of every rule on each subject.
	FindingsFor(ctx context.Context, subjects []string) ([]model.Finding, error)
	AppendFindings(ctx context.Context, fs []model.Finding) error
}

// Evaluator judges repositories. Safe for concurrent use on different
// repositories; the Runner never evaluates one repository twice at once.
type Evaluator struct {
	Controls []control.Control
	// AccessControls judge access events (AC-1..AC-3).
	AccessControls []control.AccessControl
	// Env returns the policy and identities in force; Now is filled per run.
	Env     func() control.Env
	Waivers func() []model.Waiver
	Store   Store
	// Now is the evaluation clock; nil = time.Now.
	Now func() time.Time
	// BeforeRecord, if set, is given every change of verdict before it is
	// recorded (the alert outbox): when it fails nothing is recorded and the
	// change is found again by the next evaluation, so a crash between the
	// two never loses what BeforeRecord owes.
	BeforeRecord func(ctx context.Context, changed []model.Finding) error

	accessMu sync.Mutex
}

// EvaluateRepo judges every subject of repo and records the verdicts that
// changed, returning them. A returned error means the verdicts could not be
// recorded (reading errors become `error` findings instead).
func (e *Evaluator) EvaluateRepo(ctx context.Context, repo string) ([]model.Finding, error) {
	start := time.Now()
	defer func() { evalSeconds.Observe(time.Since(start).Seconds()) }()
	now := time.Now().UTC()
	if e.Now != nil {
		now = e.Now().UTC()
	}
	env := control.Env{Policy: control.DefaultPolicy()}
	if e.Env != nil {
		env = e.Env()
	}
	env.Now = now

	current, err := e.Store.CurrentFindings(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("read current findings of %s: %w", repo, err)
	}
	var fresh []model.Finding
	ev, err := e.Store.RepoEvidence(ctx, repo)
	if err != nil {
		fresh = e.errorFindings(repo, fmt.Sprintf("could not read evidence of %s: %v", repo, err))
		// Verdicts already recorded stand: an unreadable store proves nothing.
		return e.record(ctx, current, fresh, now)
	}
	// Controls run in catalogue order and each sees the verdicts (waivers
	// applied) of those before it: CM-5 judges deploys by CM-1..CM-3.
	env.Prior = map[string]map[string]model.Finding{}
	for _, c := range e.Controls {
		fs := e.applyWaivers(e.check(c, env, ev), now)
		for _, f := range fs {
			if env.Prior[f.Subject] == nil {
				env.Prior[f.Subject] = map[string]model.Finding{}
			}
			env.Prior[f.Subject][f.Rule] = f
		}
		fresh = append(fresh, fs...)
	}
	fresh = append(fresh, withdrawn(current, fresh, ev)...)
	return e.record(ctx, current, fresh, now)
}

// EvaluateAccess judges access events and records the verdicts that
// changed. Verdicts depend only on the event and the configuration, so the
// events are judged as given, without reading them back.
func (e *Evaluator) EvaluateAccess(ctx context.Context, events []model.AccessEvent) ([]model.Finding, error) {
	if len(events) == 0 || len(e.AccessControls) == 0 {
		return nil, nil
	}
	start := time.Now()
	defer func() { accessEvalSeconds.Observe(time.Since(start).Seconds()) }()
	now := time.Now().UTC()
	if e.Now != nil {
		now = e.Now().UTC()
	}
	env := control.Env{Policy: control.DefaultPolicy()}
	if e.Env != nil {
		env = e.Env()
	}
	env.Now = now
	bySystem := map[string][]model.AccessEvent{}
	var systems []string
	for _, ev := range events {
		if _, ok := control.LookupSystem(env.Systems, ev.System); !ok {
			continue // stored, but not an in-scope system
		}
		if bySystem[ev.System] == nil {
			systems = append(systems, ev.System)
		}
		bySystem[ev.System] = append(bySystem[ev.System], ev)
	}
	sort.Strings(systems)
	var fresh []model.Finding
	for _, sys := range systems {
		ev := &model.AccessEvidence{System: sys, Events: bySystem[sys]}
		for _, c := range e.AccessControls {
			fresh = append(fresh, e.checkAccess(c, env, ev)...)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	fresh = e.applyWaivers(fresh, now)
	subjects := make([]string, 0, len(events))
	seen := map[string]bool{}
	for _, f := range fresh {
		if !seen[f.Subject] {
			seen[f.Subject] = true
			subjects = append(subjects, f.Subject)
		}
	}
	// One evaluation of a subject at a time, so that two judging the same
	// event never both record its verdict.
	e.accessMu.Lock()
	defer e.accessMu.Unlock()
	current, err := e.Store.FindingsFor(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("read current access findings: %w", err)
	}
	return e.record(ctx, current, fresh, now)
}

func (e *Evaluator) checkAccess(c control.AccessControl, env control.Env, ev *model.AccessEvidence) (fs []model.Finding) {
	defer func() {
		if r := recover(); r != nil {
			fs = []model.Finding{{Rule: c.Definition().ID, Subject: ev.System, Outcome: model.Error,
				Reason: fmt.Sprintf("control %s could not evaluate access to %s: %v", c.Definition().ID, ev.System, r)}}
		}
	}()
	return c.CheckAccess(env, ev)
}

// check runs one control, turning a panic into an `error` finding so that
// one broken control never stops the others.
func (e *Evaluator) check(c control.Control, env control.Env, ev *model.RepoEvidence) (fs []model.Finding) {
	defer func() {
		if r := recover(); r != nil {
			fs = []model.Finding{{Rule: c.Definition().ID, Subject: ev.Repo, Outcome: model.Error, Repo: ev.Repo,
				Reason: fmt.Sprintf("control %s could not evaluate %s: %v", c.Definition().ID, ev.Repo, r)}}
		}
	}()
	return c.Check(env, ev)
}

func (e *Evaluator) errorFindings(repo, reason string) []model.Finding {
	out := make([]model.Finding, 0, len(e.Controls))
	for _, c := range e.Controls {
		out = append(out, model.Finding{Rule: c.Definition().ID, Subject: repo, Outcome: model.Error, Reason: reason, Repo: repo})
	}
	return out
}

func (e *Evaluator) applyWaivers(fs []model.Finding, now time.Time) []model.Finding {
	if e.Waivers == nil {
		return fs
	}
	ws := e.Waivers()
	for i := range fs {
		f := &fs[i]
		if f.Outcome != model.Fail {
			continue
		}
		for j := range ws {
			w := ws[j]
			if !strings.EqualFold(w.Rule, f.Rule) || w.Subject != f.Subject {
				continue
			}
			if now.After(w.Expires) {
				continue // expired waivers no longer apply
			}
			f.Outcome = model.Waived
			f.Reason = fmt.Sprintf("%s; waived by %s until %s: %s", f.Reason, w.ApprovedBy,
				w.Expires.UTC().Format(time.RFC3339), w.Reason)
			f.Waiver = &w
			break
		}
	}
	return fs
}

// withdrawn turns subjects that no longer exist into not_applicable
// findings, keeping their history: a provisional direct push that turned out
// to be a PR's merge, or a subject a control stopped judging.
func withdrawn(current, fresh []model.Finding, ev *model.RepoEvidence) []model.Finding {
	seen := map[string]bool{}
	for _, f := range fresh {
		seen[f.Rule+"\x00"+f.Subject] = true
	}
	var out []model.Finding
	for _, c := range current {
		if seen[c.Rule+"\x00"+c.Subject] || c.Outcome == model.NotApplicable && c.Reason != "" && strings.HasPrefix(c.Reason, "merge of ") {
			continue
		}
		f := c
		f.Waiver = nil
		f.Outcome = model.NotApplicable
		if i := strings.LastIndexByte(c.Subject, '@'); i > 0 && strings.HasPrefix(c.Subject, ev.Repo+"@") {
			if n, ok := ev.MergeCommits[c.Subject[i+1:]]; ok {
				pr := fmt.Sprintf("%s#%d", ev.Repo, n)
				f.Reason = "merge of " + pr
				f.Evidence.MergeOf = pr
				out = append(out, f)
				continue
			}
		}
		if c.Outcome == model.NotApplicable {
			continue
		}
		if c.Outcome == model.Error && c.Subject == ev.Repo {
			// The evidence is readable again; the error is over.
			f.Reason = "evidence readable again"
		} else {
			f.Reason = fmt.Sprintf("no longer a subject of %s", c.Rule)
		}
		out = append(out, f)
	}
	return out
}

// record appends the verdicts that differ from the current ones.
func (e *Evaluator) record(ctx context.Context, current, fresh []model.Finding, now time.Time) ([]model.Finding, error) {
	cur := make(map[string]model.Finding, len(current))
	for _, c := range current {
		cur[c.Rule+"\x00"+c.Subject] = c
	}
	var changed []model.Finding
	for _, f := range fresh {
		c, ok := cur[f.Rule+"\x00"+f.Subject]
		if ok && c.Same(f) {
			continue
		}
		f.EvaluatedAt = now
		// History rows are keyed by evaluation time: a new verdict must sort
		// after the one it replaces even when the clock did not move.
		if ok && !f.EvaluatedAt.After(c.EvaluatedAt) {
			f.EvaluatedAt = c.EvaluatedAt.Add(time.Microsecond)
		}
		changed = append(changed, f)
	}
	sort.Slice(changed, func(i, j int) bool {
		if changed[i].Rule != changed[j].Rule {
			return changed[i].Rule < changed[j].Rule
		}
		return changed[i].Subject < changed[j].Subject
	})
	if len(changed) == 0 {
		return nil, nil
	}
	if e.BeforeRecord != nil {
		if err := e.BeforeRecord(ctx, changed); err != nil {
			return nil, fmt.Errorf("before recording %d verdicts: %w", len(changed), err)
		}
	}
	if err := e.Store.AppendFindings(ctx, changed); err != nil {
		return nil, err
	}
	return changed, nil
}
