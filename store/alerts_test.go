package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

var alertT0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func testAlert(rule, subject string, created, due time.Time) outbox.Alert {
	return outbox.Alert{
		ID: rule + "|" + subject + "|fail", Rule: rule, Subject: subject, Transition: "fail", Repo: "acme/pay",
		CreatedAt: created, DueAt: due,
		Finding: model.Finding{Rule: rule, Subject: subject, Outcome: model.Fail, Reason: "approved only by the author (octocat)",
			Repo: "acme/pay", OccurredAt: alertT0.Add(-time.Hour).Truncate(time.Millisecond), EvaluatedAt: alertT0,
			Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/pay/pull/7", Author: "octocat"}}},
	}
}

func ids(as []outbox.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func mustEnqueue(t *testing.T, s *store.Store, want int, as ...outbox.Alert) {
	t.Helper()
	n, err := s.EnqueueAlerts(context.Background(), as)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("EnqueueAlerts queued %d, want %d", n, want)
	}
}

func mustGet(t *testing.T, s *store.Store, id string) outbox.Alert {
	t.Helper()
	as, err := s.Alerts(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 {
		t.Fatalf("Alerts(%s) = %d rows, want 1", id, len(as))
	}
	return as[0]
}

func TestEnqueueAlertsQueuesEachIDOnce(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	a := testAlert("CM-2", "acme/pay#7", alertT0, time.Time{})
	b := testAlert("CM-3", "acme/pay#7", alertT0, time.Time{})
	mustEnqueue(t, s, 2, a, b, a) // a duplicate inside one call is one alert
	mustEnqueue(t, s, 0, a, b)

	got := mustGet(t, s, a.ID)
	if got.State != outbox.Queued || !got.DueAt.Equal(alertT0.Truncate(time.Microsecond)) || got.Version != 0 {
		t.Errorf("queued row = state %s due %v version %d", got.State, got.DueAt, got.Version)
	}
	if !reflect.DeepEqual(got.Finding, a.Finding) {
		t.Errorf("finding round trip:\n got %+v\nwant %+v", got.Finding, a.Finding)
	}

	// Sent, then the same event again: still sent, nothing queued.
	got.State, got.SentAt, got.Attempts = outbox.Sent, alertT0.Add(time.Second), 1
	if err := s.UpdateAlerts(ctx, []outbox.Alert{got}, alertT0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, s, 0, a)
	if st := mustGet(t, s, a.ID).State; st != outbox.Sent {
		t.Errorf("after re-enqueue state = %s, want sent", st)
	}
	if n, err := s.Count(ctx, "alerts"); err != nil || n != 2 {
		t.Errorf("alerts = %d (%v), want 2", n, err)
	}
}

func TestDueAlertsOrderAndState(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	late := testAlert("CM-1", "acme/pay@"+shaA, alertT0, alertT0.Add(2*time.Minute)) // grace
	first := testAlert("CM-2", "acme/pay#9", alertT0, time.Time{})
	second := testAlert("CM-2", "acme/pay#10", alertT0.Add(time.Millisecond), time.Time{})
	tie := testAlert("CM-1", "acme/pay#9", alertT0, time.Time{}) // same times as first: id orders
	mustEnqueue(t, s, 3, late, second, first)
	mustEnqueue(t, s, 1, tie)

	due, err := s.DueAlerts(ctx, alertT0.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{tie.ID, first.ID, second.ID}; !reflect.DeepEqual(ids(due), want) {
		t.Errorf("due at +1m = %v, want %v", ids(due), want)
	}
	due, err = s.DueAlerts(ctx, alertT0.Add(2*time.Minute), 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{tie.ID, first.ID}; !reflect.DeepEqual(ids(due), want) {
		t.Errorf("due with limit 2 = %v, want %v", ids(due), want)
	}

	// A later state in another part replaces the queued row: the filter on
	// state must apply to the current row, not to any row.
	cur := mustGet(t, s, first.ID)
	cur.State, cur.SentAt = outbox.Sent, alertT0.Add(time.Second)
	if err := s.UpdateAlerts(ctx, []outbox.Alert{cur}, alertT0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	due, err = s.DueAlerts(ctx, alertT0.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{tie.ID, second.ID, late.ID}; !reflect.DeepEqual(ids(due), want) {
		t.Errorf("due after sending %s = %v, want %v", first.ID, ids(due), want)
	}
}

func TestUpdateAlertsTerminalStateWins(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	a := testAlert("CM-2", "acme/pay#7", alertT0, time.Time{})
	mustEnqueue(t, s, 1, a)
	stale := mustGet(t, s, a.ID)

	// A claims and sends.
	rows := []outbox.Alert{stale}
	rows[0].ClaimedBy, rows[0].ClaimedUntil = "A", alertT0.Add(time.Minute)
	if err := s.UpdateAlerts(ctx, rows, alertT0); err != nil {
		t.Fatal(err)
	}
	claimedVersion := rows[0].Version
	rows[0].State, rows[0].SentAt, rows[0].Attempts, rows[0].ClaimedBy, rows[0].ClaimedUntil = outbox.Sent, alertT0, 1, "", time.Time{}
	if err := s.UpdateAlerts(ctx, rows, alertT0); err != nil { // same clock: still supersedes
		t.Fatal(err)
	}
	if rows[0].Version <= claimedVersion {
		t.Errorf("sent version %d does not exceed claimed version %d", rows[0].Version, claimedVersion)
	}
	if got := mustGet(t, s, a.ID); got.State != outbox.Sent || got.Version != rows[0].Version {
		t.Fatalf("after send: state %s version %d, want sent %d", got.State, got.Version, rows[0].Version)
	}

	// B, working from the stale queued row with a clock an hour ahead,
	// claims it: the sent row still wins.
	late := stale
	late.ClaimedBy, late.ClaimedUntil = "B", alertT0.Add(2*time.Hour)
	if err := s.UpdateAlerts(ctx, []outbox.Alert{late}, alertT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, a.ID); got.State != outbox.Sent || got.ClaimedBy != "" {
		t.Errorf("stale claim replaced the sent row: %+v", got)
	}

	// Reopening a row read as final is refused.
	reopen := mustGet(t, s, a.ID)
	reopen.State = outbox.Queued
	if err := s.UpdateAlerts(ctx, []outbox.Alert{reopen}, alertT0.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "final") {
		t.Errorf("reopening a sent alert: err = %v, want a refusal", err)
	}
}

func TestRequeueFailedAlertsAndStats(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	a := testAlert("CM-2", "acme/pay#7", alertT0, time.Time{})
	b := testAlert("CM-6", "acme/pay:protection@d1", alertT0.Add(time.Second), time.Time{})
	c := testAlert("AC-1", "bastion:e1", alertT0.Add(2*time.Second), time.Time{})
	mustEnqueue(t, s, 3, a, b, c)

	st, err := s.AlertStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued != 3 || !st.OldestQueued.Equal(alertT0.Truncate(time.Microsecond)) || !st.LastSent.IsZero() {
		t.Errorf("stats = %+v", st)
	}

	rows, err := s.Alerts(ctx, []string{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	rows[0].State, rows[0].LastError, rows[0].Attempts = outbox.Failed, "chat.postMessage: invalid_auth", 1
	rows[1].State, rows[1].SentAt = outbox.Sent, alertT0.Add(5*time.Second)
	if err := s.UpdateAlerts(ctx, rows, alertT0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	st, err = s.AlertStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := outbox.Stats{Queued: 1, Sent: 1, Failed: 1,
		OldestQueued: alertT0.Add(2 * time.Second).Truncate(time.Microsecond), LastSent: alertT0.Add(5 * time.Second).Truncate(time.Microsecond)}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	failed, err := s.ListAlerts(ctx, outbox.Failed, 10)
	if err != nil || len(failed) != 1 || failed[0].ID != a.ID || failed[0].LastError != "chat.postMessage: invalid_auth" {
		t.Fatalf("failed alerts = %+v (%v)", failed, err)
	}

	n, err := s.RequeueFailedAlerts(ctx, nil, alertT0.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("requeue = %d (%v), want 1", n, err)
	}
	due, err := s.DueAlerts(ctx, alertT0.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a.ID, c.ID}; !reflect.DeepEqual(ids(due), want) {
		t.Errorf("due after requeue = %v, want %v (in original order)", ids(due), want)
	}
	if due[0].LastError != "chat.postMessage: invalid_auth" || due[0].Attempts != 0 {
		t.Errorf("requeued row = %+v", due[0])
	}
	// The requeued row is a new epoch: it can be sent again.
	due[0].State = outbox.Sent
	if err := s.UpdateAlerts(ctx, due[:1], alertT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, a.ID); got.State != outbox.Sent {
		t.Errorf("after requeue and send: %s", got.State)
	}
}
