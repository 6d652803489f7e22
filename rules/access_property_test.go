package rules_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest/access"
	"github.com/changeproof/changeproof/internal/testkit/demoorg"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
	"github.com/changeproof/changeproof/store/storetest"
)

// TestAccessJudgedByClassEqualsEventByEvent: over generated organisations'
// access logs in their real formats (generic, k8s-audit, sshd and the
// others demoorg writes), read by the product's parsers, the full access
// evaluation (events of one class judged once) and the judging of new
// uploads (no verdict read) record exactly the findings the controls give
// each event (EvaluateAccess), waivers included.
func TestAccessJudgedByClassEqualsEventByEvent(t *testing.T) {
	ctx := context.Background()
	for _, seed := range []int64{1, 7, 23} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			hist := demoorg.Generate(demoorg.Options{Seed: seed, PRs: 60, Operations: true})
			x := hist.Expect
			env := control.Env{Policy: control.DefaultPolicy(), Identities: model.NewIdentities(x.Identities),
				Systems: map[string]control.System{}}
			for name, s := range x.Systems {
				env.Systems[name] = control.System{Authorized: s.Authorized, BreakGlassRoles: s.BreakGlassRoles}
			}
			var events []model.AccessEvent
			received := time.Now().UTC()
			for _, up := range hist.Access {
				o := access.Options{Format: access.Format(up.Format), System: up.System,
					BreakGlassRoles: x.Systems[up.System].BreakGlassRoles, Now: func() time.Time { return x.Now }}
				if _, err := access.Read(bytes.NewReader(up.Body), o, 1000, func(es []model.AccessEvent) error {
					for _, e := range es {
						e.ReceivedAt = received
						events = append(events, e)
					}
					return nil
				}); err != nil {
					t.Fatalf("read %s upload of %s: %v", up.Format, up.System, err)
				}
			}
			if len(events) < 50 {
				t.Fatalf("only %d events generated", len(events))
			}
			// Waive an event of each in-scope system, and one by an
			// expired waiver.
			var waivers []model.Waiver
			seen := map[string]bool{}
			for _, e := range events {
				if _, ok := env.Systems[e.System]; ok && !seen[e.System] {
					seen[e.System] = true
					waivers = append(waivers, model.Waiver{Rule: "AC-1", Subject: e.System + ":" + e.ID, Reason: "ok",
						ApprovedBy: "ciso", Expires: x.Now.Add(24 * time.Hour)},
						model.Waiver{Rule: "AC-2", Subject: e.System + ":" + e.ID, Reason: "old", ApprovedBy: "ciso",
							Expires: x.Now.Add(-time.Hour)})
				}
			}
			eval := func(st rules.Store) *rules.Evaluator {
				return &rules.Evaluator{AccessControls: rules.BuiltinAccess(), Store: st,
					Env: func() control.Env { return env }, Waivers: func() []model.Waiver { return waivers },
					Now: func() time.Time { return x.Now }}
			}

			// Every event judged by the controls themselves (no class
			// shared), through the path that reads verdicts.
			alone := storetest.Open(t)
			ev := eval(alone)
			if _, err := ev.EvaluateAccess(ctx, events); err != nil {
				t.Fatal(err)
			}
			want := allFindings(t, alone)
			if len(want) == 0 {
				t.Fatal("no findings")
			}

			// The full evaluation of the stored events, by class.
			bulk := storetest.Open(t)
			if err := bulk.WriteAccess(ctx, events); err != nil {
				t.Fatal(err)
			}
			r := &rules.Runner{Eval: eval(bulk), Repos: bulk.Repos, AccessSystems: bulk.AccessSystems, AccessPage: bulk.AccessEvents}
			rep, err := r.Full(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sameFindings(t, "judged by class", want, allFindings(t, bulk))
			if rep.Changed != len(want) {
				t.Fatalf("judged by class: %d findings recorded, %d reported", len(want), rep.Changed)
			}

			// New uploads, judged without reading verdicts.
			fresh := storetest.Open(t)
			ev = eval(fresh)
			for i := 0; i < len(events); i += 37 {
				if _, err := ev.EvaluateNewAccess(ctx, events[i:min(i+37, len(events))]); err != nil {
					t.Fatal(err)
				}
			}
			sameFindings(t, "judged as new", want, allFindings(t, fresh))
		})
	}
}

func sameFindings(t *testing.T, what string, want, got []model.Finding) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	for i := range min(len(want), len(got)) {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Fatalf("%s: finding %d differs:\nevent by event %+v\ngot   %+v", what, i, want[i], got[i])
		}
	}
	t.Fatalf("%s: %d findings event by event, %d", what, len(want), len(got))
}
