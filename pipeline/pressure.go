package pipeline

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var yieldSeconds = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "changeproof_pipeline_yield_seconds_total",
	Help: "Time background work (loading, judging) waited for the receivers, by worker."}, []string{"worker"})

// Pressure is the receivers' load, shared with the work that may lag
// (loading the log into the store, judging) so that it yields the CPU to
// accepting: a sender waits for every answer, a finding can wait a moment.
// Intake reports each append; Yield makes background work wait while
// appends keep coming, up to a bound, so it still progresses, in fewer,
// larger batches (which also cost the engine less per record).
//
// The zero value is usable; a nil *Pressure never waits. Safe for
// concurrent use.
type Pressure struct {
	// Quiet is how long without a new append counts as idle (0 = 20ms).
	Quiet time.Duration
	// Now is the clock; nil = time.Now.
	Now func() time.Time

	last     atomic.Int64 // unix nanos of the last append's start
	inflight atomic.Int64 // appends under way
	once     sync.Once
	share    chan struct{} // background slots while busy: half the Ps, at least one
}

func (p *Pressure) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// begin records an append starting; call the result when it ends.
func (p *Pressure) begin() func() {
	if p == nil {
		return func() {}
	}
	p.last.Store(p.now().UnixNano())
	p.inflight.Add(1)
	return func() { p.inflight.Add(-1) }
}

// Busy reports whether the receivers are accepting: an append is under
// way, or one started within Quiet.
func (p *Pressure) Busy() bool {
	if p == nil {
		return false
	}
	quiet := p.Quiet
	if quiet <= 0 {
		quiet = 20 * time.Millisecond
	}
	return p.inflight.Load() > 0 || p.now().UnixNano()-p.last.Load() < int64(quiet)
}

// Yield blocks while the receivers are busy, for at most max, or until ctx
// ends. worker names the caller in changeproof_pipeline_yield_seconds_total.
func (p *Pressure) Yield(ctx context.Context, worker string, max time.Duration) {
	if p == nil || !p.Busy() {
		return
	}
	start := time.Now()
	defer func() { yieldSeconds.WithLabelValues(worker).Add(time.Since(start).Seconds()) }()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	for p.Busy() {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-t.C:
		}
	}
}

// Share is Yield, then a slot of the CPU share background work keeps
// while the receivers are busy (half of GOMAXPROCS, at least one worker at
// a time); call done when the work is over. While the receivers are idle
// every worker goes at once.
func (p *Pressure) Share(ctx context.Context, worker string, max time.Duration) (done func()) {
	if p == nil {
		return func() {}
	}
	p.Yield(ctx, worker, max)
	if !p.Busy() {
		return func() {}
	}
	p.once.Do(func() { p.share = make(chan struct{}, runtime.GOMAXPROCS(0)/2+runtime.GOMAXPROCS(0)%2) })
	select {
	case p.share <- struct{}{}:
		return func() { <-p.share }
	case <-ctx.Done():
		return func() {}
	}
}
