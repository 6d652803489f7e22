package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// A system whose events have verdicts is compared with them a stretch of
// ids at a time: across many stretches, exactly the events whose class's
// verdict changed get a new one (each once, none lost at a bound), an
// excluded event gets none, the verdicts handed to before are the ones
// recorded, and judging again with nothing changed records nothing.
func TestClassVerdictsComparedByStretch(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	defer store.SetClassJoinEvents(7)()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	principals := []string{"alice", "bob", "carol"}
	var events []model.AccessEvent
	var subjects []string
	for i := range 61 {
		events = append(events, model.AccessEvent{ID: fmt.Sprintf("e%03d", i), System: "db", Time: base.Add(time.Duration(i) * time.Minute),
			Principal: principals[i%3], Action: "login", Result: "success", Format: "generic", ReceivedAt: base})
		subjects = append(subjects, fmt.Sprintf("db:e%03d", i))
	}
	if err := s.WriteAccess(ctx, events); err != nil {
		t.Fatal(err)
	}
	verdicts := func(failing string) []model.ClassFinding {
		var vs []model.ClassFinding
		for _, p := range principals {
			f := model.Finding{Rule: "AC-1", Outcome: model.Pass, Reason: "authorized",
				Evidence: model.Evidence{PrincipalEvidence: model.PrincipalEvidence{Principal: p, System: "db"}}}
			if p == failing {
				f.Outcome, f.Reason = model.Fail, "not authorized"
			}
			vs = append(vs, model.ClassFinding{Class: model.AccessClass{Principal: p, Result: "success"}, Finding: f})
		}
		return vs
	}
	current := func() map[string]model.Finding {
		fs, err := s.FindingsFor(ctx, subjects)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]model.Finding{}
		for _, f := range fs {
			if f.Rule == "AC-1" && (out[f.Subject].EvaluatedAt.IsZero() || f.EvaluatedAt.After(out[f.Subject].EvaluatedAt)) {
				out[f.Subject] = f
			}
		}
		return out
	}
	rules := []string{"AC-1"}

	// First judgement: no verdicts yet, every event gets one.
	n, err := s.RecordClassVerdicts(ctx, "db", rules, verdicts(""), nil, base.Add(time.Hour), nil)
	if err != nil || n != len(events) {
		t.Fatalf("first judgement recorded %d (%v), want %d", n, err, len(events))
	}
	// bob's class fails now; e004 (bob's) is excluded.
	n, err = s.RecordClassVerdicts(ctx, "db", rules, verdicts("bob"), []string{"e004"}, base.Add(2*time.Hour), nil)
	if err != nil || n != 20-1 {
		t.Fatalf("bob's class changed: recorded %d (%v), want 19", n, err)
	}
	cur := current()
	for i, e := range events {
		f, ok := cur["db:"+e.ID]
		want := model.Pass
		if e.Principal == "bob" && e.ID != "e004" {
			want = model.Fail
		}
		if !ok || f.Outcome != want || !f.OccurredAt.Equal(e.Time) {
			t.Errorf("event %d (%s): current verdict %+v, want %s at %s", i, e.Principal, f, want, e.Time)
		}
	}
	// carol's class fails too, seen by before first.
	var handed int
	n, err = s.RecordClassVerdicts(ctx, "db", rules, verdicts("carol"), nil, base.Add(3*time.Hour), func(fs []model.Finding) error {
		handed += len(fs)
		return nil
	})
	// carol's 20 fail, bob's 19 pass again, e004 stays pass.
	if err != nil || n != 39 || handed != 39 {
		t.Fatalf("carol's class changed: recorded %d, handed %d (%v), want 39", n, handed, err)
	}
	// Nothing changed.
	n, err = s.RecordClassVerdicts(ctx, "db", rules, verdicts("carol"), nil, base.Add(4*time.Hour), nil)
	if err != nil || n != 0 {
		t.Fatalf("nothing changed: recorded %d (%v)", n, err)
	}
	cur = current()
	for _, e := range events {
		want := model.Pass
		if e.Principal == "carol" {
			want = model.Fail
		}
		if f := cur["db:"+e.ID]; f.Outcome != want {
			t.Errorf("%s (%s): %s, want %s", e.ID, e.Principal, f.Outcome, want)
		}
	}
}
