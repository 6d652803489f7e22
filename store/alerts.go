package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/model"
)

// AlertState is where an alert is in the outbox.
type AlertState string

// Alert states. Queued is the only non-terminal one: sent, cancelled and
// failed are final until RequeueFailedAlerts reopens a failed alert.
const (
	AlertQueued    AlertState = "queued"
	AlertSent      AlertState = "sent"
	AlertCancelled AlertState = "cancelled"
	AlertFailed    AlertState = "failed"
)

// Terminal reports whether the state is final.
func (s AlertState) Terminal() bool { return s != AlertQueued }

// Alert is one row of the alert outbox: a message owed for one outcome
// transition of one finding. ID is "RULE|SUBJECT|TRANSITION" and is the
// outbox key: an id is queued at most once.
type Alert struct {
	ID         string
	Rule       string
	Subject    string
	Transition string
	Repo       string
	CreatedAt  time.Time
	// DueAt is when the alert may be sent (CreatedAt plus any grace).
	DueAt     time.Time
	State     AlertState
	Attempts  int
	LastError string
	SentAt    time.Time
	// ClaimedBy and ClaimedUntil are the sending lease (see the package
	// alert). Empty/zero when unclaimed.
	ClaimedBy    string
	ClaimedUntil time.Time
	// Finding is the finding the alert is about, as it was when queued.
	Finding   model.Finding
	UpdatedAt time.Time
	// Version orders the rows of one id (004_alerts.sql). Read it back and
	// pass it to UpdateAlerts unchanged: it is how a write supersedes the
	// row it was derived from.
	Version uint64
}

// AlertStats summarises the outbox.
type AlertStats struct {
	Queued, Sent, Cancelled, Failed int
	// OldestQueued is the creation time of the oldest queued alert; zero
	// when none is queued.
	OldestQueued time.Time
	// LastSent is the latest sent_at of any alert; zero when none was sent.
	LastSent time.Time
}

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

func alertToRow(a Alert) (alertRow, error) {
	p, err := json.Marshal(a.Finding)
	if err != nil {
		return alertRow{}, fmt.Errorf("encode finding of alert %s: %w", a.ID, err)
	}
	return alertRow{a.ID, a.Rule, a.Subject, a.Transition, a.Repo, Time(a.CreatedAt), Time(a.DueAt), string(a.State),
		uint32(max(a.Attempts, 0)), a.LastError, Time(a.SentAt), a.ClaimedBy, Time(a.ClaimedUntil), string(p),
		Time(a.UpdatedAt), a.Version}, nil
}

func (r alertRow) model() (Alert, error) {
	a := Alert{ID: r.ID, Rule: r.Rule, Subject: r.Subject, Transition: r.Transition, Repo: r.Repo,
		CreatedAt: r.CreatedAt.T(), DueAt: r.DueAt.T(), State: AlertState(r.State), Attempts: int(r.Attempts),
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
func (s *Store) EnqueueAlerts(ctx context.Context, as []Alert) (int, error) {
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
		a.State, a.Attempts, a.LastError, a.SentAt = AlertQueued, 0, "", time.Time{}
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
func (s *Store) DueAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryAlerts(ctx, "SELECT * FROM alerts FINAL WHERE state = 'queued' AND due_at <= {now:DateTime64(6, 'UTC')} ORDER BY "+
		alertOrder+" LIMIT {n:UInt32}", Params{"now": alertTime(now), "n": fmt.Sprint(limit)}, "read due alerts")
}

// Alerts returns the current row of each of the given ids that exists, in
// send order.
func (s *Store) Alerts(ctx context.Context, ids []string) ([]Alert, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.queryAlerts(ctx, "SELECT * FROM alerts FINAL WHERE id IN {ids:Array(String)} ORDER BY "+alertOrder,
		Params{"ids": ArrayParam(ids)}, "read alerts")
}

// ListAlerts returns up to limit alerts in state (every state when empty),
// newest first by creation.
func (s *Store) ListAlerts(ctx context.Context, state AlertState, limit int) ([]Alert, error) {
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

func (s *Store) queryAlerts(ctx context.Context, q string, p Params, what string) ([]Alert, error) {
	var rows []alertRow
	if err := s.db.Query(ctx, q, p, &rows); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := make([]Alert, 0, len(rows))
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
func (s *Store) UpdateAlerts(ctx context.Context, as []Alert, now time.Time) error {
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
		a.State, a.Attempts, a.ClaimedBy, a.ClaimedUntil, a.UpdatedAt = AlertQueued, 0, "", time.Time{}, now
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
func (s *Store) AlertStats(ctx context.Context) (AlertStats, error) {
	var rows []struct {
		State    string `json:"state"`
		N        uint64 `json:"n"`
		Oldest   Time   `json:"oldest"`
		LastSent Time   `json:"last_sent"`
	}
	if err := s.db.Query(ctx, "SELECT state, count() AS n, min(created_at) AS oldest, max(sent_at) AS last_sent FROM alerts FINAL GROUP BY state",
		nil, &rows); err != nil {
		return AlertStats{}, fmt.Errorf("count alerts: %w", err)
	}
	var st AlertStats
	for _, r := range rows {
		switch AlertState(r.State) {
		case AlertQueued:
			st.Queued, st.OldestQueued = int(r.N), r.Oldest.T()
		case AlertSent:
			st.Sent, st.LastSent = int(r.N), r.LastSent.T()
		case AlertCancelled:
			st.Cancelled = int(r.N)
		case AlertFailed:
			st.Failed = int(r.N)
		}
	}
	return st, nil
}
