package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
)

// Version layout (004_alerts.sql): epoch<<57 | terminal<<56 | microseconds.
const (
	alertClockBits   = 56
	alertClockMask   = 1<<alertClockBits - 1
	alertTerminalBit = 1 << alertClockBits
	alertEpochShift  = alertClockBits + 1
	alertMaxEpoch    = 1<<(64-alertEpochShift) - 1
	alertTimeLayout  = "2006-01-02 15:04:05.000000"
	alertOrder       = "due_at, created_at, id"
)

func alertEpoch(v uint64) uint64 { return v >> alertEpochShift }

// nextAlertVersion is a version that supersedes prev in the same epoch:
// the writer's clock, but never less than prev's clock plus one, so a
// writer with a slow clock still replaces the row it read.
func nextAlertVersion(prev uint64, epoch uint64, terminal bool, now time.Time) uint64 {
	clock := uint64(max(now.UnixMicro(), 0)) & alertClockMask
	if p := prev & alertClockMask; clock <= p {
		clock = p + 1
	}
	v := epoch<<alertEpochShift | clock
	if terminal {
		v |= alertTerminalBit
	}
	return v
}

type alertRow struct {
	ID           string `json:"id"`
	Rule         string `json:"rule"`
	Subject      string `json:"subject"`
	Transition   string `json:"transition"`
	Repo         string `json:"repo"`
	CreatedAt    Time   `json:"created_at"`
	DueAt        Time   `json:"due_at"`
	State        string `json:"state"`
	Attempts     uint32 `json:"attempts"`
	LastError    string `json:"last_error"`
	SentAt       Time   `json:"sent_at"`
	ClaimedBy    string `json:"claimed_by"`
	ClaimedUntil Time   `json:"claimed_until"`
	Payload      string `json:"payload"`
	UpdatedAt    Time   `json:"updated_at"`
	Version      uint64 `json:"version"`
}

func alertToRow(a outbox.Alert) (alertRow, error) {
	p, err := json.Marshal(a.Finding)
	if err != nil {
		return alertRow{}, fmt.Errorf("encode finding of alert %s: %w", a.ID, err)
	}
	return alertRow{a.ID, a.Rule, a.Subject, a.Transition, a.Repo, Time(a.CreatedAt), Time(a.DueAt), string(a.State),
		uint32(max(a.Attempts, 0)), a.LastError, Time(a.SentAt), a.ClaimedBy, Time(a.ClaimedUntil), string(p),
		Time(a.UpdatedAt), a.Version}, nil
}

func (r alertRow) model() (outbox.Alert, error) {
	a := outbox.Alert{ID: r.ID, Rule: r.Rule, Subject: r.Subject, Transition: r.Transition, Repo: r.Repo,
		CreatedAt: r.CreatedAt.T(), DueAt: r.DueAt.T(), State: outbox.State(r.State), Attempts: int(r.Attempts),
		LastError: r.LastError, SentAt: r.SentAt.T(), ClaimedBy: r.ClaimedBy, ClaimedUntil: r.ClaimedUntil.T(),
		UpdatedAt: r.UpdatedAt.T(), Version: r.Version}
	if r.Payload != "" {
		if err := json.Unmarshal([]byte(r.Payload), &a.Finding); err != nil {
			return a, fmt.Errorf("decode finding of alert %s: %w", r.ID, err)
		}
	}
	return a, nil
}

func alertTime(t time.Time) string { return t.UTC().Format(alertTimeLayout) }

// microTime is t as the table keeps it (DateTime64(6), UTC).
func microTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

// EnqueueAlerts queues the alerts whose ids are not in the outbox yet, in
// one INSERT, and returns how many it queued. An id already present, in any
// state, is left alone: a re-evaluation or a re-sent event never queues an
// alert twice, and never reopens one already sent. Each queued row takes
// the given ID, Rule, Subject, Transition, Repo, CreatedAt, DueAt (zero =
// CreatedAt) and Finding; its state is queued, its version 0.
//
// Two processes enqueueing the same new id at once may both insert it; the
// rows collapse into one queued alert (same id, version 0), so the alert is
// still sent once.
func (s *Store) EnqueueAlerts(ctx context.Context, as []outbox.Alert) (int, error) {
	if len(as) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(as))
	for _, a := range as {
		if a.ID == "" {
			return 0, fmt.Errorf("enqueue alerts: alert for %s %s has no id", a.Rule, a.Subject)
		}
		ids = append(ids, a.ID)
	}
	var known []struct {
		ID string `json:"id"`
	}
	if err := s.db.Query(ctx, "SELECT DISTINCT id FROM alerts WHERE id IN {ids:Array(String)}",
		Params{"ids": ArrayParam(ids)}, &known); err != nil {
		return 0, fmt.Errorf("look up queued alerts: %w", err)
	}
	seen := make(map[string]bool, len(known)+len(as))
	for _, k := range known {
		seen[k.ID] = true
	}
	var rows []alertRow
	for _, a := range as {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		a.CreatedAt = microTime(a.CreatedAt)
		if a.DueAt.IsZero() {
			a.DueAt = a.CreatedAt
		}
		a.DueAt = microTime(a.DueAt)
		a.State, a.Attempts, a.LastError, a.SentAt = outbox.Queued, 0, "", time.Time{}
		a.ClaimedBy, a.ClaimedUntil = "", time.Time{}
		a.UpdatedAt, a.Version = a.CreatedAt, 0
		r, err := alertToRow(a)
		if err != nil {
			return 0, err
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := s.db.Insert(ctx, "alerts", rows); err != nil {
		return 0, fmt.Errorf("enqueue %d alerts: %w", len(rows), err)
	}
	return len(rows), nil
}

// DueAlerts returns up to limit queued alerts with due_at <= now, in send
// order: by due_at, then created_at, then id. Alerts leased to a sender
// are included (with their lease) so that the caller can keep the order.
func (s *Store) DueAlerts(ctx context.Context, now time.Time, limit int) ([]outbox.Alert, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryAlerts(ctx, "SELECT * FROM alerts FINAL WHERE state = 'queued' AND due_at <= {now:DateTime64(6, 'UTC')} ORDER BY "+
		alertOrder+" LIMIT {n:UInt32}", Params{"now": alertTime(now), "n": fmt.Sprint(limit)}, "read due alerts")
}

// Alerts returns the current row of each of the given ids that exists, in
// send order.
func (s *Store) Alerts(ctx context.Context, ids []string) ([]outbox.Alert, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.queryAlerts(ctx, "SELECT * FROM alerts FINAL WHERE id IN {ids:Array(String)} ORDER BY "+alertOrder,
		Params{"ids": ArrayParam(ids)}, "read alerts")
}

// ListAlerts returns up to limit alerts in state (every state when empty),
// newest first by creation.
func (s *Store) ListAlerts(ctx context.Context, state outbox.State, limit int) ([]outbox.Alert, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := "SELECT * FROM alerts FINAL"
	p := Params{"n": fmt.Sprint(limit)}
	if state != "" {
		q += " WHERE state = {state:String}"
		p["state"] = string(state)
	}
	return s.queryAlerts(ctx, q+" ORDER BY created_at DESC, id LIMIT {n:UInt32}", p, "list alerts")
}

func (s *Store) queryAlerts(ctx context.Context, q string, p Params, what string) ([]outbox.Alert, error) {
	var rows []alertRow
	if err := s.db.Query(ctx, q, p, &rows); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := make([]outbox.Alert, 0, len(rows))
	for _, r := range rows {
		a, err := r.model()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// UpdateAlerts records new states of alerts in one INSERT. Each element
// must be a row read from the outbox (its Version unchanged) with the
// fields the caller changed; every column is written as given. UpdateAlerts
// sets each element's Version and UpdatedAt to what it wrote, so the slice
// can be updated again.
//
// A terminal row is final within its epoch: writing a queued state over a
// row read as terminal is an error (use RequeueFailedAlerts), and a write
// derived from a stale queued row never replaces a terminal one.
func (s *Store) UpdateAlerts(ctx context.Context, as []outbox.Alert, now time.Time) error {
	if len(as) == 0 {
		return nil
	}
	now = microTime(now)
	rows := make([]alertRow, len(as))
	versions := make([]uint64, len(as))
	for i, a := range as {
		if a.Version&alertTerminalBit != 0 && !a.State.Terminal() {
			return fmt.Errorf("update alert %s: it is final; only RequeueFailedAlerts reopens it", a.ID)
		}
		a.Version = nextAlertVersion(a.Version, alertEpoch(a.Version), a.State.Terminal(), now)
		a.UpdatedAt = now
		a.SentAt, a.ClaimedUntil = microTime(a.SentAt), microTime(a.ClaimedUntil)
		r, err := alertToRow(a)
		if err != nil {
			return err
		}
		rows[i], versions[i] = r, a.Version
	}
	if err := s.db.Insert(ctx, "alerts", rows); err != nil {
		return fmt.Errorf("update %d alerts: %w", len(as), err)
	}
	for i := range as {
		as[i].Version, as[i].UpdatedAt = versions[i], now
		as[i].SentAt, as[i].ClaimedUntil = microTime(as[i].SentAt), microTime(as[i].ClaimedUntil)
	}
	return nil
}

// RequeueFailedAlerts puts failed alerts back in the queue (all of them
// when ids is empty), for after a configuration fix, keeping their place
// in the send order. It returns how many it requeued.
func (s *Store) RequeueFailedAlerts(ctx context.Context, ids []string, now time.Time) (int, error) {
	q := "SELECT * FROM alerts FINAL WHERE state = 'failed'"
	p := Params{}
	if len(ids) > 0 {
		q += " AND id IN {ids:Array(String)}"
		p["ids"] = ArrayParam(ids)
	}
	failed, err := s.queryAlerts(ctx, q+" ORDER BY "+alertOrder, p, "read failed alerts")
	if err != nil {
		return 0, err
	}
	now = microTime(now)
	rows := make([]alertRow, 0, len(failed))
	for _, a := range failed {
		epoch := alertEpoch(a.Version)
		if epoch >= alertMaxEpoch {
			return 0, fmt.Errorf("requeue alert %s: requeued too often (%d times)", a.ID, epoch)
		}
		a.Version = nextAlertVersion(a.Version, epoch+1, false, now)
		a.State, a.Attempts, a.ClaimedBy, a.ClaimedUntil, a.UpdatedAt = outbox.Queued, 0, "", time.Time{}, now
		r, err := alertToRow(a)
		if err != nil {
			return 0, err
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := s.db.Insert(ctx, "alerts", rows); err != nil {
		return 0, fmt.Errorf("requeue %d alerts: %w", len(rows), err)
	}
	return len(rows), nil
}

// AlertStats counts the outbox's alerts by state.
func (s *Store) AlertStats(ctx context.Context) (outbox.Stats, error) {
	var rows []struct {
		State    string `json:"state"`
		N        uint64 `json:"n"`
		Oldest   Time   `json:"oldest"`
		LastSent Time   `json:"last_sent"`
	}
	if err := s.db.Query(ctx, "SELECT state, count() AS n, min(created_at) AS oldest, max(sent_at) AS last_sent FROM alerts FINAL GROUP BY state",
		nil, &rows); err != nil {
		return outbox.Stats{}, fmt.Errorf("count alerts: %w", err)
	}
	var st outbox.Stats
	for _, r := range rows {
		switch outbox.State(r.State) {
		case outbox.Queued:
			st.Queued, st.OldestQueued = int(r.N), r.Oldest.T()
		case outbox.Sent:
			st.Sent, st.LastSent = int(r.N), r.LastSent.T()
		case outbox.Cancelled:
			st.Cancelled = int(r.N)
		case outbox.Failed:
			st.Failed = int(r.N)
		}
	}
	return st, nil
}
