package pipeline

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/changeproof/changeproof/model"
)

var watermarkLag = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "changeproof_pipeline_watermark_lag_seconds",
	Help: "How far the processing watermark is behind the wall clock: the age of the oldest accepted event not yet stored and judged."})

// Watermark is the pipeline's processing clock: Clock returns a time T such
// that every event accepted before T has been stored AND judged (the rules
// have evaluated the repositories it touched). With nothing on its way the
// clock is the wall clock; under load it lags by the pipeline's backlog.
//
// Alerts that wait for a late event (a direct push's grace, waiting for
// the pull_request event that shows it was a merge) count their wait on
// this clock, not on the wall: a pull_request event accepted within the
// grace is then always judged before the grace ends, however far behind
// the pipeline runs.
//
// It is fed in one of two ways:
//   - embedded: Intake reports each accepted record in log order and the
//     Loader reports each stored batch (Loaded); the clock is the arrival
//     time of the oldest record not yet stored and judged.
//   - distributed: the Kafka consumer reports, after each stored batch, the
//     time up to which its partitions are consumed (Through); the clock is
//     the latest such time whose batch is judged.
//
// The zero value is usable (judging counts as done once stored; the wall
// clock is time.Now). Safe for concurrent use.
type Watermark struct {
	// Mark and Judged tell when what was handed to the rules is judged
	// (rules.Runner.Mark and Judged): a batch stored when Mark returned m
	// is judged once Judged returns m or more. Nil: stored is processed.
	Mark, Judged func() uint64
	// Now is the wall clock; nil = time.Now.
	Now func() time.Time
	// Distributed: the Kafka consumer feeds Through, and until its first
	// judged report the clock stays where it was first read.
	Distributed bool

	mu    sync.Mutex
	queue []*wmEntry // embedded: in acceptance order, oldest first
	head  int
	byKey map[string]*wmEntry
	// distributed: consumed-through positions in order, oldest first
	through []wmThrough
	last    time.Time // the last clock returned (the clock never goes back)
}

// wmEntry is one Append's records on their way.
type wmEntry struct {
	at      time.Time // when they were accepted
	waiting int       // records not stored yet
	mark    uint64    // once stored: the rules' mark to wait for
	stored  bool
}

type wmThrough struct {
	at   time.Time
	mark uint64
}

func (w *Watermark) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Watermark) mark() uint64 {
	if w.Mark == nil {
		return 0
	}
	return w.Mark()
}

// accept registers records appended to the log, in log order (the caller,
// Intake, holds its lock across the log's Enqueue). It returns the entry to
// abandon if the append fails; nil when no record was new on its way.
func (w *Watermark) accept(ds []model.Delivery) *wmEntry {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byKey == nil {
		w.byKey = map[string]*wmEntry{}
	}
	e := &wmEntry{at: w.now()}
	for _, d := range ds {
		key := d.Source + "\x00" + d.DeliveryID
		if _, ok := w.byKey[key]; ok {
			continue // a repeat on its way: stored with the first
		}
		w.byKey[key] = e
		e.waiting++
	}
	if e.waiting == 0 {
		return nil
	}
	w.queue = append(w.queue, e)
	return e
}

// abandon forgets an entry whose append failed: its records are not in the
// log and will never be stored.
func (w *Watermark) abandon(e *wmEntry, ds []model.Delivery) {
	if w == nil || e == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range ds {
		key := d.Source + "\x00" + d.DeliveryID
		if w.byKey[key] == e {
			delete(w.byKey, key)
		}
	}
	e.waiting, e.stored, e.mark = 0, true, 0
}

// Hold keeps the clock at or before at until release is called: for
// records in the log that this process did not accept (the spool's backlog
// left by the previous run), whose arrival is known only to precede at.
// release takes the rules' mark at that moment, so the clock passes at
// once what was stored until then is judged.
func (w *Watermark) Hold(at time.Time) (release func()) {
	e := &wmEntry{at: at, waiting: 1}
	w.mu.Lock()
	w.queue = append(w.queue, nil)
	copy(w.queue[w.head+1:], w.queue[w.head:])
	w.queue[w.head] = e
	w.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m := w.mark()
			w.mu.Lock()
			e.waiting, e.stored, e.mark = 0, true, m
			w.mu.Unlock()
		})
	}
}

// Loaded reports records stored by the pipeline (Loader.Load calls it
// after having them judged): their entries wait for the rules' current
// mark. Records this Watermark never saw are ignored.
func (w *Watermark) Loaded(ds []model.Delivery) {
	if w == nil {
		return
	}
	m := w.mark()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range ds {
		key := d.Source + "\x00" + d.DeliveryID
		e, ok := w.byKey[key]
		if !ok {
			continue
		}
		delete(w.byKey, key)
		e.waiting--
		if e.waiting == 0 {
			e.stored, e.mark = true, m
		}
	}
}

// Through reports that every record appended to the log before at has been
// stored (the Kafka consumer's consumed offsets, as a time): once what was
// stored until now is judged, the clock may pass at.
func (w *Watermark) Through(at time.Time) {
	if w == nil {
		return
	}
	m := w.mark()
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.through); n > 0 && !at.After(w.through[n-1].at) {
		w.through[n-1].mark = max(w.through[n-1].mark, m)
		return
	}
	w.through = append(w.through, wmThrough{at: at, mark: m})
}

// Clock returns the processing clock: every record accepted before it has
// been stored and judged. It never goes back and never passes the wall
// clock.
func (w *Watermark) Clock() time.Time {
	now := w.now()
	if w == nil {
		return now
	}
	var judged uint64
	if w.Judged != nil {
		judged = w.Judged()
	}
	done := func(stored bool, mark uint64) bool { return stored && (w.Judged == nil || judged >= mark) }
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head < len(w.queue) && done(w.queue[w.head].stored, w.queue[w.head].mark) {
		w.queue[w.head] = nil
		w.head++
	}
	if w.head > 1024 && w.head*2 > len(w.queue) {
		w.queue = append([]*wmEntry(nil), w.queue[w.head:]...)
		w.head = 0
	}
	clock := now
	if w.head < len(w.queue) {
		clock = w.queue[w.head].at
	}
	if w.Distributed {
		// The latest consumed-through time whose batch is judged; with
		// none yet, the clock stays where it was.
		t := w.last
		if t.IsZero() {
			t = now
		}
		i := 0
		for ; i < len(w.through) && done(true, w.through[i].mark); i++ {
			t = w.through[i].at
		}
		if i > 1 {
			w.through = append(w.through[:0], w.through[i-1:]...)
		}
		if t.Before(clock) {
			clock = t
		}
	}
	if clock.After(now) {
		clock = now
	}
	if clock.Before(w.last) {
		clock = w.last
	}
	w.last = clock
	watermarkLag.Set(now.Sub(clock).Seconds())
	return clock
}
