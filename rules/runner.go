package rules

import (
	"context"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/model"
)

// Runner re-evaluates repositories when their evidence changes (Notify) and
// all in-scope repositories periodically, because some verdicts change with
// time alone (an emergency window closing, a waiver expiring).
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
	// position to poll from next.
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
	// Interval between full evaluations; 0 = 1 minute.
	Interval time.Duration
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
	// OnFindings, if set, receives every recorded change of verdict.
	OnFindings func([]model.Finding)
	Log        *zap.Logger

	mu     sync.Mutex
	dirty  map[string]bool
	failed map[string]bool // retried on the next tick, not in a tight loop
	busy   bool
	kick   chan struct{}
	idle   *sync.Cond
	init   sync.Once
}

func (r *Runner) setup() {
	r.init.Do(func() {
		r.dirty = map[string]bool{}
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
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
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
	for (len(r.dirty) > 0 || r.busy) && ctx.Err() == nil {
		r.idle.Wait()
	}
	return ctx.Err()
}

// EvaluateAll marks every in-scope repository for evaluation.
func (r *Runner) EvaluateAll(ctx context.Context) error {
	repos, err := r.Repos(ctx)
	if err != nil {
		return err
	}
	r.Notify(repos...)
	return nil
}

// Run evaluates until ctx ends. It starts with a full evaluation.
func (r *Runner) Run(ctx context.Context) {
	r.setup()
	interval := r.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	if err := r.EvaluateAll(ctx); err != nil {
		r.Log.Error("list repositories", zap.Error(err))
	}
	if r.AccessSystems != nil && r.AccessPage != nil {
		go func() {
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
			r.mu.Unlock()
			if err := r.EvaluateAll(ctx); err != nil {
				r.Log.Error("list repositories", zap.Error(err))
			}
		case <-r.kick:
			wait := 2*lastDur - time.Since(lastEnd)
			if wait < debounce {
				wait = debounce
			}
			if wait > maxDelay {
				wait = maxDelay
			}
			if wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
			}
		}
		start := time.Now()
		r.drain(ctx)
		lastEnd = time.Now()
		lastDur = lastEnd.Sub(start)
	}
}

// drain evaluates the repositories marked so far, once each. Marks that
// arrive meanwhile wait for the next round (Run paces rounds by MinGap).
func (r *Runner) drain(ctx context.Context) {
	r.mu.Lock()
	repos := make([]string, 0, len(r.dirty))
	for repo := range r.dirty {
		repos = append(repos, repo)
	}
	r.dirty = map[string]bool{}
	r.busy = true
	r.mu.Unlock()
	sort.Strings(repos)
	for _, repo := range repos {
		if ctx.Err() != nil {
			break
		}
		changed, err := r.Eval.EvaluateRepo(ctx, repo)
		if err != nil {
			r.Log.Error("evaluate repository", zap.String("repo", repo), zap.Error(err))
			r.mu.Lock()
			r.failed[repo] = true
			r.mu.Unlock()
			continue
		}
		if len(changed) > 0 {
			r.Log.Debug("findings changed", zap.String("repo", repo), zap.Int("count", len(changed)))
			if r.OnFindings != nil {
				r.OnFindings(changed)
			}
		}
	}
	r.mu.Lock()
	r.busy = false
	if len(r.dirty) == 0 {
		r.idle.Broadcast()
	}
	r.mu.Unlock()
}

// EvaluateAllAccess judges every stored access event, a page at a time.
func (r *Runner) EvaluateAllAccess(ctx context.Context) error {
	systems, err := r.AccessSystems(ctx)
	if err != nil {
		return err
	}
	const page = 5000
	for _, sys := range systems {
		after := ""
		for {
			events, err := r.AccessPage(ctx, sys, after, page)
			if err != nil {
				return err
			}
			if len(events) == 0 {
				break
			}
			changed, err := r.Eval.EvaluateAccess(ctx, events)
			if err != nil {
				return err
			}
			if len(changed) > 0 && r.OnFindings != nil {
				r.OnFindings(changed)
			}
			after = events[len(events)-1].ID
			if len(events) < page {
				break
			}
		}
	}
	return nil
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
		if len(repos) > 0 {
			r.Notify(repos...)
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
