package alert_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/model"
)

func one(t *testing.T, f model.Finding) outbox.Alert {
	t.Helper()
	as := alert.Decide([]model.Finding{f}, t0, 2*time.Minute)
	if len(as) != 1 {
		t.Fatalf("Decide(%s %s) = %d alerts", f.Rule, f.Subject, len(as))
	}
	return as[0]
}

func TestMessagePullRequest(t *testing.T) {
	f := prFinding("CM-2", 7, model.Fail, "approved only by the author (octocat)")
	f.Evidence.MergedBy = "hubot"
	f.Evidence.Reviews = []model.ReviewVerdict{{Reviewer: "octocat", State: "approved"}, {Reviewer: "octocat", State: "commented"}}
	got := alert.Renderer{Names: names, APIBase: api}.Message(one(t, f))
	want := slack.Message{
		Text: "CM-2 independent-approval failed: acme/pay#7 (https://github.com/acme/pay/pull/7)\n" +
			"People: author octocat, merged by hubot, reviewed by octocat\n" +
			"Reason: approved only by the author (octocat)\n" +
			"Evidence: https://changeproof.acme.io/v1/changes/acme/pay/7",
		Blocks: []slack.Block{
			{Type: "header", Text: &slack.Text{Type: "plain_text", Text: "CM-2 independent-approval failed"}},
			{Type: "section", Text: &slack.Text{Type: "mrkdwn", Text: "*Subject:* <https://github.com/acme/pay/pull/7|acme/pay#7>\n" +
				"*People:* author octocat, merged by hubot, reviewed by octocat\n" +
				"*Reason:* approved only by the author (octocat)"}},
			{Type: "context", Elements: []slack.Text{
				{Type: "mrkdwn", Text: "<https://changeproof.acme.io/v1/changes/acme/pay/7|Evidence in changeproof>"},
				{Type: "mrkdwn", Text: "Occurred 2026-03-02T08:30:00Z"},
				{Type: "mrkdwn", Text: "Alert CM-2|acme/pay#7|fail"},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("message:\n%s\nwant\n%s", g, w)
	}
}

func TestMessageDirectPush(t *testing.T) {
	got := alert.Renderer{Names: names, APIBase: api}.Message(one(t, pushFinding(sha1, model.Fail)))
	wantText := "CM-1 change-via-pull-request failed: acme/pay@" + sha1 + " (https://github.com/acme/pay/commit/" + sha1 + ")\n" +
		"People: pushed by mallory\n" +
		"Reason: direct push of " + sha1 + " by mallory\n" +
		"Evidence: https://changeproof.acme.io/v1/changes/acme/pay/commit/" + sha1
	if got.Text != wantText {
		t.Errorf("text:\n%s\nwant\n%s", got.Text, wantText)
	}
	wantSection := "*Subject:* <https://github.com/acme/pay/commit/" + sha1 + "|acme/pay@" + sha1 + ">\n" +
		"*People:* pushed by mallory\n*Reason:* direct push of " + sha1 + " by mallory"
	if got.Blocks[1].Text.Text != wantSection {
		t.Errorf("section:\n%s\nwant\n%s", got.Blocks[1].Text.Text, wantSection)
	}
}

func TestMessageBreakGlassEscapesAndOmitsMissing(t *testing.T) {
	f := accessFinding("AC-2", "e<1>", model.Fail, `break-glass access by alice (as alice-admin) as root without a ticket matching [A-Z]+-[0-9]+ (given "fix & <go>")`)
	got := alert.Renderer{Names: names}.Message(one(t, f)) // no APIBase: no evidence link
	wantText := "AC-2 break-glass-justified: break-glass access (fail): bastion:e&lt;1&gt;\n" +
		"People: access by alice (as alice-admin)\n" +
		`Reason: break-glass access by alice (as alice-admin) as root without a ticket matching [A-Z]+-[0-9]+ (given "fix &amp; &lt;go&gt;")`
	if got.Text != wantText {
		t.Errorf("text:\n%s\nwant\n%s", got.Text, wantText)
	}
	if h := got.Blocks[0].Text.Text; h != "AC-2 break-glass-justified: break-glass access (fail)" {
		t.Errorf("header = %q", h)
	}
	if s := got.Blocks[1].Text.Text; !strings.HasPrefix(s, "*Subject:* bastion:e&lt;1&gt;\n*People:* access by alice (as alice-admin)\n") {
		t.Errorf("section = %q", s)
	}
	ctx := got.Blocks[2].Elements
	if len(ctx) != 2 || ctx[0].Text != "Occurred 2026-03-02T09:20:00Z" || ctx[1].Text != "Alert AC-2|bastion:e&lt;1&gt;|break-glass" {
		t.Errorf("context = %+v", ctx)
	}

	// An unnamed rule and no people.
	cm5 := model.Finding{Rule: "CM-5", Subject: "payments@production@d-1", Outcome: model.Fail, Repo: "acme/pay",
		Reason: "deployed commit " + sha3 + " is not on the default branch of acme/pay (unknown or unmerged code)"}
	got = alert.Renderer{APIBase: api}.Message(one(t, cm5))
	wantText = "CM-5 failed: payments@production@d-1\nPeople: none recorded\nReason: " + cm5.Reason +
		"\nEvidence: https://changeproof.acme.io/v1/findings?outcome=fail&amp;repo=acme%2Fpay&amp;rule=CM-5"
	if got.Text != wantText {
		t.Errorf("text:\n%s\nwant\n%s", got.Text, wantText)
	}
}

func TestPeople(t *testing.T) {
	for _, tc := range []struct {
		rule string
		e    model.Evidence
		want []string
	}{
		{"CM-6", model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: "eve"}}, []string{"changed by eve"}},
		{"AC-3", model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: "bob", MergedBy: "bob"}, PrincipalEvidence: model.PrincipalEvidence{Principal: "bob-old", Person: "bob"}},
			[]string{"author bob", "merged by bob", "person bob (as bob-old)"}},
		{"AC-1", model.Evidence{PrincipalEvidence: model.PrincipalEvidence{Principal: "carol", Person: "Carol", System: "db"}}, []string{"access by carol"}},
		{"CM-2", model.Evidence{}, nil},
	} {
		if got := alert.People(tc.rule, tc.e); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("People(%s, %+v) = %q, want %q", tc.rule, tc.e, got, tc.want)
		}
	}
}

func TestDigestMessage(t *testing.T) {
	var as []outbox.Alert
	for i := 1; i <= 25; i++ {
		as = append(as, one(t, prFinding("CM-2", i, model.Fail, "no approval")))
	}
	m := alert.Renderer{Names: names, APIBase: api}.Digest(as, 3)
	wantText := "changeproof digest: 25 alerts\n" +
		"• CM-2 independent-approval failed: acme/pay#1 (https://github.com/acme/pay/pull/1): no approval\n" +
		"• CM-2 independent-approval failed: acme/pay#2 (https://github.com/acme/pay/pull/2): no approval\n" +
		"• CM-2 independent-approval failed: acme/pay#3 (https://github.com/acme/pay/pull/3): no approval\n" +
		"…and 22 more.\n" +
		"All failing findings: https://changeproof.acme.io/v1/findings?outcome=fail"
	if m.Text != wantText {
		t.Errorf("digest text:\n%s\nwant\n%s", m.Text, wantText)
	}
	if len(m.Blocks) != 6 || m.Blocks[0].Text.Text != "changeproof digest: 25 alerts" ||
		m.Blocks[1].Text.Text != "*CM-2 independent-approval failed*: <https://github.com/acme/pay/pull/1|acme/pay#1>\nno approval · <https://changeproof.acme.io/v1/changes/acme/pay/1|evidence>" ||
		m.Blocks[4].Text.Text != "…and 22 more." {
		b, _ := json.MarshalIndent(m.Blocks, "", "  ")
		t.Errorf("digest blocks:\n%s", b)
	}
	if m := (alert.Renderer{}).Digest(as, 1000); len(m.Blocks) > slack.MaxBlocks {
		t.Errorf("digest of %d has %d blocks, Slack allows %d", len(as), len(m.Blocks), slack.MaxBlocks)
	}
}

func TestTestMessage(t *testing.T) {
	m := alert.TestMessage("host-1", t0)
	if m.Text != "changeproof alert test: This is a test message from changeproof (host-1). Alerts for failing change-management and access controls will be posted here." {
		t.Errorf("text = %q", m.Text)
	}
	if len(m.Blocks) != 3 || m.Blocks[0].Type != "header" || m.Blocks[2].Elements[0].Text != "Sent 2026-03-02T09:30:00Z" {
		t.Errorf("blocks = %+v", m.Blocks)
	}
}
