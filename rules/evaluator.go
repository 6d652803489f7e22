package rules

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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

// Store is what evaluation reads and writes: the evidence, the verdicts,
// and what the last full evaluation of each repository and access system
// judged (StateStore). Every method is required: the batch and bulk paths
// are how evaluation reads at scale, and the single-repository methods
// are what they must agree with.
//
// Methods block on the store and are safe for concurrent use. An error means
// the evidence could not be read or the verdicts not recorded; evaluation
// turns a read error into `error` findings, never into `fail`.
type Store interface {
	// RepoEvidence returns the stored evidence of repo: the rows changes
	// are derived from in Records, which the evaluator derives with
	// change.Derive before judging (a store need not fill Changes, Pushes
	// or MergeCommits; whatever it put there is replaced).
	RepoEvidence(ctx context.Context, repo string) (*model.RepoEvidence, error)
	// CurrentFindings returns the latest verdict of every (rule, subject) of repo.
	CurrentFindings(ctx context.Context, repo string) ([]model.Finding, error)
	// FindingsFor returns the latest verdict of every rule on each subject.
	FindingsFor(ctx context.Context, subjects []string) ([]model.Finding, error)
	AppendFindings(ctx context.Context, fs []model.Finding) error
	BatchStore
	AccessStore
	StateStore
}

// StateStore keeps, beside the verdicts, what each unit's last evaluation
// judged (model.EvaluationState), and digests the evidence in the engine.
//
// EvidenceDigests returns a digest, for each of repos (every repository
// with evidence when repos is nil; 0 for one without), of every stored row
// RepoEvidences reads for it: it changes whenever such a row is added or
// replaced (and may change, needlessly, when the engine merges copies).
// AccessDigests does the same per access system, over the fields
// JudgedAccess reads. EvaluationStates returns the newest state of every
// unit of scope by name; PutEvaluationStates records states, each
// replacing its unit's.
type StateStore interface {
	EvidenceDigests(ctx context.Context, repos []string) (map[string]uint64, error)
	AccessDigests(ctx context.Context) (map[string]uint64, error)
	EvaluationStates(ctx context.Context, scope string) (map[string]model.EvaluationState, error)
	PutEvaluationStates(ctx context.Context, states []model.EvaluationState) error
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
	// OneByOne judges each repository alone (RepoEvidence, CurrentFindings)
	// and each page of stored access events as EvaluateAccess does, and
	// every unit at every full evaluation whatever its digest: the slow
	// reference the batched, bulk and digest paths are tested against.
	// Never for serving.
	OneByOne bool

	accessMu sync.Mutex
	// bulkAccess counts full access evaluations under way, and bulkEnd is
	// when the last one ended (Unix ns): an event received before that may
	// have been judged by it, so EvaluateNewAccess reads its verdict.
	bulkAccess atomic.Int64
	bulkEnd    atomic.Int64
	// Repositories evaluated and their changes, for sizing batches.
	seenRepos, seenChanges atomic.Int64
	// Repositories with verdicts time alone can change (TimedRepos).
	timedMu sync.Mutex
	timed   map[string]deadline
}

// EvaluateAccess judges access events and records the verdicts that
// changed. Verdicts depend only on the event and the configuration, so the
// events are judged as given, without reading them back.
func (e *Evaluator) EvaluateAccess(ctx context.Context, events []model.AccessEvent) ([]model.Finding, error) {
	return e.evaluateAccess(ctx, events, false)
}

// EvaluateNewAccess judges access events that are new to the store (the
// pipeline knows: it derives only what was new to the raw log) and records
// their verdicts, as EvaluateAccess does but without reading their current
// verdicts: an event never stored was never judged, so it has none. Judging
// an upload then costs the same whatever the store already holds. While a
// full access evaluation is under way (it may have judged the events since
// they were stored), the current verdicts are read all the same.
//
// The caller guarantees the events are new: an event judged before would
// have its unchanged verdict recorded again (and alerted again).
func (e *Evaluator) EvaluateNewAccess(ctx context.Context, events []model.AccessEvent) ([]model.Finding, error) {
	return e.evaluateAccess(ctx, events, true)
}

func (e *Evaluator) evaluateAccess(ctx context.Context, events []model.AccessEvent, isNew bool) ([]model.Finding, error) {
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
	if isNew && e.unjudged(events) {
		return e.record(ctx, nil, fresh, now)
	}
	current, err := e.Store.FindingsFor(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("read current access findings: %w", err)
	}
	return e.record(ctx, current, fresh, now)
}

// unjudged reports whether no full access evaluation can have judged
// events: none is under way, and each was received after the last ended.
func (e *Evaluator) unjudged(events []model.AccessEvent) bool {
	if e.bulkAccess.Load() > 0 {
		return false
	}
	end := e.bulkEnd.Load()
	for i := range events {
		if events[i].ReceivedAt.IsZero() || events[i].ReceivedAt.UnixNano() <= end {
			return false
		}
	}
	return true
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
	if len(ws) == 0 {
		return fs
	}
	// Waivers by subject, in configuration order: the first that applies
	// wins, whatever the number of findings and waivers.
	bySubject := make(map[string][]int, len(ws))
	for j := range ws {
		bySubject[ws[j].Subject] = append(bySubject[ws[j].Subject], j)
	}
	for i := range fs {
		f := &fs[i]
		if f.Outcome != model.Fail {
			continue
		}
		for _, j := range bySubject[f.Subject] {
			w := ws[j]
			if !strings.EqualFold(w.Rule, f.Rule) {
				continue
			}
			if !w.Active(now) {
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

// record appends the verdicts that differ from the current ones.
func (e *Evaluator) record(ctx context.Context, current, fresh []model.Finding, now time.Time) ([]model.Finding, error) {
	return e.commit(ctx, diff(current, fresh, now))
}

// diff returns the fresh verdicts that differ from the current ones, with
// their evaluation time, sorted by rule and subject.
func diff(current, fresh []model.Finding, now time.Time) []model.Finding {
	cur := make(map[findingKey]int, len(current))
	for i, c := range current {
		cur[findingKey{c.Rule, c.Subject}] = i
	}
	var changed []model.Finding
	for _, f := range fresh {
		i, ok := cur[findingKey{f.Rule, f.Subject}]
		if ok && current[i].Same(f) {
			continue
		}
		f.EvaluatedAt = now
		// History rows are keyed by evaluation time: a new verdict must sort
		// after the one it replaces even when the clock did not move.
		if ok && !f.EvaluatedAt.After(current[i].EvaluatedAt) {
			f.EvaluatedAt = current[i].EvaluatedAt.Add(time.Microsecond)
		}
		changed = append(changed, f)
	}
	sortFindings(changed)
	return changed
}

// commit records changed verdicts: BeforeRecord first, then the store,
// at most commitChunk at a time, so that a first evaluation of millions
// never holds more than that many rows encoded at once. An error leaves
// the chunks before it recorded; evaluating again finds them unchanged.
func (e *Evaluator) commit(ctx context.Context, changed []model.Finding) ([]model.Finding, error) {
	if len(changed) == 0 {
		return nil, nil
	}
	for start := 0; start < len(changed); start += commitChunk {
		chunk := changed[start:min(start+commitChunk, len(changed))]
		if e.BeforeRecord != nil {
			if err := e.BeforeRecord(ctx, chunk); err != nil {
				return nil, fmt.Errorf("before recording %d verdicts: %w", len(chunk), err)
			}
		}
		if err := e.Store.AppendFindings(ctx, chunk); err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// commitChunk is how many verdicts one write records.
const commitChunk = 25_000
