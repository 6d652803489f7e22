package alert_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert"
	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/model"
)

func TestDecide(t *testing.T) {
	waived := prFinding("CM-2", 5, model.Waived, "approved only by the author (octocat)")
	changed := []model.Finding{
		prFinding("CM-2", 7, model.Fail, "approved only by the author (octocat)"),
		prFinding("CM-2", 7, model.Fail, "a new reason, same transition"), // same id: once
		prFinding("CM-1", 7, model.Pass, "merged via pull request #7"),
		prFinding("CM-4", 7, model.Fail, "no ticket"), // CM-4 is not alerted
		waived,
		prFinding("CM-3", 8, model.Pending, ""),
		pushFinding(sha1, model.Fail),
		pushFinding(sha2, model.NotApplicable),
		{Rule: "CM-5", Subject: "payments@production@d-1", Outcome: model.Fail, Repo: "acme/pay"},
		{Rule: "CM-6", Subject: "acme/pay:protection@g-1", Outcome: model.Fail, Repo: "acme/pay"},
		prFinding("CM-7", 7, model.Fail, `required check "ci/test" concluded failure on 9f8e7d6c…`),
		prFinding("CM-7", 8, model.Pass, "required checks passed"),
		accessFinding("AC-1", "e1", model.Fail, "bob is not authorized on bastion"),
		accessFinding("AC-1", "e2", model.NotApplicable, "break-glass"),
		accessFinding("AC-2", "e2", model.Pass, "break-glass access by alice as root with ticket OPS-1"),
		accessFinding("AC-2", "e3", model.Fail, "break-glass access by alice as root without a ticket"),
		accessFinding("AC-2", "e4", model.Waived, "waived"),
		accessFinding("AC-2", "e5", model.Error, "could not read"),
		accessFinding("AC-3", "e6", model.Fail, "access after termination"),
		{Rule: "AC-3", Subject: "acme/pay#9/review/55", Outcome: model.Fail, Repo: "acme/pay"},
	}
	got := alert.Decide(changed, t0, 2*time.Minute)
	type row struct {
		ID  string
		Due time.Duration
	}
	var rows []row
	for _, a := range got {
		rows = append(rows, row{a.ID, a.DueAt.Sub(a.CreatedAt)})
		if !a.CreatedAt.Equal(t0) || a.State != "queued" || a.Finding.Subject != a.Subject || a.Rule != a.Finding.Rule {
			t.Errorf("alert %s: %+v", a.ID, a)
		}
	}
	want := []row{
		{"CM-2|acme/pay#7|fail", 0},
		{"CM-1|acme/pay@" + sha1 + "|fail", 2 * time.Minute}, // direct push: waits for a late pull_request
		{"CM-5|payments@production@d-1|fail", 0},
		{"CM-6|acme/pay:protection@g-1|fail", 0},
		{"CM-7|acme/pay#7|fail", 0},
		{"AC-1|bastion:e1|fail", 0},
		{"AC-2|bastion:e2|break-glass", 0},
		{"AC-2|bastion:e3|break-glass", 0},
		{"AC-2|bastion:e4|break-glass", 0},
		{"AC-3|bastion:e6|fail", 0},
		{"AC-3|acme/pay#9/review/55|fail", 0},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("Decide:\n got %v\nwant %v", rows, want)
	}
	if got[0].Finding.Reason != "approved only by the author (octocat)" {
		t.Errorf("the first finding of an id is kept, got %q", got[0].Finding.Reason)
	}
	if n := len(alert.Decide(changed, t0, 0)); n != len(want) {
		t.Errorf("grace 0: %d alerts", n)
	}
	if a := alert.Decide(changed[6:7], t0, 0)[0]; !a.DueAt.Equal(t0) {
		t.Errorf("grace 0: direct push due at %v, want now", a.DueAt)
	}
}

func TestIsDirectPush(t *testing.T) {
	for s, want := range map[string]bool{
		"acme/pay@" + sha1:             true,
		"acme/pay@1a2b3c4":             true,
		"acme/pay#7":                   false,
		"payments@production@d-1":      false,
		"acme/pay:protection@1a2b3c4d": false,
		"bastion:e1":                   false,
		"acme/pay@not-a-sha":           false,
	} {
		if got := alert.IsDirectPush(s); got != want {
			t.Errorf("IsDirectPush(%q) = %v", s, got)
		}
	}
}

func TestEvidenceURL(t *testing.T) {
	for _, tc := range []struct {
		a    outbox.Alert
		base string
		want string
	}{
		{outbox.Alert{Rule: "CM-2", Subject: "acme/pay#7", Transition: "fail"}, api + "/", api + "/v1/changes/acme/pay/7"},
		{outbox.Alert{Rule: "AC-3", Subject: "acme/pay#7/review/99", Transition: "fail"}, api, api + "/v1/changes/acme/pay/7"},
		{outbox.Alert{Rule: "CM-1", Subject: "acme/pay@" + sha1, Transition: "fail"}, api, api + "/v1/changes/acme/pay/commit/" + sha1},
		{outbox.Alert{Rule: "CM-6", Subject: "acme/pay:protection@g-1", Repo: "acme/pay", Transition: "fail"}, api,
			api + "/v1/findings?outcome=fail&repo=acme%2Fpay&rule=CM-6"},
		{outbox.Alert{Rule: "AC-2", Subject: "bastion:e2", Transition: "break-glass"}, api, api + "/v1/findings?rule=AC-2"},
		{outbox.Alert{Rule: "CM-2", Subject: "acme/pay#7", Transition: "fail"}, "", ""},
	} {
		if got := alert.EvidenceURL(tc.base, tc.a); got != tc.want {
			t.Errorf("EvidenceURL(%q, %s) = %q, want %q", tc.base, tc.a.Subject, got, tc.want)
		}
	}
}
