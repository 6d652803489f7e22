package access

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

func sshdOptions() Options { return Options{Format: SSHD, System: "bastion-prod", Now: fixedNow} }

func sshdID(system, line string) string {
	sum := sha256.Sum256([]byte(system + "\n" + line))
	return hex.EncodeToString(sum[:])
}

func TestSSHDSamples(t *testing.T) {
	input := readFile(t, "testdata/sshd-auth.log")
	evs, res := readAll(t, input, sshdOptions(), 3)
	// Skipped: 2 pam_unix session, Connection closed, Received disconnect,
	// Disconnected, CRON, Partial.
	if res.Skipped != 7 || len(res.Rejected) != 0 {
		t.Fatalf("result %+v, want 7 skipped and none rejected", res)
	}
	at := func(h, m, s int) time.Time { return time.Date(2026, 3, 2, h, m, s, 0, time.UTC) }
	want := []model.AccessEvent{
		{Raw: lineOf(input, 1), Time: at(10, 15, 3), Principal: "alice", Action: "ssh login (publickey)", Result: "success", SourceIP: "10.0.0.5"},
		{Raw: lineOf(input, 3), Time: at(10, 16, 41), Principal: "admin", Action: "ssh login (invalid user)", Result: "failure", SourceIP: "203.0.113.9"},
		{Raw: lineOf(input, 4), Time: at(10, 16, 43), Principal: "admin", Action: "ssh login (password, invalid user)", Result: "failure", SourceIP: "203.0.113.9"},
		{Raw: lineOf(input, 6), Time: at(10, 20, 11), Principal: "bob", Action: "ssh login (password)", Result: "failure", SourceIP: "10.0.0.7"},
		{Raw: lineOf(input, 7), Time: at(10, 20, 15), Principal: "bob", Action: "ssh login (password)", Result: "success", SourceIP: "10.0.0.7"},
		{Raw: lineOf(input, 8), Time: at(10, 21, 0), Principal: "carol", Action: "ssh login (keyboard-interactive/pam)", Result: "success", SourceIP: "10.0.0.8"},
		{Raw: lineOf(input, 14), Time: at(10, 40, 0).Add(123456 * time.Microsecond), Principal: "dave", Action: "ssh login (gssapi-with-mic)", Result: "success", SourceIP: "10.0.0.9"},
		{Raw: lineOf(input, 15), Time: at(10, 41, 0).Add(500 * time.Millisecond), Principal: "erin", Action: "ssh login (publickey)", Result: "success", SourceIP: "2001:db8::5"},
		{Raw: lineOf(input, 17), Time: at(10, 43, 0), Principal: "oracle", Action: "ssh login (invalid user)", Result: "failure", SourceIP: "198.51.100.23"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		w.ID = sshdID("bastion-prod", w.Raw)
		w.System, w.Source, w.Format, w.ReceivedAt = "bastion-prod", "sshd@bastion", "sshd", testNow
		if evs[i] != w {
			t.Errorf("event %d\n got  %+v\n want %+v", i, evs[i], w)
		}
		if evs[i].Time.Location() != time.UTC {
			t.Errorf("event %d time not UTC", i)
		}
	}
}

func TestSSHDIdempotentID(t *testing.T) {
	line := "Mar  2 10:15:03 bastion sshd[12345]: Accepted publickey for alice from 10.0.0.5 port 52811 ssh2"
	input := line + "\n" + line + "\n"
	evs, _ := readAll(t, input, sshdOptions(), 10)
	if len(evs) != 2 || evs[0].ID != evs[1].ID || evs[0].ID != sshdID("bastion-prod", line) {
		t.Fatalf("ids %v", evs)
	}
	o := sshdOptions()
	o.System = "bastion-dr"
	ev, _, _ := ParseLine([]byte(line), o)
	if ev.ID == evs[0].ID {
		t.Errorf("same line on another system got the same id")
	}
}

func TestSSHDVariants(t *testing.T) {
	cases := []struct {
		name, line        string
		principal, action string
		result, ip        string
		time              time.Time
	}{
		{"zero-padded day", "Mar 02 10:15:03 bastion sshd[1]: Accepted publickey for alice from 10.0.0.5 port 22 ssh2",
			"alice", "ssh login (publickey)", "success", "10.0.0.5", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"PRI prefix", "<38>Mar  2 10:15:03 bastion sshd[1]: Failed publickey for alice from 10.0.0.5 port 22 ssh2: ECDSA SHA256:abc",
			"alice", "ssh login (publickey)", "failure", "10.0.0.5", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"no pid", "Mar  2 10:15:03 bastion sshd: Accepted password for root from 192.0.2.1 port 22 ssh2",
			"root", "ssh login (password)", "success", "192.0.2.1", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"no ssh2", "Mar  2 10:15:03 bastion sshd[1]: Accepted publickey for alice from 10.0.0.5 port 22",
			"alice", "ssh login (publickey)", "success", "10.0.0.5", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"user with spaces", "Mar  2 10:15:03 bastion sshd[1]: Invalid user test user from 10.0.0.5 port 22",
			"test user", "ssh login (invalid user)", "failure", "10.0.0.5", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"failed none invalid", "Mar  2 10:15:03 bastion sshd[1]: Failed none for invalid user guest from 10.0.0.5 port 22 ssh2",
			"guest", "ssh login (none, invalid user)", "failure", "10.0.0.5", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"journalctl short-iso", "2026-03-02T10:15:03+0000 bastion sshd[1]: Accepted hostbased for svc from 10.0.0.5 port 22 ssh2: RSA SHA256:x",
			"svc", "ssh login (hostbased)", "success", "10.0.0.5", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
		{"sshd-auth", "2026-03-02T10:15:03Z bastion sshd-auth[7]: Accepted publickey for alice from ::1 port 22 ssh2",
			"alice", "ssh login (publickey)", "success", "::1", time.Date(2026, 3, 2, 10, 15, 3, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, skip, err := ParseLine([]byte(c.line), sshdOptions())
			if err != nil || skip {
				t.Fatalf("skip=%v err=%v", skip, err)
			}
			if ev.Principal != c.principal || ev.Action != c.action || ev.Result != c.result ||
				ev.SourceIP != c.ip || !ev.Time.Equal(c.time) || ev.Raw != c.line {
				t.Errorf("got %+v", ev)
			}
		})
	}
}

func TestSSHDLocation(t *testing.T) {
	o := sshdOptions()
	o.Location = time.FixedZone("CET", 3600)
	ev, _, err := ParseLine([]byte("Mar  2 10:15:03 bastion sshd[1]: Accepted publickey for a from 10.0.0.5 port 22 ssh2"), o)
	if err != nil || !ev.Time.Equal(time.Date(2026, 3, 2, 9, 15, 3, 0, time.UTC)) || ev.Time.Location() != time.UTC {
		t.Errorf("time %v err %v, want 09:15:03 UTC", ev.Time, err)
	}
}

func TestSSHDYearRollover(t *testing.T) {
	cases := []struct {
		now   time.Time
		stamp string
		want  time.Time
	}{
		// Read on New Year's morning: last night's lines are last year's.
		{time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC), "Dec 31 23:59:58", time.Date(2025, 12, 31, 23, 59, 58, 0, time.UTC)},
		{time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC), "Jan  1 00:09:00", time.Date(2026, 1, 1, 0, 9, 0, 0, time.UTC)},
		// Up to a day ahead (clock skew, zones) stays this year.
		{time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC), "Jan  2 00:09:00", time.Date(2026, 1, 2, 0, 9, 0, 0, time.UTC)},
		{time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC), "Jan  2 00:11:00", time.Date(2025, 1, 2, 0, 11, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), "Dec 31 22:00:00", time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC)},
		{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), "Jul  1 00:00:00", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)},
		// Feb 29 exists only in leap years.
		{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), "Feb 29 12:00:00", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)},
		{time.Date(2028, 3, 2, 0, 0, 0, 0, time.UTC), "Feb 29 12:00:00", time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		o := sshdOptions()
		o.Now = func() time.Time { return c.now }
		line := c.stamp + " bastion sshd[1]: Accepted publickey for a from 10.0.0.5 port 22 ssh2"
		ev, _, err := ParseLine([]byte(line), o)
		if err != nil || !ev.Time.Equal(c.want) {
			t.Errorf("now %v, %q: time %v err %v, want %v", c.now, c.stamp, ev.Time, err, c.want)
		}
	}
}

func TestSSHDSkipped(t *testing.T) {
	lines := []string{
		"Mar  2 10:15:03 bastion sshd[1]: Connection closed by 10.0.0.5 port 22 [preauth]",
		"Mar  2 10:15:03 bastion sshd[1]: Postponed keyboard-interactive for alice from 10.0.0.5 port 22 ssh2 [preauth]",
		"Mar  2 10:15:03 bastion sshd[1]: Server listening on 0.0.0.0 port 22.",
		"Mar  2 10:15:03 bastion sshd[1]: error: maximum authentication attempts exceeded for root from 10.0.0.5 port 22 ssh2 [preauth]",
		"Mar  2 10:15:03 bastion sudo[99]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
		"Mar  2 10:15:03 bastion systemd[1]: Started OpenBSD Secure Shell server.",
		"Mar  2 10:15:03 bastion sshd[1]:",
	}
	for _, l := range lines {
		ev, skip, err := ParseLine([]byte(l), sshdOptions())
		if err != nil || !skip || ev != (model.AccessEvent{}) {
			t.Errorf("%q: skip=%v err=%v ev=%+v, want skipped", l, skip, err, ev)
		}
	}
}

func TestSSHDRejected(t *testing.T) {
	cases := []struct{ line, want string }{
		{"Accepted publickey for alice from 10.0.0.5 port 22 ssh2", errNoTimestamp.Error()},
		{`{"id":"e1","principal":"alice"}`, errNoTimestamp.Error()},
		{"Foo  2 10:15:03 bastion sshd[1]: Accepted publickey for a from 10.0.0.5 port 22 ssh2", errNoTimestamp.Error()},
		{"2026-03-02 10:15:03 bastion sshd[1]: x", errNoTimestamp.Error()},
		{"2026-13-02T10:15:03Z bastion sshd[1]: x", errNoTimestamp.Error()},
		{"Mar  2 10:15:03 ", errNoTag.Error()},
		{"Mar  2 10:15:03 bastion", errNoTag.Error()},
		{"Mar  2 10:15:03 bastion the quick brown fox", errNoTag.Error()},
		{"Mar  2 10:15:03 bastion sshd[12x]: Accepted", errNoTag.Error()},
		{"Mar  2 10:15:03 bastion [12]: Accepted", errNoTag.Error()},
	}
	for _, c := range cases {
		ev, skip, err := ParseLine([]byte(c.line), sshdOptions())
		if err == nil || skip || err.Error() != c.want {
			t.Errorf("%q: ev=%+v skip=%v err=%v, want %q", c.line, ev, skip, err, c.want)
		}
	}
}

func TestSSHDReadCounts(t *testing.T) {
	input := "Mar  2 10:15:03 bastion sshd[1]: Accepted publickey for a from 10.0.0.5 port 22 ssh2\n" +
		"not syslog\n" +
		"\n" +
		"Mar  2 10:15:04 bastion sshd[1]: Disconnected from user a 10.0.0.5 port 22\n" +
		"Mar  2 10:15:05 bastion sshd[2]: Failed password for b from 10.0.0.6 port 23 ssh2\n"
	evs, res := readAll(t, input, sshdOptions(), 1)
	if len(evs) != 2 || evs[0].Principal != "a" || evs[1].Principal != "b" || res.Skipped != 1 {
		t.Fatalf("events %+v result %+v", evs, res)
	}
	if len(res.Rejected) != 1 || res.Rejected[0] != (Rejected{2, errNoTimestamp.Error()}) {
		t.Errorf("rejected %+v", res.Rejected)
	}
}
