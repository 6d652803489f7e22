package pipeline

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/model"
)

// Judges is the Judge of a process that runs the rules: repositories go
// to the rules runner (Notify), access events to a worker that judges
// each stored batch off the log's path. A stored event is judged even if
// the process dies first, by the full access evaluation at the next start.
//
// Construct with NewJudges; Close judges what is queued and stops.
type Judges struct {
	// NotifyOrgs has every repository of organisations judged again
	// (rules.Runner.NotifyOrgs); set it before the first Load.
	NotifyOrgs func(orgs ...string)

	notify   func(repos ...string)
	evaluate func(ctx context.Context, es []model.AccessEvent) ([]model.Finding, error)
	found    func([]model.Finding)
	log      *zap.Logger
	queue    chan []model.AccessEvent
	pending  sync.WaitGroup
	stopped  chan struct{}
	once     sync.Once
}

// NewJudges starts the access worker. notify has repositories re-judged
// (rules.Runner.Notify); evaluate judges access events
// (rules.Evaluator.EvaluateAccess); found, if not nil, hears of findings
// that changed (rules.Runner.OnFindings).
func NewJudges(notify func(repos ...string), evaluate func(ctx context.Context, es []model.AccessEvent) ([]model.Finding, error),
	found func([]model.Finding), log *zap.Logger) *Judges {
	j := &Judges{notify: notify, evaluate: evaluate, found: found, log: log,
		queue: make(chan []model.AccessEvent, 4), stopped: make(chan struct{})}
	go j.run()
	return j
}

// Repos implements Judge.
func (j *Judges) Repos(repos []string) { j.notify(repos...) }

// Orgs implements OrgJudge through NotifyOrgs (nothing when it is nil).
func (j *Judges) Orgs(orgs []string) {
	if j.NotifyOrgs != nil {
		j.NotifyOrgs(orgs...)
	}
}

// Access implements Judge: it queues es, blocking while four batches wait
// (so judging never falls unboundedly behind the log).
func (j *Judges) Access(ctx context.Context, es []model.AccessEvent) {
	j.pending.Add(1)
	select {
	case j.queue <- es:
	case <-ctx.Done():
		j.pending.Done() // judged at the next start by the full evaluation
	}
}

func (j *Judges) run() {
	defer close(j.stopped)
	for es := range j.queue {
		changed, err := j.evaluate(context.Background(), es)
		if err != nil {
			j.log.Error("judge access events (judged again at the next start)", zap.Int("events", len(es)), zap.Error(err))
		} else if j.found != nil && len(changed) > 0 {
			j.found(changed)
		}
		j.pending.Done()
	}
}

// Wait blocks until every queued batch is judged.
func (j *Judges) Wait() { j.pending.Wait() }

// Close judges what is queued and stops the worker. Access must not be
// called after Close.
func (j *Judges) Close() {
	j.once.Do(func() { close(j.queue) })
	<-j.stopped
}
