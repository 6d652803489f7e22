package rules

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/change"
	"github.com/changeproof/changeproof/rules/control"
)

// BatchStore reads several repositories at once, and current verdicts
// without their evidence, one at a time: what full evaluations read. Its
// answers must be what
// the single-repository methods answer: RepoEvidences[r] = RepoEvidence(r),
// and CurrentVerdicts hands fn each of CurrentFindings(r), for every r of
// repos, with Evidence left empty (comparing verdicts never reads it); the
// finding is fn's only for the call.
//
// FindingsByKey returns, of CurrentFindings(repo), those whose (rule,
// subject) is one of (rules[i], subjects[i]), evidence included: a
// withdrawn subject keeps its evidence.
type BatchStore interface {
	RepoEvidences(ctx context.Context, repos []string) (map[string]*model.RepoEvidence, error)
	CurrentVerdicts(ctx context.Context, repos []string, fn func(*model.Finding) error) error
	FindingsByKey(ctx context.Context, repo string, rules, subjects []string) ([]model.Finding, error)
}

// EvaluateRepo judges every subject of repo and records the verdicts that
// changed, returning them. A returned error means the verdicts could not be
// recorded (reading errors become `error` findings instead).
func (e *Evaluator) EvaluateRepo(ctx context.Context, repo string) ([]model.Finding, error) {
	start := time.Now()
	defer func() { evalSeconds.Observe(time.Since(start).Seconds()) }()
	env, now := e.env()
	ev, evErr := e.Store.RepoEvidence(ctx, repo)
	change.Derive(ev)
	e.seen(ev)
	d := e.judgeRepo(repo, ev, evErr, env, now)
	if err := e.current(ctx, []string{repo}, map[string]*verdictDiff{repo: d}); err != nil {
		return nil, fmt.Errorf("read current findings of %s: %w", repo, err)
	}
	changed, err := e.finish(ctx, d)
	if err != nil {
		return nil, err
	}
	return e.commit(ctx, changed)
}

// EvaluateRepos judges several repositories as EvaluateRepo judges each,
// but reads their evidence and current verdicts together and records all
// their changed verdicts in one write: what a full evaluation of hundreds
// of repositories spends is then mostly judging. Beside the verdicts it
// records each repository's evaluation state (the digest of the evidence
// judged, the configuration's fingerprint, the next deadline), which
// StaleRepos compares. It returns the recorded changes by repository; with
// an error, the repositories it leaves out had nothing recorded and must be
// evaluated again.
func (e *Evaluator) EvaluateRepos(ctx context.Context, repos []string) (map[string][]model.Finding, error) {
	return e.evaluateRepos(ctx, repos, nil)
}

// evaluateRepos is EvaluateRepos with the repositories' digests when the
// caller took them (StaleRepos), before their evidence is read; nil: none
// (the states recorded are then due).
func (e *Evaluator) evaluateRepos(ctx context.Context, repos []string, digests map[string]uint64) (map[string][]model.Finding, error) {
	if e.OneByOne {
		return e.eachRepo(ctx, repos)
	}
	start := time.Now()
	env, now := e.env()
	fp, fpErr := e.fingerprint(env)
	evs, err := e.Store.RepoEvidences(ctx, repos)
	if err != nil {
		// One repository's unreadable evidence must not hide the others':
		// each is read, and judged or turned into error findings, alone.
		return e.eachRepo(ctx, repos)
	}
	diffs := make(map[string]*verdictDiff, len(repos))
	for _, repo := range repos {
		change.Derive(evs[repo])
		e.seen(evs[repo])
		diffs[repo] = e.judgeRepo(repo, evs[repo], nil, env, now)
	}
	if err := e.current(ctx, repos, diffs); err != nil {
		return nil, fmt.Errorf("read current findings of %d repositories: %w", len(repos), err)
	}
	out := make(map[string][]model.Finding, len(repos))
	var all []model.Finding
	for _, repo := range repos {
		changed, err := e.finish(ctx, diffs[repo])
		if err != nil {
			return nil, err
		}
		out[repo] = changed
		all = append(all, changed...)
	}
	if _, err := e.commit(ctx, all); err != nil {
		return nil, err
	}
	{
		// Every judgement leaves a state: with the digest taken before the
		// evidence was read, or, when judged on notice without one (the
		// digest costs a read of the evidence), due, so that the next full
		// evaluation judges the repository again rather than trust a state
		// older than its verdicts.
		states := make([]model.EvaluationState, 0, len(repos))
		at := time.Now().UTC()
		for _, repo := range repos {
			d, ok := digests[repo]
			st := model.EvaluationState{Scope: model.ScopeRepo, Name: repo, Digest: d, Fingerprint: fp,
				NextDeadline: diffs[repo].deadline.at, Due: diffs[repo].deadline.due || !ok || fpErr != nil || diffs[repo].keep,
				EvaluatedAt: at}
			states = append(states, st)
		}
		// The verdicts are recorded: a state that is not only costs judging
		// again, so the error is the caller's to retry, not to undo.
		if err := e.Store.PutEvaluationStates(ctx, states); err != nil {
			return out, err
		}
	}
	per := time.Since(start).Seconds() / float64(len(repos))
	for range repos {
		evalSeconds.Observe(per)
	}
	return out, nil
}

// reposFor is how many repositories make about target changes, by the
// repositories evaluated so far (1 before any: a first evaluation's
// workers all start before any repository's size is known, and guessing
// more held several large repositories' evidence at once).
func (e *Evaluator) reposFor(target int) int {
	repos, changes := e.seenRepos.Load(), e.seenChanges.Load()
	if repos == 0 {
		return 1
	}
	return max(1, int(math.Round(float64(target)*float64(repos)/float64(max(changes, 1)))))
}

// seen counts a repository's changes for reposFor.
func (e *Evaluator) seen(ev *model.RepoEvidence) {
	if ev != nil {
		e.seenRepos.Add(1)
		e.seenChanges.Add(int64(len(ev.Changes)))
	}
}

// eachRepo evaluates repos one by one.
func (e *Evaluator) eachRepo(ctx context.Context, repos []string) (map[string][]model.Finding, error) {
	out := make(map[string][]model.Finding, len(repos))
	for _, repo := range repos {
		changed, err := e.EvaluateRepo(ctx, repo)
		if err != nil {
			return out, fmt.Errorf("%s: %w", repo, err)
		}
		out[repo] = changed
	}
	return out, nil
}

func (e *Evaluator) env() (control.Env, time.Time) {
	now := time.Now().UTC()
	if e.Now != nil {
		now = e.Now().UTC()
	}
	env := control.Env{Policy: control.DefaultPolicy()}
	if e.Env != nil {
		env = e.Env()
	}
	env.Now = now
	return env, now
}

// judgeRepo judges one repository's evidence, or turns evErr into error
// findings, and returns the comparison to feed its current verdicts.
func (e *Evaluator) judgeRepo(repo string, ev *model.RepoEvidence, evErr error, env control.Env, now time.Time) *verdictDiff {
	if evErr != nil {
		// Verdicts already recorded stand: an unreadable store proves
		// nothing, so nothing is withdrawn either.
		d := newVerdictDiff(repo, e.errorFindings(repo, fmt.Sprintf("could not read evidence of %s: %v", repo, evErr)), now)
		d.keep = true
		return d
	}
	fresh, dl := e.judge(env, ev, now)
	d := newVerdictDiff(repo, fresh, now)
	d.ev = ev
	d.deadline = dl
	e.setTimed(repo, dl)
	return d
}

// judge runs the controls over ev in catalogue order; each sees the
// verdicts (waivers applied) of those before it: CM-5 judges deploys by
// CM-1..CM-3.
func (e *Evaluator) judge(env control.Env, ev *model.RepoEvidence, now time.Time) ([]model.Finding, deadline) {
	env = env.WithMemo()
	env.Prior = make(map[string]map[string]model.Finding, len(ev.Changes)+len(ev.Deploys))
	// Each control's findings are kept as it returns them and joined once:
	// a repository has tens of thousands, and regrowing one slice for
	// every control copied them over and over.
	parts := make([][]model.Finding, 0, len(e.Controls))
	n := 0
	for _, c := range e.Controls {
		fs := e.applyWaivers(e.check(c, env, ev), now)
		for i := range fs {
			f := &fs[i]
			if env.Prior[f.Subject] == nil {
				env.Prior[f.Subject] = map[string]model.Finding{}
			}
			env.Prior[f.Subject][f.Rule] = *f
		}
		parts = append(parts, fs)
		n += len(fs)
	}
	fresh := make([]model.Finding, 0, n)
	for _, fs := range parts {
		fresh = append(fresh, fs...)
	}
	return fresh, repoDeadline(env, fresh)
}

// current feeds each repository's current verdicts to its comparison:
// without their evidence, or whole when judging one by one.
func (e *Evaluator) current(ctx context.Context, repos []string, diffs map[string]*verdictDiff) error {
	if !e.OneByOne {
		return e.Store.CurrentVerdicts(ctx, repos, func(c *model.Finding) error {
			if d := diffs[c.Repo]; d != nil {
				d.take(c)
			}
			return nil
		})
	}
	for _, repo := range repos {
		fs, err := e.Store.CurrentFindings(ctx, repo)
		if err != nil {
			return err
		}
		d := diffs[repo]
		d.whole = true
		for i := range fs {
			d.take(&fs[i])
		}
	}
	return nil
}

// finish returns what the comparison found changed, with the withdrawn
// subjects, sorted by rule and subject.
func (e *Evaluator) finish(ctx context.Context, d *verdictDiff) ([]model.Finding, error) {
	d.finish()
	if len(d.gone) > 0 && !d.keep {
		w, err := e.withdrawn(ctx, d.repo, d.gone, d.fresh, d.ev, !d.whole)
		if err != nil {
			return nil, fmt.Errorf("read current findings of %s: %w", d.repo, err)
		}
		d.changed = append(d.changed, diff(d.gone, w, d.now)...)
	}
	sortFindings(d.changed)
	return d.changed, nil
}

// verdictDiff compares one repository's fresh verdicts with its current
// ones as these come in, one at a time, so that millions of current
// verdicts are never held: fresh are indexed by (rule, subject), and each
// current verdict is looked up, compared as diff compares, and dropped.
type verdictDiff struct {
	repo string
	ev   *model.RepoEvidence
	keep bool // evidence unreadable: withdraw nothing
	// deadline is when time alone may next change the fresh verdicts.
	deadline deadline
	whole    bool // current verdicts came with their evidence
	now      time.Time
	fresh    []model.Finding
	index    map[findingKey]int32 // first fresh verdict of each key
	dup      []int32              // the next fresh verdict of the same key, or -1
	seen     []bool               // fresh verdicts that met their current one
	changed  []model.Finding
	gone     []model.Finding // current verdicts no fresh one replaces
}

// findingKey identifies a verdict's history: one (rule, subject).
type findingKey struct{ rule, subject string }

func newVerdictDiff(repo string, fresh []model.Finding, now time.Time) *verdictDiff {
	d := &verdictDiff{repo: repo, now: now, fresh: fresh, index: make(map[findingKey]int32, len(fresh)),
		dup: make([]int32, len(fresh)), seen: make([]bool, len(fresh))}
	last := make(map[findingKey]int32)
	for i := range fresh {
		d.dup[i] = -1
		k := findingKey{fresh[i].Rule, fresh[i].Subject}
		if _, ok := d.index[k]; !ok {
			d.index[k] = int32(i)
		} else {
			d.dup[last[k]] = int32(i)
		}
		last[k] = int32(i)
	}
	return d
}

// take compares one current verdict with the fresh ones of its key.
func (d *verdictDiff) take(c *model.Finding) {
	i, ok := d.index[findingKey{c.Rule, c.Subject}]
	if !ok {
		d.gone = append(d.gone, *c)
		return
	}
	for ; i >= 0; i = d.dup[i] {
		d.seen[i] = true
		f := d.fresh[i]
		if c.Same(f) {
			continue
		}
		// History rows are keyed by evaluation time: a new verdict must
		// sort after the one it replaces even when the clock did not move.
		f.EvaluatedAt = d.now
		if !f.EvaluatedAt.After(c.EvaluatedAt) {
			f.EvaluatedAt = c.EvaluatedAt.Add(time.Microsecond)
		}
		d.changed = append(d.changed, f)
	}
}

// finish adds the fresh verdicts that have no current one: new subjects.
func (d *verdictDiff) finish() {
	unseen := 0
	for _, seen := range d.seen {
		if !seen {
			unseen++
		}
	}
	d.changed = slices.Grow(d.changed, unseen)
	for i, f := range d.fresh {
		if !d.seen[i] {
			d.seen[i] = true
			f.EvaluatedAt = d.now
			d.changed = append(d.changed, f)
		}
	}
}

// withdrawn turns subjects that no longer exist into not_applicable
// findings, keeping their history: a provisional direct push that turned out
// to be a PR's merge, or a subject a control stopped judging. A withdrawn
// finding keeps the current one's evidence, so when current came without
// it (light), the repository's findings are read whole; that is rare.
func (e *Evaluator) withdrawn(ctx context.Context, repo string, current, fresh []model.Finding, ev *model.RepoEvidence, light bool) ([]model.Finding, error) {
	seen := make(map[findingKey]bool, len(fresh))
	for _, f := range fresh {
		seen[findingKey{f.Rule, f.Subject}] = true
	}
	gone := func(c model.Finding) bool {
		return !seen[findingKey{c.Rule, c.Subject}] &&
			(c.Outcome != model.NotApplicable || c.Reason == "" || !strings.HasPrefix(c.Reason, "merge of "))
	}
	if light && slices.ContainsFunc(current, gone) {
		var full []model.Finding
		var err error
		if !e.OneByOne {
			var rules, subjects []string
			for _, c := range current {
				if gone(c) {
					rules, subjects = append(rules, c.Rule), append(subjects, c.Subject)
				}
			}
			full, err = e.Store.FindingsByKey(ctx, repo, rules, subjects)
		} else {
			full, err = e.Store.CurrentFindings(ctx, repo)
		}
		if err != nil {
			return nil, err
		}
		current = full
	}
	var out []model.Finding
	for _, c := range current {
		if !gone(c) {
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
	return out, nil
}
