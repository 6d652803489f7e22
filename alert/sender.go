package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/internal/clock"
	"github.com/changeproof/changeproof/model"
)

// Defaults of Sender's zero fields.
const (
	DefaultInterval       = 5 * time.Second
	DefaultBatch          = 100
	DefaultRequestTimeout = 10 * time.Second
	DefaultBackoffBase    = time.Second
	DefaultBackoffMax     = time.Minute
	DefaultLease          = 2 * time.Minute
	DefaultSettle         = time.Second
	DefaultEnqueueTimeout = 30 * time.Second
	// DigestLimit is the most alerts one digest carries; more wait for the
	// next period.
	DigestLimit = 10000
	// maxPending bounds the alerts held in memory while the outbox cannot
	// take them.
	maxPending = 100000
)

// Sender queues alerts in the outbox and delivers them to Slack.
//
// Feed it with OnFindings (or Enqueue), run Run in one goroutine, and it
// delivers every queued alert once, in order (by due time, then creation,
// then id). See the package documentation for the delivery guarantees.
//
// Fill the fields, then call Run or Flush; Outbox and Transport are
// required, every other zero field takes its default. Do not change the
// fields afterwards. OnFindings, Enqueue, Poke, Flush and Run are safe for
// concurrent use; rounds of one Sender never overlap.
type Sender struct {
	Outbox    Outbox
	Transport Transport
	// Renderer renders the messages (short names, evidence links).
	Renderer Renderer
	// Grace delays provisional direct-push fails (alerts.grace); 0 = none.
	Grace time.Duration
	// Processed, if set, is the pipeline's processing clock
	// (pipeline.Watermark.Clock): a graced alert is due when this clock,
	// not the wall clock, reaches its due time (grace.go). Nil = the wall
	// clock.
	Processed func() time.Time
	// Digest, when positive, batches alerts: at most one message per
	// Digest period (counted from the last alert sent, as the outbox
	// records it, so it holds across restarts and processes). A period's
	// due alerts go in one digest message (a lone alert gets its full
	// message). 0 = one message per alert.
	Digest time.Duration
	// DigestList is how many alerts a digest lists before "and M more";
	// 0 = 20, at most 40.
	DigestList int
	// Interval between rounds when not poked; 0 = 5s. Grace periods end
	// within one Interval of their due time.
	Interval time.Duration
	// Batch is how many alerts a round claims; 0 = 100.
	Batch int
	// RequestTimeout bounds each Slack request; a hang is a retryable
	// failure. 0 = 10s.
	RequestTimeout time.Duration
	// BackoffBase and BackoffMax shape the wait after a 5xx, network error
	// or timeout without Retry-After: Base, 2×Base, 4×Base… capped at Max.
	// 0 = 1s and 1m.
	BackoffBase, BackoffMax time.Duration
	// Lease is how long a claim keeps other processes off an alert; it is
	// renewed while this Sender retries. 0 = 2m. Clocks of processes
	// sharing an outbox must agree to well within Lease/2.
	Lease time.Duration
	// Settle is how long a claim waits before it is read back, so that a
	// concurrent claim by another process is seen (see the package
	// documentation). 0 = 1s; negative = none, for a single process.
	Settle time.Duration
	// Owner names this process in claims; "" = host:pid:random.
	Owner string
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends (returning its error); nil = a
	// timer. Tests inject both to observe waits without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *zap.Logger

	init     sync.Once
	poke     chan struct{}
	owner    string
	round    chan struct{} // one Flush at a time: a 1-slot semaphore, so a waiting Flush honours its ctx
	failures int           // consecutive backoff waits; guarded by round
	heldBack int           // graced alerts the last claim skipped (grace.go); guarded by round

	mu         sync.Mutex
	pending    []outbox.Alert          // decided, not yet in the outbox
	unrecorded map[string]outbox.Alert // sent, but the outbox has not recorded it
}

// Validate checks the configuration; errors name the field.
func (s *Sender) Validate() error {
	var errs []error
	if s.Outbox == nil {
		errs = append(errs, errors.New("alert.Sender: Outbox: required"))
	}
	if s.Transport == nil {
		errs = append(errs, errors.New("alert.Sender: Transport: required"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Grace", s.Grace}, {"Digest", s.Digest}, {"Interval", s.Interval}, {"RequestTimeout", s.RequestTimeout},
		{"BackoffBase", s.BackoffBase}, {"BackoffMax", s.BackoffMax}, {"Lease", s.Lease}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("alert.Sender: %s: must not be negative, got %s", d.name, d.v))
		}
	}
	if s.Batch < 0 {
		errs = append(errs, fmt.Errorf("alert.Sender: Batch: must not be negative, got %d", s.Batch))
	}
	if s.DigestList < 0 {
		errs = append(errs, fmt.Errorf("alert.Sender: DigestList: must not be negative, got %d", s.DigestList))
	}
	if s.BackoffBase > 0 && s.BackoffMax > 0 && s.BackoffMax < s.BackoffBase {
		errs = append(errs, fmt.Errorf("alert.Sender: BackoffMax: %s is less than BackoffBase %s", s.BackoffMax, s.BackoffBase))
	}
	if b := s.Renderer.APIBase; b != "" {
		if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("alert.Sender: Renderer.APIBase: must be an absolute http(s) URL, got %q", b))
		}
	}
	return errors.Join(errs...)
}

func (s *Sender) setup() {
	s.init.Do(func() {
		s.poke = make(chan struct{}, 1)
		s.round = make(chan struct{}, 1)
		s.unrecorded = map[string]outbox.Alert{}
		s.owner = s.Owner
		if s.owner == "" {
			host, _ := os.Hostname()
			var b [4]byte
			_, _ = rand.Read(b[:])
			s.owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
		}
	})
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (s *Sender) log() *zap.Logger {
	if s.Log == nil {
		return zap.NewNop()
	}
	return s.Log
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// OnFindings is the rules.Runner hook: it queues the alerts the changed
// findings owe (Enqueue) and wakes the sender. It blocks for one outbox
// lookup and insert (bounded by 30s); when the outbox fails, the alerts
// are kept in memory and queued again by the next round.
func (s *Sender) OnFindings(changed []model.Finding) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultEnqueueTimeout)
	defer cancel()
	if _, err := s.Enqueue(ctx, changed); err != nil {
		s.log().Error("queue alerts (kept in memory, retried every round)", zap.Error(err))
	}
}

// Enqueue queues the alerts changed findings owe (Decide at the Sender's
// clock and Grace) and wakes the sender. It returns how many were new to
// the outbox. On an outbox error the alerts are held in memory and queued
// by the next round (lost only if the process ends first).
func (s *Sender) Enqueue(ctx context.Context, changed []model.Finding) (int, error) {
	s.setup()
	as := Decide(changed, s.now(), s.Grace)
	if len(as) == 0 {
		return 0, nil
	}
	if s.Outbox == nil {
		return 0, errors.New("alert.Sender: Outbox: required")
	}
	n, err := s.Outbox.EnqueueAlerts(ctx, as)
	if err != nil {
		s.hold(as)
		return 0, err
	}
	s.Poke()
	return n, nil
}

func (s *Sender) hold(as []outbox.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if room := maxPending - len(s.pending); room < len(as) {
		s.log().Error("alerts dropped: the outbox has been failing and the memory queue is full",
			zap.Int("dropped", len(as)-max(room, 0)))
		as = as[:max(room, 0)]
	}
	s.pending = append(s.pending, as...)
}

// enqueuePending retries the alerts held after an outbox error.
func (s *Sender) enqueuePending(ctx context.Context) error {
	s.mu.Lock()
	as := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(as) == 0 {
		return nil
	}
	if _, err := s.Outbox.EnqueueAlerts(ctx, as); err != nil {
		s.mu.Lock()
		s.pending = append(as, s.pending...)
		s.mu.Unlock()
		return fmt.Errorf("queue %d held alerts: %w", len(as), err)
	}
	return nil
}

// Poke wakes Run for a round now. It never blocks.
func (s *Sender) Poke() {
	s.setup()
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Run delivers alerts until ctx ends: a round (Flush) at start, then every
// Interval and whenever poked. Round errors are logged and retried next
// round. It returns nil when ctx ends, or Validate's error.
func (s *Sender) Run(ctx context.Context) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.setup()
	t := time.NewTicker(orDefault(s.Interval, DefaultInterval))
	defer t.Stop()
	for {
		if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("deliver alerts (retried next round)", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.poke:
		}
	}
}
