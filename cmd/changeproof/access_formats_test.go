package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// sample returns lines (1-based) of a real sample in ingest/access/testdata.
func sample(t *testing.T, file string, lines ...int) []string {
	t.Helper()
	b, err := os.ReadFile("../../ingest/access/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var out []string
	for _, n := range lines {
		out = append(out, all[n-1])
	}
	return out
}

const formatsConfig = `access:
  systems:
    bastion-eu: {authorized: [carol], timezone: Europe/Berlin}
    prod-k8s: {authorized: ["system:serviceaccount:kube-system:*"]}
    aws: {authorized: ["arn:aws:sts::111111111111:assumed-role/JohnDoe/*"]}
identities:
  - {name: carol, logins: [carol], terminated_at: 2026-02-02T00:45:00Z}
`

// TestAccessFormatsOverHTTP sends real samples of the document formats and
// syslog lines without a zone through POST /v1/access, and reads the
// verdicts: the configured time zone and ?timezone= move an AC-3 cut-off,
// glob patterns authorize service accounts and role sessions (AC-1).
func TestAccessFormatsOverHTTP(t *testing.T) {
	e := startOps(t, "ops_access_formats", formatsConfig)
	berlin := "Feb  2 01:30:00 bastion sshd[1]: Accepted publickey for carol from 10.0.0.7 port 52811 ssh2"
	utc := "Feb  2 01:30:00 bastion sshd[2]: Accepted publickey for carol from 10.0.0.7 port 52811 ssh2"
	if code, rep := e.post(t, "/v1/access?format=syslog&system=bastion-eu&year=2026", []byte(berlin+"\n")); code != http.StatusAccepted || rep.Accepted != 1 {
		t.Fatalf("syslog: %d %+v", code, rep)
	}
	if code, rep := e.post(t, "/v1/access?format=sshd&system=bastion-eu&year=2026&timezone=UTC", []byte(utc+"\n")); code != http.StatusAccepted || rep.Accepted != 1 {
		t.Fatalf("sshd ?timezone=UTC: %d %+v", code, rep)
	}
	if code, rep := e.post(t, "/v1/access?format=sshd&system=bastion-eu&timezone=Mars/Olympus", []byte(utc+"\n")); code != http.StatusBadRequest ||
		rep.Error != `timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Berlin)` {
		t.Fatalf("bad timezone: %d %+v", code, rep)
	}
	k8s := sample(t, "k8s-audit-elastic.ndjson", 2)[0]
	received := strings.Replace(k8s, `"stage":"ResponseComplete"`, `"stage":"RequestReceived"`, 1)
	list := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` + received + `,` + k8s + `]}`
	if code, rep := e.post(t, "/v1/access?format=k8s-audit&system=prod-k8s", []byte(list)); code != http.StatusAccepted || rep.Accepted != 1 || rep.Skipped != 1 {
		t.Fatalf("EventList: %d %+v", code, rep)
	}
	file := `{"Records":[` + strings.Join(sample(t, "cloudtrail-elastic.ndjson", 1, 2), ",") + `]}`
	if code, rep := e.post(t, "/v1/access?format=cloudtrail&system=aws", []byte(file)); code != http.StatusAccepted || rep.Accepted != 2 {
		t.Fatalf("CloudTrail log file: %d %+v", code, rep)
	}
	e.settle(t)
	got := map[string]string{}
	for _, rule := range []string{"AC-1", "AC-3"} {
		for s, v := range e.verdicts(t, rule) {
			got[rule+" "+s] = v
		}
	}
	want := map[string]string{
		"AC-3 bastion-eu:" + sshdID("bastion-eu", berlin): "pass: access by carol on bastion-eu at 2026-02-02T00:30:00Z before termination at 2026-02-02T00:45:00Z",
		"AC-3 bastion-eu:" + sshdID("bastion-eu", utc):    "fail: access by carol on bastion-eu at 2026-02-02T01:30:00Z after termination at 2026-02-02T00:45:00Z",
		"AC-1 prod-k8s:abcde12345":                        "pass: system:serviceaccount:kube-system:elastic-agent is authorized on prod-k8s",
		"AC-1 aws:3fcfb182-98f8-4744-bd45-10aEXAMPLE":     "fail: arn:aws:iam::111122223333:user/JohnDoe is not authorized on aws",
		"AC-1 aws:1917948f-3042-46ec-98e2-62865EXAMPLE":   "pass: arn:aws:sts::111111111111:assumed-role/JohnDoe/JohnRole1 is authorized on aws",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q\n   want %q", k, got[k], w)
		}
	}
}
