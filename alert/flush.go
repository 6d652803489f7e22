package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/model"
)

// errLeaseLost ends a round whose claim expired before it could be renewed:
// another process may own the alerts now, so this one must not send them.
var errLeaseLost = errors.New("alert lease expired before it could be renewed; the alerts are claimed again next round")

// recordTimeout bounds the write that records a delivery, which runs even
// when the round's context has ended: Slack has the message, the outbox
// must know.
const recordTimeout = 10 * time.Second

// Flush delivers every alert due now and returns when none is left, or on
// the first error. It blocks through Slack's outages: a retryable failure
// is retried (after Retry-After, else backoff) until it succeeds, fails
// for good, or ctx ends. Alerts it claimed but did not deliver are
// released for the next round or process.
//
// Errors are the outbox's (the round stops; nothing is lost) or ctx's.
// A Flush waiting for another round to finish (Run's, retrying through an
// outage) gives up when ctx ends, so a bounded shutdown stays bounded.
// A permanent Slack failure is not an error of Flush: the alert is marked
// failed, logged and counted, and the next alert is sent.
func (s *Sender) Flush(ctx context.Context) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.setup()
	select {
	case s.round <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for the alert round in progress: %w", ctx.Err())
	}
	defer func() { <-s.round }()
	defer s.updateGauges(ctx)
	if err := s.recordUnrecorded(ctx); err != nil {
		return err
	}
	if err := s.enqueuePending(ctx); err != nil {
		s.log().Error("queue held alerts (retried next round)", zap.Error(err))
	}
	for {
		n, err := s.flushOnce(ctx)
		if err != nil || n == 0 || s.Digest > 0 {
			return err
		}
	}
}

// flushOnce claims one batch and delivers it; it returns how many alerts
// it claimed.
func (s *Sender) flushOnce(ctx context.Context) (int, error) {
	limit := orDefault(s.Batch, DefaultBatch)
	if s.Digest > 0 {
		st, err := s.Outbox.AlertStats(ctx)
		if err != nil {
			return 0, err
		}
		if !st.LastSent.IsZero() && s.now().Before(st.LastSent.Add(s.Digest)) {
			return 0, nil // this period's message has gone out
		}
		limit = DigestLimit
	}
	batch, err := s.claim(ctx, limit)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	claimed := len(batch)
	defer func() { s.release(ctx, batch) }()
	if err := s.cancelWithdrawn(ctx, batch); err != nil {
		return claimed, err
	}
	var live []int
	for i := range batch {
		if batch[i].State == outbox.Queued {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return claimed, nil
	}
	if s.Digest > 0 && len(live) > 1 {
		group := make([]*outbox.Alert, len(live))
		alerts := make([]outbox.Alert, len(live))
		for j, i := range live {
			group[j], alerts[j] = &batch[i], batch[i]
		}
		return claimed, s.deliver(ctx, batch, group, s.Renderer.Digest(alerts, s.DigestList))
	}
	for _, i := range live {
		if err := s.deliver(ctx, batch, []*outbox.Alert{&batch[i]}, s.Renderer.Message(batch[i])); err != nil {
			return claimed, err
		}
	}
	return claimed, nil
}

// claim leases the longest prefix of the due alerts that no other process
// holds, in send order, and returns the alerts it won.
//
// The outbox has no compare-and-set, so a claim is: read the due alerts
// (at t0), write this process's lease on them, wait Settle, read them
// back, and keep those whose current row is exactly the claim written.
// If the write returned later than Settle/2 after t0, the round is given
// up: a claim racing with ours could still land after our read-back. With
// the wait, two processes both winning needs one of them to take longer
// than Settle between reading and writing, which it then notices.
func (s *Sender) claim(ctx context.Context, limit int) ([]outbox.Alert, error) {
	settle := orDefault(s.Settle, DefaultSettle)
	lease := orDefault(s.Lease, DefaultLease)
	t0 := s.now()
	// Alerts still waiting for the pipeline are skipped, not sent: ask for
	// as many more as the last round skipped, so they do not crowd out
	// the alerts behind them.
	due, err := s.Outbox.DueAlerts(ctx, t0, limit+s.heldBack)
	if err != nil {
		return nil, err
	}
	processed := s.processingClock()
	s.heldBack = 0
	s.mu.Lock()
	var batch []outbox.Alert
	for _, a := range due {
		if _, sent := s.unrecorded[a.ID]; sent {
			continue
		}
		if waitsForPipeline(a, processed) {
			s.heldBack++ // not due yet on the processing clock
			continue
		}
		if len(batch) == limit {
			break
		}
		if a.ClaimedBy != "" && a.ClaimedBy != s.owner && a.ClaimedUntil.After(t0) {
			break // held by another sender: keep the order, let it finish
		}
		a.ClaimedBy, a.ClaimedUntil = s.owner, t0.Add(lease)
		batch = append(batch, a)
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil, nil
	}
	if err := s.Outbox.UpdateAlerts(ctx, batch, t0); err != nil {
		return nil, fmt.Errorf("claim %d alerts: %w", len(batch), err)
	}
	if settle > 0 {
		if took := s.now().Sub(t0); took > settle/2 {
			s.log().Warn("claiming alerts took too long to be sure of the claim; trying again next round",
				zap.Duration("took", took), zap.Duration("settle", settle))
			return nil, nil
		}
		if err := s.sleep(ctx, settle); err != nil {
			return nil, err
		}
	}
	ids := make([]string, len(batch))
	for i, a := range batch {
		ids[i] = a.ID
	}
	back, err := s.Outbox.Alerts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read back claimed alerts: %w", err)
	}
	cur := make(map[string]outbox.Alert, len(back))
	for _, a := range back {
		cur[a.ID] = a
	}
	for i, a := range batch {
		c, ok := cur[a.ID]
		if !ok || c.Version != a.Version || c.State != outbox.Queued || c.ClaimedBy != s.owner {
			return batch[:i], nil
		}
	}
	return batch, nil
}

// cancelWithdrawn re-reads the findings of alerts that waited a grace
// period and cancels those no longer failing (a late pull_request event
// showed the push was a merge). Cancelled alerts stay in batch with state
// cancelled. Alerts still failing take the current finding, so the message
// shows the latest reason.
func (s *Sender) cancelWithdrawn(ctx context.Context, batch []outbox.Alert) error {
	var subjects []string
	for _, a := range batch {
		if graced(a) {
			subjects = append(subjects, a.Subject)
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	fs, err := s.Outbox.FindingsFor(ctx, subjects)
	if err != nil {
		return fmt.Errorf("re-read findings of alerts after their grace period: %w", err)
	}
	cur := map[string]model.Finding{}
	for _, f := range fs {
		cur[f.Rule+"\x00"+f.Subject] = f
	}
	var cancelled []outbox.Alert
	var at []int
	for i := range batch {
		a := &batch[i]
		if !graced(*a) {
			continue
		}
		f, ok := cur[a.Rule+"\x00"+a.Subject]
		if ok && f.Outcome == model.Fail {
			a.Finding = f
			continue
		}
		a.State = outbox.Cancelled
		if ok {
			a.LastError = fmt.Sprintf("finding is now %s: %s", f.Outcome, f.Reason)
		} else {
			// Queued, but its verdict was never recorded (the process
			// stopped in between) and no evaluation since has found it.
			a.LastError = "no failing finding was recorded for the subject"
		}
		a.ClaimedBy, a.ClaimedUntil = "", time.Time{}
		cancelled = append(cancelled, *a)
		at = append(at, i)
	}
	if len(cancelled) == 0 {
		return nil
	}
	if err := s.Outbox.UpdateAlerts(ctx, cancelled, s.now()); err != nil {
		for _, i := range at {
			batch[i].State = outbox.Queued // not recorded: not cancelled
		}
		return fmt.Errorf("cancel %d alerts: %w", len(cancelled), err)
	}
	for j, i := range at {
		batch[i] = cancelled[j]
		s.log().Info("alert cancelled: the finding stopped failing within the grace period",
			zap.String("alert", batch[i].ID), zap.String("why", batch[i].LastError))
	}
	cancelledTotal.Add(float64(len(cancelled)))
	return nil
}

// graced reports whether an alert waited a grace period, and so must be
// re-checked before it is sent.
func graced(a outbox.Alert) bool {
	return a.Transition == TransitionFail && a.DueAt.After(a.CreatedAt)
}

// deliver posts msg, which carries the alerts in group (pointers into
// batch), until Slack accepts it or refuses it for good. Between attempts
// it records the attempt and keeps the lease on every claimed alert of
// batch, so that no other process takes over while Slack is down.
func (s *Sender) deliver(ctx context.Context, batch []outbox.Alert, group []*outbox.Alert, msg slack.Message) error {
	for {
		if err := s.holdLease(ctx, batch, 0, false); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, orDefault(s.RequestTimeout, DefaultRequestTimeout))
		err := s.Transport.Post(rctx, msg)
		cancel()
		now := s.now()
		if err == nil {
			for _, a := range group {
				a.State, a.SentAt, a.Attempts, a.LastError = outbox.Sent, now, a.Attempts+1, ""
				a.ClaimedBy, a.ClaimedUntil = "", time.Time{}
			}
			s.failures = 0
			messagesTotal.Inc()
			sentTotal.Add(float64(len(group)))
			s.log().Info("alert sent", zap.Strings("alerts", alertIDs(group)))
			return s.recordSent(ctx, group, now)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		attemptErrorsTotal.Inc()
		retry, after := slack.Retryable(err)
		for _, a := range group {
			a.Attempts++
			a.LastError = err.Error()
		}
		if !retry {
			for _, a := range group {
				a.State, a.ClaimedBy, a.ClaimedUntil = outbox.Failed, "", time.Time{}
			}
			failedTotal.Add(float64(len(group)))
			s.log().Error("alert refused by Slack for good: kept in the outbox as failed (RequeueFailedAlerts sends it again)",
				zap.Strings("alerts", alertIDs(group)), zap.Error(err))
			return s.update(ctx, group, now)
		}
		wait := after
		if wait <= 0 {
			wait = s.backoff()
		}
		s.log().Warn("alert not delivered; retrying", zap.Strings("alerts", alertIDs(group)),
			zap.Int("attempts", group[0].Attempts), zap.Duration("wait", wait), zap.Error(err))
		if err := s.holdLease(ctx, batch, wait, true); err != nil {
			return err
		}
		if err := s.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff is the next wait after a failure without Retry-After.
func (s *Sender) backoff() time.Duration {
	base := orDefault(s.BackoffBase, DefaultBackoffBase)
	limit := max(orDefault(s.BackoffMax, DefaultBackoffMax), base)
	d := base
	for i := 0; i < s.failures && d < limit; i++ {
		d *= 2
	}
	s.failures++
	return min(d, limit)
}

// holdLease makes the claim on batch's queued alerts last through now+wait
// plus half a lease, renewing it (and recording attempts) when it would
// not, or always when force. A claim already expired is lost: the round
// ends without sending.
func (s *Sender) holdLease(ctx context.Context, batch []outbox.Alert, wait time.Duration, force bool) error {
	lease := orDefault(s.Lease, DefaultLease)
	now := s.now()
	var held []int
	renew := force
	for i, a := range batch {
		if a.State != outbox.Queued {
			continue
		}
		if !a.ClaimedUntil.After(now) {
			return errLeaseLost
		}
		if a.ClaimedUntil.Before(now.Add(wait + lease/2)) {
			renew = true
		}
		held = append(held, i)
	}
	if !renew || len(held) == 0 {
		return nil
	}
	rows := make([]outbox.Alert, len(held))
	for j, i := range held {
		rows[j] = batch[i]
		rows[j].ClaimedUntil = now.Add(wait + lease)
	}
	if err := s.Outbox.UpdateAlerts(ctx, rows, now); err != nil {
		return fmt.Errorf("renew the lease on %d alerts: %w", len(rows), err)
	}
	for j, i := range held {
		batch[i] = rows[j]
	}
	return nil
}

// update records the group's new state.
func (s *Sender) update(ctx context.Context, group []*outbox.Alert, now time.Time) error {
	rows := make([]outbox.Alert, len(group))
	for i, a := range group {
		rows[i] = *a
	}
	if err := s.Outbox.UpdateAlerts(ctx, rows, now); err != nil {
		return fmt.Errorf("record %d alerts as %s: %w", len(rows), rows[0].State, err)
	}
	for i, a := range group {
		*a = rows[i]
	}
	return nil
}

// recordSent records a delivery, even if ctx has ended. If the outbox
// keeps failing, the alerts are remembered as sent (never posted again by
// this process) and recorded by a later round.
func (s *Sender) recordSent(ctx context.Context, group []*outbox.Alert, now time.Time) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		err = s.update(wctx, group, now)
		cancel()
		if err == nil {
			return nil
		}
		if attempt < 2 && s.sleep(context.WithoutCancel(ctx), time.Duration(attempt+1)*orDefault(s.BackoffBase, DefaultBackoffBase)) != nil {
			break
		}
	}
	s.mu.Lock()
	for _, a := range group {
		s.unrecorded[a.ID] = *a
	}
	s.mu.Unlock()
	return fmt.Errorf("delivered, but not recorded yet (kept in memory, recorded next round): %w", err)
}

// recordUnrecorded writes deliveries an earlier round could not record.
func (s *Sender) recordUnrecorded(ctx context.Context) error {
	s.mu.Lock()
	rows := make([]outbox.Alert, 0, len(s.unrecorded))
	for _, a := range s.unrecorded {
		rows = append(rows, a)
	}
	s.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	if err := s.Outbox.UpdateAlerts(ctx, rows, s.now()); err != nil {
		return fmt.Errorf("record %d delivered alerts: %w", len(rows), err)
	}
	s.mu.Lock()
	for _, a := range rows {
		delete(s.unrecorded, a.ID)
	}
	s.mu.Unlock()
	return nil
}

// release gives up the claim on batch's alerts still queued (a round that
// ended early), so another round or process need not wait for the lease to
// expire. Best effort: the lease expires anyway.
func (s *Sender) release(ctx context.Context, batch []outbox.Alert) {
	var rows []outbox.Alert
	now := s.now()
	for _, a := range batch {
		// An expired claim may be someone else's by now: leave it alone.
		if a.State == outbox.Queued && a.ClaimedBy == s.owner && a.ClaimedUntil.After(now) {
			a.ClaimedBy, a.ClaimedUntil = "", time.Time{}
			rows = append(rows, a)
		}
	}
	if len(rows) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := s.Outbox.UpdateAlerts(wctx, rows, now); err != nil {
		s.log().Warn("release alert claims (they expire by themselves)", zap.Int("alerts", len(rows)), zap.Error(err))
	}
}

// updateGauges refreshes the queue gauges from the outbox.
func (s *Sender) updateGauges(ctx context.Context) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	st, err := s.Outbox.AlertStats(wctx)
	if err != nil {
		s.log().Warn("count queued alerts", zap.Error(err))
		return
	}
	queuedGauge.Set(float64(st.Queued))
	age := 0.0
	if !st.OldestQueued.IsZero() {
		age = max(s.now().Sub(st.OldestQueued).Seconds(), 0)
	}
	oldestQueuedGauge.Set(age)
}

func alertIDs(group []*outbox.Alert) []string {
	ids := make([]string, len(group))
	for i, a := range group {
		ids[i] = a.ID
	}
	return ids
}
