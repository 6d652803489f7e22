package alert_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
)

const (
	sha1 = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	sha2 = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c"
	sha3 = "0123456789abcdef0123456789abcdef01234567"
	api  = "https://changeproof.acme.io"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

var names = map[string]string{
	"CM-1": "change-via-pull-request", "CM-2": "independent-approval", "CM-3": "approval-covers-final-code",
	"CM-4": "ticket-linked", "CM-5": "deploy-traceable", "CM-6": "protection-unchanged",
	"AC-1": "access-authorized", "AC-2": "break-glass-justified", "AC-3": "no-access-after-termination",
}

// clock is a fake clock: Sleep records the wait and moves time on.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// onSleep, if set, runs (unlocked) at each Sleep, after time moved.
	onSleep func(d time.Duration)
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	f := c.onSleep
	c.mu.Unlock()
	if f != nil {
		f(d)
	}
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newSender is a single-process sender on the fake clock.
func newSender(t *testing.T, ob alert.Outbox, tr alert.Transport, c *clock) *alert.Sender {
	return &alert.Sender{
		Outbox: ob, Transport: tr, Renderer: alert.Renderer{Names: names, APIBase: api},
		Grace: 2 * time.Minute, Settle: -1, Owner: "test-sender",
		Now: c.Now, Sleep: c.Sleep, Log: zaptest.NewLogger(t),
	}
}

func prFinding(rule string, n int, outcome model.Outcome, reason string) model.Finding {
	subject := "acme/pay#" + strconv.Itoa(n)
	return model.Finding{Rule: rule, Subject: subject, Outcome: outcome, Reason: reason, Repo: "acme/pay",
		OccurredAt: t0.Add(-time.Hour), EvaluatedAt: t0,
		Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/pull/" + strconv.Itoa(n), Author: "octocat", MergedBy: "octocat"}}}
}

func pushFinding(sha string, outcome model.Outcome) model.Finding {
	return model.Finding{Rule: "CM-1", Subject: "acme/pay@" + sha, Outcome: outcome,
		Reason: "direct push of " + sha + " by mallory", Repo: "acme/pay", OccurredAt: t0.Add(-time.Minute), EvaluatedAt: t0,
		Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/commit/" + sha, Pusher: "mallory", SHA: sha}}}
}

func accessFinding(rule, id string, outcome model.Outcome, reason string) model.Finding {
	return model.Finding{Rule: rule, Subject: "bastion:" + id, Outcome: outcome, Reason: reason,
		OccurredAt: t0.Add(-10 * time.Minute), EvaluatedAt: t0,
		Evidence: model.Evidence{PrincipalEvidence: model.PrincipalEvidence{Principal: "alice-admin", Person: "alice", System: "bastion", Role: "root"}}}
}

// states maps alert id to its state in the outbox.
func states(t *testing.T, st *store.Store) map[string]outbox.State {
	t.Helper()
	as, err := st.ListAlerts(context.Background(), "", 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outbox.State{}
	for _, a := range as {
		out[a.ID] = a.State
	}
	return out
}

// metric reads a counter or gauge from the default registry.
func metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
