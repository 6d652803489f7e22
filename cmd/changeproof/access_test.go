package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

const accessConfig = `access:
  systems:
    prod-db: {authorized: [alice, bob], break_glass_roles: [break-glass]}
    bastion: {authorized: [alice, carol]}
    prod-k8s: {authorized: [alice, bob], break_glass_roles: [break-glass]}
identities:
  - {name: alice, logins: [alice, alice-alt]}
  - {name: mallory, logins: [mallory, mal], terminated_at: 2026-02-01}
`

func TestAccessControlsFromEveryFormat(t *testing.T) {
	e := startOps(t, "ops_access", accessConfig)
	generic := strings.Join([]string{
		`{"id":"g1","time":"2026-02-02T10:00:00Z","principal":"alice-alt","system":"prod-db","action":"psql login","result":"success"}`,
		`{"id":"g2","time":"2026-02-02T10:05:00Z","principal":"eve","system":"prod-db","action":"psql login","result":"success"}`,
		`{"id":"g3","time":"2026-02-02T11:00:00Z","principal":"bob","system":"prod-db","action":"psql login","result":"success","role":"break-glass","ticket":"OPS-12"}`,
		`{"id":"g4","time":"2026-02-02T11:30:00Z","principal":"bob","system":"prod-db","action":"psql login","result":"success","role":"break-glass"}`,
		`{"id":"g5","time":"2026-01-20T09:00:00Z","principal":"mallory","system":"prod-db","action":"psql login","result":"success"}`,
		`{"id":"g6","time":"2026-02-05T09:00:00Z","principal":"mal","system":"prod-db","action":"psql login","result":"success"}`,
		`{"id":"g7","time":"2026-02-05T09:00:00Z","principal":"alice","system":"staging-db","action":"psql login","result":"success"}`,
		`{"id":"g8","time":"yesterday","principal":"alice","system":"prod-db","action":"psql login","result":"success"}`,
		`{"id":"g9","time":"2026-02-05T09:00:00Z","principal":"alice","system":"prod-db","action":"psql login","result":"ok"}`,
	}, "\n")
	code, rep := e.post(t, "/v1/access?format=generic", []byte(generic))
	if code != http.StatusAccepted || rep.Accepted != 7 {
		t.Fatalf("generic: %d %+v", code, rep)
	}
	if got := fmt.Sprint(rep.Rejected); got != `[{8 time: not RFC 3339: "yesterday"} {9 result: must be success or failure, got "ok"}]` {
		t.Fatalf("generic rejected = %s", got)
	}
	sshd := "Feb  2 12:00:01 bastion sshd[4242]: Accepted publickey for carol from 10.0.0.7 port 52811 ssh2: ED25519 SHA256:Zm9vYmFy\n" +
		"Feb  2 12:00:09 bastion sshd[4243]: Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2\n" +
		"Feb  2 12:00:10 bastion sshd[4243]: Received disconnect from 203.0.113.9 port 40022:11: Bye Bye [preauth]\n" +
		"garbage\n"
	code, rep = e.post(t, "/v1/access?format=sshd&system=bastion", []byte(sshd))
	if code != http.StatusAccepted || rep.Accepted != 2 || rep.Skipped != 1 || len(rep.Rejected) != 1 ||
		rep.Rejected[0].Line != 4 || !strings.HasPrefix(rep.Rejected[0].Error, "not a syslog line") {
		t.Fatalf("sshd: %d %+v", code, rep)
	}
	k8s := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7e0cbccf-8d8a-4f5f-aa76-dc3c8c1a9f21","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/payments/pods/api-0/exec","verb":"create","user":{"username":"bob","groups":["system:authenticated","break-glass"]},"sourceIPs":["10.1.2.3"],"userAgent":"kubectl/v1.30.0","objectRef":{"resource":"pods","namespace":"payments","name":"api-0","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-02-02T13:00:00.000000Z","stageTimestamp":"2026-02-02T13:00:05.000000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"break-glass\"","changeproof.io/ticket":"INC-7"}}` + "\n"
	code, rep = e.post(t, "/v1/access?format=k8s-audit&system=prod-k8s", []byte(k8s))
	if code != http.StatusAccepted || rep.Accepted != 1 {
		t.Fatalf("k8s: %d %+v", code, rep)
	}
	if code, _ := e.post(t, "/v1/access?format=sshd", []byte(sshd)); code != http.StatusBadRequest {
		t.Fatalf("sshd without system: %d, want 400", code)
	}

	e.settle(t)
	got := map[string]string{}
	for _, rule := range []string{"AC-1", "AC-2", "AC-3"} {
		for s, v := range e.verdicts(t, rule) {
			got[rule+" "+s] = v
		}
	}
	sshID := func(line string) string { return sshdID("bastion", line) }
	lines := strings.Split(sshd, "\n")
	want := map[string]string{
		"AC-1 prod-db:g1":                 "pass: alice (as alice-alt) is authorized on prod-db",
		"AC-1 prod-db:g2":                 "fail: eve is not authorized on prod-db",
		"AC-1 prod-db:g3":                 "not_applicable: break-glass access by bob as break-glass: judged by AC-2",
		"AC-1 prod-db:g4":                 "not_applicable: break-glass access by bob as break-glass: judged by AC-2",
		"AC-1 prod-db:g5":                 "fail: mallory is not authorized on prod-db",
		"AC-1 prod-db:g6":                 "fail: mallory (as mal) is not authorized on prod-db",
		"AC-2 prod-db:g3":                 "pass: break-glass access by bob as break-glass with ticket OPS-12",
		"AC-2 prod-db:g4":                 "fail: break-glass access by bob as break-glass without a ticket matching [A-Z][A-Z0-9]+-[0-9]+",
		"AC-3 prod-db:g5":                 "pass: access by mallory on prod-db at 2026-01-20T09:00:00Z before termination at 2026-02-01T00:00:00Z",
		"AC-3 prod-db:g6":                 "fail: access by mallory (as mal) on prod-db at 2026-02-05T09:00:00Z after termination at 2026-02-01T00:00:00Z",
		"AC-1 bastion:" + sshID(lines[0]): "pass: carol is authorized on bastion",
		"AC-1 bastion:" + sshID(lines[1]): "fail: admin is not authorized on bastion (attempt failed)",
		"AC-1 prod-k8s:7e0cbccf-8d8a-4f5f-aa76-dc3c8c1a9f21": "not_applicable: break-glass access by bob as break-glass: judged by AC-2",
		"AC-2 prod-k8s:7e0cbccf-8d8a-4f5f-aa76-dc3c8c1a9f21": "pass: break-glass access by bob as break-glass with ticket INC-7",
	}
	var diffs []string
	for k, w := range want {
		if got[k] != w {
			diffs = append(diffs, fmt.Sprintf("%s = %q\n   want %q", k, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s = %q", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatal(strings.Join(diffs, "\n"))
	}
	n, _ := e.a.store.Count(context.Background(), "access_events")
	if n != 10 {
		t.Fatalf("access events stored = %d, want 10 (the out-of-scope system's too)", n)
	}
	// Re-sending changes nothing.
	before, _ := e.a.store.CountPhysical(context.Background(), "findings")
	e.post(t, "/v1/access?format=generic", []byte(generic))
	e.settle(t)
	after, _ := e.a.store.CountPhysical(context.Background(), "findings")
	if after != before {
		t.Fatalf("re-sent access events added %d finding rows", after-before)
	}
}

// TestLargeAccessUpload sends 100k NDJSON lines in one streamed request.
func TestLargeAccessUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("100k events")
	}
	e := startOps(t, "ops_large", accessConfig)
	const n = 100_000
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < n; i++ {
			fmt.Fprintf(pw, `{"id":"big-%06d","time":"2026-02-02T10:00:00Z","principal":"alice","system":"prod-db","action":"query","result":"success","source_ip":"10.0.0.1"}`+"\n", i)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/access", pr)
	req.Header.Set("Authorization", "Bearer "+ingestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(string(body), fmt.Sprintf(`{"accepted":%d,"rejected":[]}`, n)) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	e.settle(t)
	stored, _ := e.a.store.Count(context.Background(), "access_events")
	if stored != n {
		t.Fatalf("stored %d of %d", stored, n)
	}
}
