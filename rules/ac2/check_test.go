package ac2

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

var at = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func event(id, system, principal, result, role, ticket string) model.AccessEvent {
	return model.AccessEvent{ID: id, System: system, Time: at, Principal: principal, Action: "exec",
		Result: result, Role: role, Ticket: ticket, Format: "generic"}
}

func testEnv() control.Env {
	return control.Env{
		Policy:     control.DefaultPolicy(),
		Identities: model.NewIdentities([]model.Identity{{Name: "alice", Logins: []string{"alice-admin"}}}),
		Systems: map[string]control.System{
			"prod-k8s": {Authorized: []string{"alice"}, BreakGlassRoles: []string{"break-glass", "cluster-admin"}},
			"bastion":  {Authorized: []string{"alice"}},
		},
	}
}

func TestCheckAccess(t *testing.T) {
	tests := []struct {
		name    string
		event   model.AccessEvent
		pattern *regexp.Regexp // nil: the default
		outcome model.Outcome
		reason  string
		keys    []string
		person  string
	}{
		{
			name:    "ticket given",
			event:   event("1", "prod-k8s", "bob", "success", "break-glass", "OPS-12"),
			outcome: model.Pass, reason: "break-glass access by bob as break-glass with ticket OPS-12",
			keys: []string{"OPS-12"}, person: "bob",
		},
		{
			name:    "ticket inside a justification, role matched case-insensitively, alias named",
			event:   event("2", "prod-k8s", "alice-admin", "success", "Cluster-Admin", "db down, see INC-7 and OPS-3"),
			outcome: model.Pass, reason: "break-glass access by alice (as alice-admin) as Cluster-Admin with tickets INC-7, OPS-3",
			keys: []string{"INC-7", "OPS-3"}, person: "alice",
		},
		{
			name:    "no ticket",
			event:   event("3", "prod-k8s", "bob", "success", "break-glass", ""),
			outcome: model.Fail, reason: "break-glass access by bob as break-glass without a ticket matching [A-Z][A-Z0-9]+-[0-9]+",
			person: "bob",
		},
		{
			name:    "justification without a ticket key",
			event:   event("4", "prod-k8s", "bob", "success", "break-glass", "ops-12 urgent"),
			outcome: model.Fail,
			reason:  `break-glass access by bob as break-glass without a ticket matching [A-Z][A-Z0-9]+-[0-9]+ (given "ops-12 urgent")`,
			person:  "bob",
		},
		{
			name:    "failed attempt without a ticket",
			event:   event("5", "prod-k8s", "bob", "failure", "break-glass", ""),
			outcome: model.Fail,
			reason:  "break-glass access by bob as break-glass without a ticket matching [A-Z][A-Z0-9]+-[0-9]+ (attempt failed)",
			person:  "bob",
		},
		{
			name:    "failed attempt with a ticket",
			event:   event("6", "prod-k8s", "bob", "failure", "break-glass", "OPS-12"),
			outcome: model.Pass, reason: "break-glass access by bob as break-glass with ticket OPS-12 (attempt failed)",
			keys: []string{"OPS-12"}, person: "bob",
		},
		{
			name:    "policy pattern",
			event:   event("7", "prod-k8s", "bob", "success", "break-glass", "OPS-12"),
			pattern: regexp.MustCompile(`INC-[0-9]+`),
			outcome: model.Fail, reason: `break-glass access by bob as break-glass without a ticket matching INC-[0-9]+ (given "OPS-12")`,
			person: "bob",
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			if tc.pattern != nil {
				env.Policy.TicketPattern = tc.pattern
			}
			got := Control{}.CheckAccess(env, &model.AccessEvidence{System: "prod-k8s", Events: []model.AccessEvent{tc.event}})
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1: %+v", len(got), got)
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			if f.Rule != "AC-2" || f.Subject != "prod-k8s:"+tc.event.ID || f.Repo != "" || !f.OccurredAt.Equal(at) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			e := f.Evidence
			if e.Principal != tc.event.Principal || e.Person != tc.person || e.System != "prod-k8s" ||
				e.Role != tc.event.Role || e.Ticket != tc.event.Ticket || !slices.Equal(e.TicketKeys, tc.keys) {
				t.Errorf("evidence = %+v", e)
			}
			if !f.EvaluatedAt.IsZero() || f.Waiver != nil {
				t.Errorf("check set evaluator fields: %v %v", f.EvaluatedAt, f.Waiver)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "AC-2" || def.Name != "break-glass-justified" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

func TestSubjects(t *testing.T) {
	ev := &model.AccessEvidence{Events: []model.AccessEvent{
		event("1", "prod-k8s", "bob", "success", "", "OPS-1"),              // no role
		event("2", "prod-k8s", "bob", "success", "view", ""),               // not a break-glass role
		event("3", "bastion", "bob", "success", "break-glass", ""),         // not a break-glass role there
		event("4", "laptop", "bob", "success", "break-glass", ""),          // out of scope
		event("5", "prod-k8s", "bob", "success", "break-glass", "OPS-1"),   // judged
		event("6", "PROD-K8S", "bob", "success", "BREAK-GLASS", "nothing"), // judged
	}}
	var got []string
	env := testEnv()
	env.Policy.TicketPattern = nil // a policy built without a pattern uses the default
	for _, f := range (Control{}).CheckAccess(env, ev) {
		got = append(got, f.Subject+" "+string(f.Outcome))
	}
	if want := []string{"prod-k8s:5 pass", "PROD-K8S:6 fail"}; !slices.Equal(got, want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
}
