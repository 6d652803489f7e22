package cm4

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

const (
	shaPush  = "3f786850e387550fdab836ed7e6dc881de23001b"
	shaHead  = "2ef7bde608ce5404e97d5f042f95f89f1c232871"
	shaMerge = "89e6c98d92887913cadf06b2adb97f26cde4849b"
)

var at = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func pr(title, branch, body string) model.Change {
	return model.Change{
		Subject: "acme/pay#42", Kind: model.KindPullRequest, Repo: "acme/pay",
		OccurredAt: at, URL: "https://github.com/acme/pay/pull/42",
		Number: 42, Author: "alice", MergedBy: "bob", Title: title, HeadRef: branch, Body: body,
		HeadSHA: shaHead, MergeCommitSHA: shaMerge,
	}
}

func push(messages ...string) model.Change {
	return model.Change{
		Subject: "acme/pay@" + shaPush, Kind: model.KindDirectPush, Repo: "acme/pay",
		OccurredAt: at, URL: "https://github.com/acme/pay/commit/" + shaPush,
		SHA: shaPush, Pusher: "mallory", Messages: messages,
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		change  model.Change
		pattern *regexp.Regexp
		outcome model.Outcome
		reason  string
		keys    []string
	}{
		{
			name:    "ticket in title",
			change:  pr("PAY-123: fix rounding", "fix-rounding", "Rounds half even."),
			outcome: model.Pass, reason: "ticket PAY-123 in title", keys: []string{"PAY-123"},
		},
		{
			name:    "same key in title and branch, another in body",
			change:  pr("PAY-2 refunds", "feature/PAY-2-refunds", "Also closes OPS-10 and PAY-2."),
			outcome: model.Pass, reason: "tickets OPS-10, PAY-2 in title, branch, body", keys: []string{"OPS-10", "PAY-2"},
		},
		{
			name:    "keys in branch only, sorted unique",
			change:  pr("refunds", "PAY-2+PAY-1+PAY-2", ""),
			outcome: model.Pass, reason: "tickets PAY-1, PAY-2 in branch", keys: []string{"PAY-1", "PAY-2"},
		},
		{
			name:    "ticket in body",
			change:  pr("fix rounding", "fix-rounding", "Fixes https://jira.example.com/browse/PAY-77"),
			outcome: model.Pass, reason: "ticket PAY-77 in body", keys: []string{"PAY-77"},
		},
		{
			name:    "no ticket in a pull request",
			change:  pr("fix rounding", "feature/pay-123", "lower case does not match"),
			outcome: model.Fail, reason: "no ticket matching [A-Z][A-Z0-9]+-[0-9]+ in title, branch or body",
		},
		{
			name:    "custom pattern",
			change:  pr("fix rounding #4711", "fix", ""),
			pattern: regexp.MustCompile(`#[0-9]+`),
			outcome: model.Pass, reason: "ticket #4711 in title", keys: []string{"#4711"},
		},
		{
			name:    "custom pattern, no match",
			change:  pr("PAY-1 fix", "fix", ""),
			pattern: regexp.MustCompile(`#[0-9]+`),
			outcome: model.Fail, reason: "no ticket matching #[0-9]+ in title, branch or body",
		},
		{
			name:    "direct push with a ticket in one commit message",
			change:  push("wip", "OPS-9 hot config fix"),
			outcome: model.Pass, reason: "ticket OPS-9 in commit messages", keys: []string{"OPS-9"},
		},
		{
			name:    "direct push with several tickets",
			change:  push("OPS-9 config", "PAY-3 and OPS-9"),
			outcome: model.Pass, reason: "tickets OPS-9, PAY-3 in commit messages", keys: []string{"OPS-9", "PAY-3"},
		},
		{
			name:    "direct push without a ticket",
			change:  push("wip", "fix"),
			outcome: model.Fail, reason: "no ticket matching [A-Z][A-Z0-9]+-[0-9]+ in commit messages",
		},
	}
	var seen []model.Outcome
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := control.Env{Policy: control.DefaultPolicy(), Now: at}
			env.Policy.RequireTicket = true
			if tc.pattern != nil {
				env.Policy.TicketPattern = tc.pattern
			}
			got := Control{}.Check(env, &model.RepoEvidence{Repo: "acme/pay", Changes: []model.Change{tc.change}})
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			seen = append(seen, f.Outcome)
			if f.Rule != "CM-4" || f.Subject != tc.change.Subject || f.Repo != "acme/pay" || !f.OccurredAt.Equal(at) {
				t.Errorf("rule/subject/repo/occurred = %q %q %q %v", f.Rule, f.Subject, f.Repo, f.OccurredAt)
			}
			if f.Outcome != tc.outcome {
				t.Errorf("outcome = %q, want %q", f.Outcome, tc.outcome)
			}
			if f.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", f.Reason, tc.reason)
			}
			e := f.Evidence
			if !slices.Equal(e.TicketKeys, tc.keys) {
				t.Errorf("ticket keys = %q, want %q", e.TicketKeys, tc.keys)
			}
			if e.URL != tc.change.URL || e.SHA != tc.change.SHA || e.Pusher != tc.change.Pusher ||
				e.HeadSHA != tc.change.HeadSHA || e.MergeCommitSHA != tc.change.MergeCommitSHA || e.Author != tc.change.Author {
				t.Errorf("evidence = %+v", e)
			}
		})
	}
	def := Control{}.Definition()
	if def.ID != "CM-4" || def.Name != "ticket-linked" {
		t.Errorf("definition names %s %s", def.ID, def.Name)
	}
	if err := control.ValidateDefinition(def, seen...); err != nil {
		t.Error(err)
	}
}

func TestOffUnlessRequired(t *testing.T) {
	env := control.Env{Policy: control.DefaultPolicy(), Now: at}
	if got := (Control{}).Check(env, &model.RepoEvidence{Changes: []model.Change{push("wip")}}); len(got) != 0 {
		t.Errorf("got %+v, want no findings with require_ticket false", got)
	}
}

func TestMissingPatternUsesDefault(t *testing.T) {
	env := control.Env{Policy: control.Policy{RequireTicket: true}, Now: at}
	got := Control{}.Check(env, &model.RepoEvidence{Changes: []model.Change{push("PAY-5 fix")}})
	if len(got) != 1 || got[0].Outcome != model.Pass || got[0].Reason != "ticket PAY-5 in commit messages" {
		t.Errorf("got %+v", got)
	}
}
