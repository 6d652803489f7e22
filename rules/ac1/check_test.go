package ac1

import (
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

var at = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func event(id, system, principal, result, role string) model.AccessEvent {
	return model.AccessEvent{ID: id, System: system, Time: at, Principal: principal, Action: "login",
		Result: result, Role: role, Ticket: "OPS-1", Format: "generic"}
}

func testEnv() control.Env {
	return control.Env{
		Policy: control.DefaultPolicy(),
		Identities: model.NewIdentities([]model.Identity{
			{Name: "alice", Logins: []string{"alice", "alice-admin", "alice@acme.io"}},
			{Name: "Bob", Logins: []string{"bob-ops"}},
		}),
		Systems: map[string]control.System{
			"prod-k8s": {Authorized: []string{"alice", "bob-ops"}, BreakGlassRoles: []string{"break-glass", "cluster-admin"}},
			"bastion":  {Authorized: []string{"ALICE@acme.io"}},
			"aws": {Authorized: []string{"arn:aws:sts::123456789012:assumed-role/deploy-*", "system:serviceaccount:kube-system:*",
				"al?ce", "ops-[ab]"}},
		},
	}
}

func TestCheckAccess(t *testing.T) {
	tests := []struct {
		name     string
		event    model.AccessEvent
		outcome  model.Outcome
		reason   string
		person   string
		evSystem string // AccessEvidence.System, when the event lacks one
	}{
		{
			name:    "authorized by identity name",
			event:   event("1", "prod-k8s", "alice", "success", ""),
			outcome: model.Pass, reason: "alice is authorized on prod-k8s", person: "alice",
		},
		{
			name:    "another login of an authorized person",
			event:   event("2", "prod-k8s", "Alice-Admin", "success", "view"),
			outcome: model.Pass, reason: "alice (as Alice-Admin) is authorized on prod-k8s", person: "alice",
		},
		{
			name:    "authorized list names a login; the person's other login counts",
			event:   event("3", "prod-k8s", "Bob", "success", ""),
			outcome: model.Pass, reason: "Bob is authorized on prod-k8s", person: "Bob",
		},
		{
			name:    "authorized list entry is an alias of the principal's person",
			event:   event("4", "bastion", "alice-admin", "success", ""),
			outcome: model.Pass, reason: "alice (as alice-admin) is authorized on bastion", person: "alice",
		},
		{
			name:    "authorized, attempt failed",
			event:   event("5", "bastion", "alice", "failure", ""),
			outcome: model.Pass, reason: "alice is authorized on bastion (attempt failed)", person: "alice",
		},
		{
			name:    "not authorized",
			event:   event("6", "prod-k8s", "mallory", "success", ""),
			outcome: model.Fail, reason: "mallory is not authorized on prod-k8s", person: "mallory",
		},
		{
			name:    "not authorized on this system though authorized on another",
			event:   event("7", "bastion", "bob-ops", "success", ""),
			outcome: model.Fail, reason: "Bob (as bob-ops) is not authorized on bastion", person: "Bob",
		},
		{
			name:    "unauthorized failed attempt is still judged",
			event:   event("8", "bastion", "mallory", "FAILURE", ""),
			outcome: model.Fail, reason: "mallory is not authorized on bastion (attempt failed)", person: "mallory",
		},
		{
			name:    "break-glass role is AC-2's, even for an unauthorized person",
			event:   event("9", "prod-k8s", "mallory", "success", "Break-Glass"),
			outcome: model.NotApplicable, reason: "break-glass access by mallory as Break-Glass: judged by AC-2", person: "mallory",
		},
		{
			name:    "no principal",
			event:   event("10", "prod-k8s", "", "success", ""),
			outcome: model.Error, reason: "access event on prod-k8s names no principal",
		},
		{
			name:     "system from the evidence when the event lacks it",
			event:    event("11", "", "alice", "success", ""),
			evSystem: "bastion",
			outcome:  model.Pass, reason: "alice is authorized on bastion", person: "alice",
		},
		{
			name:    "glob pattern matches an assumed-role session",
			event:   event("13", "aws", "arn:aws:sts::123456789012:assumed-role/deploy-prod/ci-4711", "success", ""),
			outcome: model.Pass, reason: "arn:aws:sts::123456789012:assumed-role/deploy-prod/ci-4711 is authorized on aws",
			person: "arn:aws:sts::123456789012:assumed-role/deploy-prod/ci-4711",
		},
		{
			name:    "glob pattern: another role is not matched",
			event:   event("14", "aws", "arn:aws:sts::123456789012:assumed-role/admin/ci-4711", "success", ""),
			outcome: model.Fail, reason: "arn:aws:sts::123456789012:assumed-role/admin/ci-4711 is not authorized on aws",
			person: "arn:aws:sts::123456789012:assumed-role/admin/ci-4711",
		},
		{
			name:    "glob pattern matches a service account",
			event:   event("15", "aws", "system:serviceaccount:kube-system:elastic-agent", "success", ""),
			outcome: model.Pass, reason: "system:serviceaccount:kube-system:elastic-agent is authorized on aws",
			person: "system:serviceaccount:kube-system:elastic-agent",
		},
		{
			name:    "glob pattern is whole-string: another namespace is not matched",
			event:   event("16", "aws", "system:serviceaccount:default:kube-system:x", "success", ""),
			outcome: model.Fail, reason: "system:serviceaccount:default:kube-system:x is not authorized on aws",
			person: "system:serviceaccount:default:kube-system:x",
		},
		{
			name:    "glob pattern matches after identity mapping",
			event:   event("17", "aws", "alice@acme.io", "success", ""),
			outcome: model.Pass, reason: "alice (as alice@acme.io) is authorized on aws", person: "alice",
		},
		{
			name:    "character class",
			event:   event("18", "aws", "OPS-B", "success", ""),
			outcome: model.Pass, reason: "OPS-B is authorized on aws", person: "OPS-B",
		},
		{
			name:    "character class: outside the set",
			event:   event("19", "aws", "ops-c", "success", ""),
			outcome: model.Fail, reason: "ops-c is not authorized on aws", person: "ops-c",
		},
		{
			name:    "system name matched case-insensitively",
			event:   event("12", "Bastion", "mallory", "success", ""),
			outcome: model.Fail, reason: "mallory is not authorized on Bastion", person: "mallory",
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Control{}.CheckAccess(testEnv(), &model.AccessEvidence{System: tc.evSystem, Events: []model.AccessEvent{tc.event}})
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1: %+v", len(got), got)
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			system := tc.event.System
			if system == "" {
				system = tc.evSystem
			}
			if f.Rule != "AC-1" || f.Subject != system+":"+tc.event.ID || f.Repo != "" || !f.OccurredAt.Equal(at) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			e := f.Evidence
			if e.Principal != tc.event.Principal || e.Person != tc.person || e.System != system || e.Role != tc.event.Role {
				t.Errorf("evidence = %+v", e)
			}
			if !f.EvaluatedAt.IsZero() || f.Waiver != nil {
				t.Errorf("check set evaluator fields: %v %v", f.EvaluatedAt, f.Waiver)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "AC-1" || def.Name != "access-authorized" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

func TestOutOfScopeSystemsProduceNothing(t *testing.T) {
	ev := &model.AccessEvidence{Events: []model.AccessEvent{
		event("1", "laptop", "mallory", "success", ""),
		event("2", "prod-k8s", "alice", "success", ""),
		event("3", "", "mallory", "success", ""),
	}}
	var subjects []string
	for _, f := range (Control{}).CheckAccess(testEnv(), ev) {
		subjects = append(subjects, f.Subject)
	}
	if want := []string{"prod-k8s:2"}; !slices.Equal(subjects, want) {
		t.Errorf("subjects = %v, want %v", subjects, want)
	}
	if fs := (Control{}).CheckAccess(control.Env{}, ev); len(fs) != 0 {
		t.Errorf("no systems configured, got %+v", fs)
	}
}
