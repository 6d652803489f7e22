package rules

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/internal/clock"
	"github.com/changeproof/changeproof/model"
)

// Runner re-evaluates repositories when their evidence changes (Notify),
// those with verdicts time alone changes (an emergency window closing, a
// waiver expiring) every Interval, and all in-scope repositories every
// FullInterval.
//
// The zero value is not usable; fill the fields and call Run.
type Runner struct {
	Eval *Evaluator
	// Repos lists every repository with evidence.
	Repos func(ctx context.Context) ([]string, error)
	// InScope says whether a repository produces findings.
	InScope func(repo string) bool
	// Changed, if set, is polled every PollEvery for repositories whose
	// evidence other processes wrote (distributed mode: the pipeline runs
	// elsewhere and cannot Notify). It returns the repositories and the
	// position to poll from next; an entry "ORG/*" stands for every
	// repository of ORG (an organisation ruleset changed: NotifyOrgs).
	Changed func(ctx context.Context, since time.Time) ([]string, time.Time, error)
	// AccessChanged, likewise, returns access events stored by other
	// processes since a position, for judging here.
	AccessChanged func(ctx context.Context, since time.Time) ([]model.AccessEvent, time.Time, error)
	PollEvery     time.Duration // 0 = 500ms
	// AccessSystems and AccessPage walk the stored access events, for the
	// full access evaluation at start (the configuration, and so the
	// verdicts, may have changed while the process was down). Nil = none.
	AccessSystems func(ctx context.Context) ([]string, error)
	AccessPage    func(ctx context.Context, system, after string, limit int) ([]model.AccessEvent, error)
	// Interval is how often the verdicts that time alone can change are
	// judged again (0 = 1 minute): the repositories with a pending finding
	// (a retro-review window closing) or a waived one (a waiver expiring),
	// and those whose evaluation failed. Every other verdict changes only
	// with evidence, which Notify reports, or configuration, which a
	// restart reads. FullInterval is how often every repository is judged
	// again all the same, as a safety net (0 = 1 hour).
	Interval, FullInterval time.Duration
	// Debounce is how long evaluation waits after a notification for more
	// to arrive. 0 = 100ms; negative = none.
	Debounce time.Duration
	// MaxDelay caps how long a notified repository waits for evaluation.
	// Within it, rounds are paced so that evaluation takes at most a third
	// of the time (after a round of duration d, the next starts no sooner
	// than 2d after it ended): a steady stream of deliveries then costs one
	// evaluation per repository per round rather than one per write, and
	// ingestion keeps the engine. 0 = 1s.
	MaxDelay time.Duration
	// OnFindings, if set, receives every recorded change of verdict, from
	// one goroutine at a time.
	OnFindings func([]model.Finding)
	// BatchChanges is about how many changes are read and judged together
	// (0 = 10000): a batch holds as many repositories as make that many,
	// by the sizes seen so far, so that a batch's evidence and verdicts stay
	// tens of MiB. Workers is how many batches are evaluated at once (0 =
	// the number of CPUs, at least 2).
	BatchChanges, Workers int
	Log                   *zap.Logger

	// Yield, if set, is called before each batch is evaluated and its
	// result after; it may block a while, and bound how many batches run at
	// once, so that evaluation leaves the CPU to work that cannot wait (the
	// receivers: pipeline.Pressure.Share).
	Yield func(ctx context.Context) (done func())

	mu    sync.Mutex
	dirty map[string]bool
	// digests of dirty repositories taken by EvaluateAll (StaleRepos)
	digests map[string]uint64
	// dirtyOrgs are organisations whose repositories are to be marked
	// dirty when the marks are drained (listing them takes a store
	// read, which NotifyOrgs must not wait for); failedOrgs are retried
	// on the next tick.
	dirtyOrgs, failedOrgs map[string]bool
	failed                map[string]bool // retried on the next tick, not in a tight loop
	busy                  int             // evaluations under way (drain, Full)
	kick                  chan struct{}
	idle                  *sync.Cond
	init                  sync.Once

	marked uint64 // Notify calls so far (Mark); guarded by mu
	judged uint64 // every Notify up to this mark is evaluated (Judged); guarded by mu
}

func (r *Runner) setup() {
	r.init.Do(func() {
		r.dirty = map[string]bool{}
		r.digests = map[string]uint64{}
		r.dirtyOrgs, r.failedOrgs = map[string]bool{}, map[string]bool{}
		r.failed = map[string]bool{}
		r.kick = make(chan struct{}, 1)
		r.idle = sync.NewCond(&r.mu)
		if r.Log == nil {
			r.Log = zap.NewNop()
		}
	})
}

// Notify marks repositories for evaluation. It never blocks.
func (r *Runner) Notify(repos ...string) {
	r.setup()
	r.mu.Lock()
	for _, repo := range repos {
		if r.InScope == nil || r.InScope(repo) {
			r.dirty[repo] = true
		}
	}
	r.marked++
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Mark returns the position of the last Notify; Judged passes it once
// every repository notified up to then has been evaluated (or its
// evaluation failed and waits for the next tick). The pipeline's
// processing watermark uses the pair to know when what it loaded is
// judged. Both never block for long.
func (r *Runner) Mark() uint64 {
	r.setup()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.marked
}

// Judged returns the highest Mark whose repositories are all evaluated.
func (r *Runner) Judged() uint64 {
	r.setup()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.dirty) == 0 && len(r.dirtyOrgs) == 0 && r.busy == 0 {
		return r.marked
	}
	return r.judged
}

// NotifyOrgs marks every repository of the organisations orgs for
// evaluation: an organisation ruleset changed, and may apply to any of
// them. It never blocks; the repositories (Repos, those of each
// organisation that are in scope) are listed when the marks are drained.
func (r *Runner) NotifyOrgs(orgs ...string) {
	r.setup()
	r.mu.Lock()
	for _, o := range orgs {
		if o != "" {
			r.dirtyOrgs[strings.ToLower(o)] = true
		}
	}
	r.marked++
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// expandOrgs turns the organisations NotifyOrgs marked into marks of
// their repositories. A failure to list the repositories is logged and
// retried on the next tick.
func (r *Runner) expandOrgs(ctx context.Context) {
	r.mu.Lock()
	orgs := r.dirtyOrgs
	if len(orgs) == 0 {
		r.mu.Unlock()
		return
	}
	r.dirtyOrgs = map[string]bool{}
	r.busy++
	r.mu.Unlock()
	repos, err := r.Repos(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy--
	if err != nil {
		r.Log.Error("list repositories of organisations", zap.Error(err))
		for o := range orgs {
			r.failedOrgs[o] = true
		}
		return
	}
	for _, repo := range repos {
		owner, _, _ := strings.Cut(repo, "/")
		if orgs[strings.ToLower(owner)] && (r.InScope == nil || r.InScope(repo)) {
			r.dirty[repo] = true
		}
	}
}

// WaitIdle blocks until no repository is waiting for or under evaluation,
// or ctx ends.
func (r *Runner) WaitIdle(ctx context.Context) error {
	r.setup()
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.idle.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for (len(r.dirty) > 0 || len(r.dirtyOrgs) > 0 || r.busy > 0) && ctx.Err() == nil {
		r.idle.Wait()
	}
	return ctx.Err()
}

// EvaluateAll marks for evaluation every in-scope repository whose
// verdicts may have changed since they were recorded (Evaluator.StaleRepos):
// all of them when that cannot be told.
func (r *Runner) EvaluateAll(ctx context.Context) error {
	repos, err := r.Repos(ctx)
	if err != nil {
		return err
	}
	r.setup()
	stale, digests, err := r.Eval.StaleRepos(ctx, r.inScope(repos))
	if err != nil {
		r.Log.Warn("tell unchanged repositories (judging all)", zap.Error(err))
	}
	// The digests, taken before the evidence is read, go with the
	// repositories to their evaluation, which records them.
	r.mu.Lock()
	for _, repo := range stale {
		if d, ok := digests[repo]; ok {
			r.digests[repo] = d
		}
	}
	r.mu.Unlock()
	r.Notify(stale...)
	return nil
}

func (r *Runner) inScope(repos []string) []string {
	var in []string
	for _, repo := range repos {
		if r.InScope == nil || r.InScope(repo) {
			in = append(in, repo)
		}
	}
	return in
}

// Run evaluates until ctx ends. It starts with a full evaluation.
func (r *Runner) Run(ctx context.Context) {
	r.setup()
	interval := r.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	fullInterval := r.FullInterval
	if fullInterval <= 0 {
		fullInterval = time.Hour
	}
	lastFull := time.Now()
	if err := r.EvaluateAll(ctx); err != nil {
		r.Log.Error("list repositories", zap.Error(err))
	}
	if r.AccessSystems != nil && r.AccessPage != nil {
		go func() {
			// After the first round of repositories, not beside it: a
			// first evaluation of each holds much in memory (the engine's
			// and Go's), and the two at once would hold both.
			if r.WaitIdle(ctx) != nil {
				return
			}
			if err := r.EvaluateAllAccess(ctx); err != nil && ctx.Err() == nil {
				r.Log.Error("evaluate stored access events", zap.Error(err))
			}
		}()
	}
	debounce := r.Debounce
	if debounce == 0 {
		debounce = 100 * time.Millisecond
	}
	maxDelay := r.MaxDelay
	if maxDelay <= 0 {
		maxDelay = time.Second
	}
	var lastEnd time.Time
	var lastDur time.Duration
	tick := time.NewTicker(interval)
	defer tick.Stop()
	if r.Changed != nil {
		go r.poll(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.mu.Lock()
			for repo := range r.failed {
				r.dirty[repo] = true
			}
			r.failed = map[string]bool{}
			for o := range r.failedOrgs {
				r.dirtyOrgs[o] = true
			}
			r.failedOrgs = map[string]bool{}
			r.mu.Unlock()
			if time.Since(lastFull) >= fullInterval {
				lastFull = time.Now()
				if err := r.EvaluateAll(ctx); err != nil {
					r.Log.Error("list repositories", zap.Error(err))
				}
			} else {
				r.Notify(r.Eval.DueRepos()...)
			}
		case <-r.kick:
			wait := 2*lastDur - time.Since(lastEnd)
			if wait < debounce {
				wait = debounce
			}
			if wait > maxDelay {
				wait = maxDelay
			}
			if wait > 0 && clock.Sleep(ctx, wait) != nil {
				return
			}
		}
		start := time.Now()
		r.drain(ctx)
		lastEnd = time.Now()
		lastDur = lastEnd.Sub(start)
	}
}

// FullReport says what a full evaluation did.
type FullReport struct {
	Repos           int           // in-scope repositories
	Judged          int           // of which judged (the others had nothing that could change)
	Systems, Judges int           // access systems stored, of which judged
	Repo, Access    time.Duration // how long the repositories took, and the access events
	Changed         int           // verdicts recorded (changed or new)
	AccessEvaluated bool
}

// Full evaluates every in-scope repository and then judges every stored
// access event, now, in the order Run does at start, and returns when both
// are done: for a caller that must know when it is over (benchmarks,
// tools). The two run one after the other, never side by side, so that a
// first evaluation holds one's memory at a time.
func (r *Runner) Full(ctx context.Context) (FullReport, error) {
	r.setup()
	var rep FullReport
	repos, err := r.Repos(ctx)
	if err != nil {
		return rep, err
	}
	in := r.inScope(repos)
	rep.Repos = len(in)
	start := time.Now()
	r.mu.Lock()
	r.busy++
	r.mu.Unlock()
	stale, digests, err := r.Eval.StaleRepos(ctx, in)
	if err != nil {
		r.Log.Warn("tell unchanged repositories (judging all)", zap.Error(err))
	}
	rep.Judged = len(stale)
	rep.Changed = r.evaluate(ctx, stale, digests)
	r.mu.Lock()
	r.busy--
	if len(r.dirty) == 0 && r.busy == 0 {
		r.idle.Broadcast()
	}
	r.mu.Unlock()
	rep.Repo = time.Since(start)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if r.AccessSystems == nil || r.AccessPage == nil {
		return rep, nil
	}
	start = time.Now()
	accessChanged, systems, judged, err := r.evaluateAllAccess(ctx)
	rep.Systems, rep.Judges = systems, judged
	rep.Access, rep.AccessEvaluated = time.Since(start), true
	rep.Changed += accessChanged
	if cerr := ctx.Err(); cerr != nil {
		return rep, cerr
	}
	return rep, err
}

// drain evaluates the repositories marked so far, once each. Marks that
// arrive meanwhile wait for the next round (Run paces rounds by MinGap).
func (r *Runner) drain(ctx context.Context) {
	r.mu.Lock()
	upto := r.marked // before the organisations are expanded: every mark up to it is in this round
	r.mu.Unlock()
	r.expandOrgs(ctx)
	r.mu.Lock()
	repos := make([]string, 0, len(r.dirty))
	var digests map[string]uint64
	for repo := range r.dirty {
		repos = append(repos, repo)
		if d, ok := r.digests[repo]; ok {
			if digests == nil {
				digests = map[string]uint64{}
			}
			digests[repo] = d
			delete(r.digests, repo)
		}
	}
	r.dirty = map[string]bool{}
	r.busy++
	r.mu.Unlock()
	r.evaluate(ctx, repos, digests)
	r.mu.Lock()
	r.busy--
	r.judged = max(r.judged, upto)
	if len(r.dirty) == 0 && r.busy == 0 {
		r.idle.Broadcast()
	}
	r.mu.Unlock()
}

// evaluate judges repos, recording failures for the next tick, and
// returns how many verdicts it recorded. Repositories are judged in
// batches (one read of each table and one write per batch) by several
// workers at once, so that the engine reads one batch while Go judges
// another. digests, if not nil, are the repositories' evidence digests
// taken before (StaleRepos).
func (r *Runner) evaluate(ctx context.Context, repos []string, digests map[string]uint64) (recorded int) {
	sort.Strings(repos)
	repos = slices.Compact(repos) // never one repository twice at once
	target := r.BatchChanges
	if target <= 0 {
		target = 10000
	}
	workers := r.Workers
	if workers <= 0 {
		workers = max(2, runtime.GOMAXPROCS(0))
	}
	var mu sync.Mutex // guards next and recorded; OnFindings one at a time
	next := 0
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		if next == len(repos) || ctx.Err() != nil {
			return nil
		}
		n := min(len(repos)-next, r.Eval.reposFor(target))
		batch := repos[next : next+n]
		next += n
		return batch
	}
	var wg sync.WaitGroup
	for range min(workers, len(repos)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := take(); batch != nil; batch = take() {
				done := func() {}
				if r.Yield != nil {
					done = r.Yield(ctx)
				}
				changed, err := r.Eval.evaluateRepos(ctx, batch, digests)
				done()
				mu.Lock()
				for _, repo := range batch {
					fs, ok := changed[repo]
					if !ok {
						r.Log.Error("evaluate repository", zap.String("repo", repo), zap.Error(err))
						r.mu.Lock()
						r.failed[repo] = true
						r.mu.Unlock()
						continue
					}
					recorded += len(fs)
					if len(fs) > 0 {
						r.Log.Debug("findings changed", zap.String("repo", repo), zap.Int("count", len(fs)))
						if r.OnFindings != nil {
							r.OnFindings(fs)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return recorded
}

// EvaluateAllAccess judges every stored access event, a page at a time.
func (r *Runner) EvaluateAllAccess(ctx context.Context) error {
	_, _, _, err := r.evaluateAllAccess(ctx)
	return err
}

// evaluateAllAccess judges the stored access events of every system whose
// verdicts may have changed, and returns how many verdicts it recorded, how
// many systems have events and how many it judged.
func (r *Runner) evaluateAllAccess(ctx context.Context) (recorded, systemsN, judged int, err error) {
	systems, err := r.AccessSystems(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	systemsN = len(systems)
	if !r.Eval.OneByOne {
		sort.Strings(systems)
		systems = slices.Compact(systems)
		stale, digests, err := r.Eval.staleSystems(ctx, systems)
		if err != nil {
			r.Log.Warn("tell unchanged access systems (judging all)", zap.Error(err))
		}
		if len(stale) > 0 {
			// Judging stored events is mostly the engine's work, and comes
			// after the repositories' (Run, Full): the heap Go grew judging
			// them is garbage by now, but held (up to the soft memory limit)
			// until Go needs it again. Returned now, the engine's class
			// statements have that memory rather than the process both.
			debug.FreeOSMemory()
		}
		recorded, err = r.evaluateStoredAccess(ctx, stale, digests) // one system at a time
		return recorded, systemsN, len(stale), err
	}
	judged = systemsN
	recorded, err = r.pageAccess(ctx, systems)
	return recorded, systemsN, judged, err
}

// pageAccess judges the systems' events a page at a time through
// EvaluateAccess (OneByOne).
func (r *Runner) pageAccess(ctx context.Context, systems []string) (recorded int, err error) {
	const page = 5000
	for _, sys := range systems {
		after := ""
		for {
			events, err := r.AccessPage(ctx, sys, after, page)
			if err != nil {
				return recorded, err
			}
			if len(events) == 0 {
				break
			}
			changed, err := r.Eval.EvaluateAccess(ctx, events)
			if err != nil {
				return recorded, err
			}
			recorded += len(changed)
			if len(changed) > 0 && r.OnFindings != nil {
				r.OnFindings(changed)
			}
			after = events[len(events)-1].ID
			if len(events) < page {
				break
			}
		}
	}
	return recorded, nil
}

// evaluateStoredAccess judges the systems' stored events through the
// Evaluator's bulk path, one system at a time, and records each system's
// evaluation state (with its digest, when digests has it). One at a time:
// each system's judging is mostly one statement in the engine, which uses
// every core itself, and two at once would hold two systems' classes,
// events judged alone and engine memory.
func (r *Runner) evaluateStoredAccess(ctx context.Context, systems []string, digests map[string]uint64) (int, error) {
	recorded := 0
	var errs []error
	// Only a listener needs the changed verdicts: without one, they need
	// not leave the store.
	var onChanged func(fs []model.Finding)
	if r.OnFindings != nil {
		onChanged = r.OnFindings
	}
	for _, sys := range systems {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		n, err := r.Eval.EvaluateStoredAccess(ctx, sys, onChanged)
		if d, ok := digests[sys]; ok && err == nil {
			err = r.Eval.recordAccessState(ctx, sys, d)
		}
		recorded += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return recorded, errors.Join(errs...)
}

// poll feeds Notify from Changed, and judges AccessChanged, until ctx
// ends. It starts from the present: the full evaluation at start covers what
// came before. Receipt clocks of several writers are not perfectly ordered,
// so each poll looks back a little behind the newest receipt it has seen;
// judging something twice is harmless (unchanged verdicts are not
// recorded).
func (r *Runner) poll(ctx context.Context) {
	every := r.PollEvery
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	const lookBack = 2 * time.Second
	repoPos, accessPos := time.Now(), time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		repos, next, err := r.Changed(ctx, repoPos.Add(-lookBack))
		if err != nil {
			r.Log.Error("poll for changed repositories", zap.Error(err))
			continue
		}
		if next.After(repoPos) {
			repoPos = next
		}
		var plain, orgs []string
		for _, repo := range repos {
			if org, ok := strings.CutSuffix(repo, "/*"); ok {
				orgs = append(orgs, org)
			} else {
				plain = append(plain, repo)
			}
		}
		if len(plain) > 0 {
			r.Notify(plain...)
		}
		if len(orgs) > 0 {
			r.NotifyOrgs(orgs...)
		}
		if r.AccessChanged == nil {
			continue
		}
		since := accessPos.Add(-lookBack)
		for ctx.Err() == nil {
			events, next, err := r.AccessChanged(ctx, since)
			if err != nil {
				r.Log.Error("poll for access events", zap.Error(err))
				break
			}
			if next.After(accessPos) {
				accessPos = next
			}
			changed, err := r.Eval.EvaluateAccess(ctx, events)
			if err != nil {
				r.Log.Error("judge polled access events", zap.Error(err))
				break
			}
			if len(changed) > 0 && r.OnFindings != nil {
				r.OnFindings(changed)
			}
			if !next.After(since) || len(events) == 0 {
				break
			}
			since = next // a full page: read on without looking back
			if len(events) < 20000 {
				break
			}
		}
	}
}
