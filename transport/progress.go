package transport

import (
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// idleSlack is how far behind the wall clock the consumed-through time
// stays while the consumer waits with every partition caught up: a message
// appended just now may still be on its way from the broker.
const idleSlack = time.Second

// progress turns consumed offsets into a time for Handlers.Through: every
// message appended before it to a partition this consumer reads has been
// stored. Per partition, that is the time of the last stored message while
// more wait behind it (lag), and about the time the batch was fetched
// (less idleSlack) once the partition was caught up; the consumer reports
// the least of them.
type progress struct {
	mu      sync.Mutex
	parts   map[[2]any]partState
	waiting bool // the fetcher waits for a first message
	pending int  // batches fetched, not yet stored
}

type partState struct {
	through time.Time
	lag     int64
}

// stored records a stored batch fetched at fetched and returns the
// consumed-through time.
func (p *progress) stored(msgs []kafka.Message, fetched time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parts == nil {
		p.parts = map[[2]any]partState{}
	}
	last := map[[2]any]kafka.Message{}
	for _, m := range msgs {
		k := [2]any{m.Topic, m.Partition}
		if cur, ok := last[k]; !ok || m.Offset > cur.Offset {
			last[k] = m
		}
	}
	for k, m := range last {
		// Behind: the next message is no older than the last stored one.
		// Caught up when fetched: nothing older than the fetch is left,
		// but for messages still on their way from the broker (idleSlack).
		st := partState{lag: max(0, m.HighWaterMark-m.Offset-1), through: m.Time}
		if t := fetched.Add(-idleSlack); st.lag == 0 && t.After(st.through) {
			st.through = t
		}
		p.parts[k] = st
	}
	return p.leastLocked(fetched)
}

func (p *progress) leastLocked(upper time.Time) time.Time {
	t := upper
	for _, st := range p.parts {
		if st.through.Before(t) {
			t = st.through
		}
	}
	return t
}

// idle returns the consumed-through time while the consumer waits for new
// messages with every partition caught up, and false otherwise.
func (p *progress) idle(now time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.waiting || p.pending > 0 {
		return time.Time{}, false
	}
	for _, st := range p.parts {
		if st.lag > 0 {
			return time.Time{}, false
		}
	}
	return now.Add(-idleSlack), true
}

func (p *progress) setWaiting(w bool) {
	p.mu.Lock()
	p.waiting = w
	p.mu.Unlock()
}

func (p *progress) inflight(d int) {
	p.mu.Lock()
	p.pending += d
	p.mu.Unlock()
}
