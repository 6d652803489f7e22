package access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// recordEvent is what an event read from a real JSON sample must say.
type recordEvent struct {
	line                                        int
	id, principal, action, result, role, ip, at string
}

func (r recordEvent) String() string { return fmt.Sprintf("%#v", r) }

// checkRecords reads file in f and compares every event (the line whose
// Raw it is, id, principal, action, result, role, source IP, UTC time);
// the other lines must be skipped and none rejected.
func checkRecords(t *testing.T, file string, o Options, want []recordEvent) {
	t.Helper()
	input := readFile(t, "testdata/"+file)
	if o.System == "" {
		o.System = "prod"
	}
	o.Now = fixedNow
	evs, res := readAll(t, input, o, 3)
	if len(res.Rejected) != 0 {
		t.Errorf("%s: rejected %+v", file, res.Rejected)
	}
	lines := strings.Split(strings.TrimRight(input, "\n"), "\n")
	var got []recordEvent
	for _, ev := range evs {
		n := -1
		for i, l := range lines {
			if l == ev.Raw {
				n = i + 1
			}
		}
		if n < 0 {
			t.Fatalf("%s: Raw is no line of the sample: %q", file, ev.Raw)
		}
		if ev.Time.Location() != time.UTC || ev.Format != string(o.Format) || ev.System != o.System || !ev.ReceivedAt.Equal(testNow) {
			t.Errorf("%s line %d: %+v", file, n, ev)
		}
		got = append(got, recordEvent{n, ev.ID, ev.Principal, ev.Action, ev.Result, ev.Role, ev.SourceIP,
			ev.Time.Format(time.RFC3339Nano)})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s events:\n got  %v\n want %v", file, got, want)
	}
	if res.Skipped+len(evs) != len(lines) {
		t.Errorf("%s: %d skipped + %d events != %d lines", file, res.Skipped, len(evs), len(lines))
	}
}

// Real samples: Elastic's integration test logs (see testdata/README.md).

func TestK8sAuditRealSamples(t *testing.T) {
	o := Options{Format: K8sAudit, BreakGlassRoles: []string{"system:masters"}}
	checkRecords(t, "k8s-audit-elastic.ndjson", o, []recordEvent{
		{1, "abcde12345", "system:serviceaccounts:default:default", "get pods default/my-pod", "success", "", "67.43.156.1", "2025-03-04T06:22:18.819232Z"},
		{2, "abcde12345", "system:serviceaccount:kube-system:elastic-agent", "get leases kube-system/elastic-agent-cluster-test", "success", "", "67.43.156.1", "2025-07-16T10:12:56.525137Z"},
		{3, "1234abcd", "system:gke-master-healthcheck", "io.k8s.get readyz", "success", "", "67.43.156.1", "2025-07-13T08:38:39.127266Z"},
		{4, "abcde12345", "aksService", "update leases kube-system/elastic-agent-cluster-test", "success", "system:masters", "67.43.156.1", "2025-09-30T06:23:35.091134Z"},
		{5, "k8s-nonmatch-0001", "system:anonymous", "io.k8s.get HNAP1", "failure", "", "192.168.1.1", "2021-04-23T14:47:07.535383Z"},
	})
}

// TestK8sAuditSharedAuditID: three different events sharing one auditID
// (the real sample has them) come out as three events with that ID and
// their own Raw; deciding what a repeated id means is the store's job.
func TestK8sAuditSharedAuditID(t *testing.T) {
	input := readFile(t, "testdata/k8s-audit-elastic.ndjson")
	evs, _ := readAll(t, input, Options{Format: K8sAudit, System: "prod", Now: fixedNow}, 10)
	var shared []model.AccessEvent
	for _, ev := range evs {
		if ev.ID == "abcde12345" {
			shared = append(shared, ev)
		}
	}
	if len(shared) != 3 {
		t.Fatalf("%d events with auditID abcde12345, want 3", len(shared))
	}
	for i, n := range []int{1, 2, 4} {
		if shared[i].Raw != lineOf(input, n) {
			t.Errorf("event %d Raw is not line %d", i, n)
		}
	}
	if shared[0].Raw == shared[1].Raw || shared[1].Raw == shared[2].Raw {
		t.Error("Raw not distinct")
	}
}

// eventList wraps Event lines in the EventList the API server's webhook
// backend POSTs (k8s.io/apiserver/pkg/apis/audit/v1 EventList: TypeMeta,
// ListMeta, items).
func eventList(apiVersion string, items ...string) string {
	return `{"kind":"EventList","apiVersion":"` + apiVersion + `","metadata":{},"items":[` + strings.Join(items, ",") + `]}`
}

func TestK8sAuditEventList(t *testing.T) {
	sample := readFile(t, "testdata/k8s-audit-elastic.ndjson")
	e1, e2 := lineOf(sample, 1), lineOf(sample, 2)
	received := strings.Replace(e1, `"stage":"ResponseComplete"`, `"stage":"RequestReceived"`, 1)
	one := eventList("audit.k8s.io/v1", e1, received, e2)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(eventList("audit.k8s.io/v1beta1", e1, e2)), "", "  "); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		body     string
		accepted int
		skipped  int
	}{
		"one line":           {one + "\n", 2, 1},
		"pretty-printed":     {pretty.String() + "\n", 2, 0},
		"list then an Event": {one + "\n" + e2 + "\n", 3, 1},
	} {
		t.Run(name, func(t *testing.T) {
			evs, res := readAll(t, c.body, Options{Format: K8sAudit, System: "prod", Now: fixedNow}, 10)
			if res.Accepted != c.accepted || res.Skipped != c.skipped || len(res.Rejected) != 0 {
				t.Fatalf("result %+v", res)
			}
			for _, ev := range evs {
				var probe map[string]any
				if json.Unmarshal([]byte(ev.Raw), &probe) != nil || probe["kind"] != "Event" {
					t.Errorf("Raw is not the item: %q", ev.Raw)
				}
				if !strings.Contains(c.body, ev.Raw) {
					t.Errorf("Raw is not bytes of the body: %q", ev.Raw)
				}
			}
		})
	}
	bad := eventList("audit.k8s.io/v1", e1, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete"}`)
	evs, res := readAll(t, "\n"+bad+"\n", Options{Format: K8sAudit, System: "prod", Now: fixedNow}, 10)
	want := []Rejected{{2, "items[1]: auditID: required; verb: required; user.username: required; requestReceivedTimestamp: required"}}
	if len(evs) != 1 || fmt.Sprint(res.Rejected) != fmt.Sprint(want) {
		t.Errorf("events %d, rejected %+v, want %+v", len(evs), res.Rejected, want)
	}
}

func TestCloudTrailRealSamples(t *testing.T) {
	checkRecords(t, "cloudtrail-elastic.ndjson", Options{Format: CloudTrail}, []recordEvent{
		{1, "3fcfb182-98f8-4744-bd45-10aEXAMPLE", "arn:aws:iam::111122223333:user/JohnDoe", "signin:ConsoleLogin", "success", "", "89.160.20.156", "2014-07-16T15:49:27Z"},
		{2, "1917948f-3042-46ec-98e2-62865EXAMPLE", "arn:aws:sts::111111111111:assumed-role/JohnDoe/JohnRole1", "sts:AssumeRole", "success", "arn:aws:iam::111111111111:role/JohnRole2", "81.2.69.144", "2019-10-02T22:12:29Z"},
		{3, "11ea990b-4678-4bcd-8fbe-625EXAMPLE", "arn:aws:iam::111122223333:user/JaneDoe", "signin:ConsoleLogin", "failure", "", "89.160.20.156", "2014-07-08T17:35:27Z"},
		{4, "11ea990b-4678-4bcd-8fbe-625EXAMPLE", "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName", "signin:ConsoleLogin", "failure", "arn:aws:iam::123456789012:role/RoleToBeAssumed", "89.160.20.156", "2014-07-08T17:35:27Z"},
	})
}

// TestCloudTrailLogFile: a log file as CloudTrail delivers it (one line,
// {"Records":[...]}) and the same pretty-printed are accepted whole; each
// event's Raw is its record's bytes.
func TestCloudTrailLogFile(t *testing.T) {
	sample := strings.Split(strings.TrimRight(readFile(t, "testdata/cloudtrail-elastic.ndjson"), "\n"), "\n")
	file := `{"Records":[` + strings.Join(sample, ",") + `]}`
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(file), "", "    "); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"one line": file, "pretty": pretty.String()} {
		evs, res := readAll(t, body, Options{Format: CloudTrail, System: "aws", Now: fixedNow}, 2)
		if res.Accepted != 4 || len(res.Rejected) != 0 {
			t.Fatalf("%s: %+v", name, res)
		}
		for i, ev := range evs {
			if !strings.Contains(body, ev.Raw) || !json.Valid([]byte(ev.Raw)) || strings.HasPrefix(ev.Raw, `{"Records"`) {
				t.Errorf("%s: event %d Raw %q", name, i, ev.Raw)
			}
		}
	}
}

func TestOktaRealSamples(t *testing.T) {
	checkRecords(t, "okta-elastic.ndjson", Options{Format: Okta}, []recordEvent{
		{1, "3aeede38-4f67-11ea-abd3-1f5d113f2546", "xxxxxx@elastic.co", "user.session.start", "success", "", "175.16.199.1", "2020-02-14T20:18:57.718Z"},
	})
	// The System Log API answers with a JSON array of events.
	lines := strings.Split(strings.TrimRight(readFile(t, "testdata/okta-elastic.ndjson"), "\n"), "\n")
	evs, res := readAll(t, "["+strings.Join(lines, ",")+"]", Options{Format: Okta, System: "okta", Now: fixedNow}, 10)
	if len(evs) != 1 || res.Skipped != 1 || evs[0].Raw != lines[0] {
		t.Errorf("array: %+v %+v", evs, res)
	}
	// An event hook delivers {"eventType":"com.okta.event_hook",...,"data":{"events":[...]}}.
	hook := `{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","data":{"events":[` + strings.Join(lines, ",") + `]}}`
	evs, res = readAll(t, hook, Options{Format: Okta, System: "okta", Now: fixedNow}, 10)
	if len(evs) != 1 || res.Skipped != 1 || evs[0].Raw != lines[0] {
		t.Errorf("event hook: %+v %+v", evs, res)
	}
}

func TestGCPAuditRealSamples(t *testing.T) {
	checkRecords(t, "gcp-audit-elastic.ndjson", Options{Format: GCPAudit}, []recordEvent{
		{1, "15djrryd6bap", "principal://iam.googleapis.com/projects/project-id/locations/global/workloadIdentityPools/...", "iamcredentials.googleapis.com:GenerateAccessToken projects/-/serviceAccounts/somenumber", "success", "", "175.16.199.45", "2024-11-19T00:49:55.293368631Z"},
		{2, "1234abcd", "system:gke-master-healthcheck", "k8s.io:io.k8s.get readyz", "success", "", "67.43.156.1", "2025-07-13T08:38:39.127266Z"},
		{3, "k8s-nonmatch-0001", "system:anonymous", "k8s.io:io.k8s.get HNAP1", "failure", "", "192.168.1.1", "2021-04-23T14:47:07.535383Z"},
	})
}

func TestTeleportRealSamples(t *testing.T) {
	checkRecords(t, "teleport-elastic.ndjson", Options{Format: Teleport}, []recordEvent{
		{1, "173d6b6e-d613-44be-8ff6-f9f893791ef2", "admin@example.com", "user.login", "success", "", "", "2019-04-22T00:49:03Z"},
		{3, "597bf08b-75b2-4dda-a578-e387c5ce9b76", "fsdfsdf", "user.login", "failure", "", "", "2019-04-22T18:06:32Z"},
		{4, "84c07a99-856c-419f-9de5-15560451a116", "admin@example.com", "session.start root@de3800ea-69d9-4d72-a108-97e57f8eb393", "success", "", "67.43.156.11", "2019-04-22T19:39:26.676Z"},
		{7, "80400ed9-644e-4a6e-ab99-b264b34d0f55", "kimlisa", "app.session.start test", "success", "", "81.2.69.193", "2020-10-30T17:28:14.381Z"},
	})
}

// TestRecordsOutOfRangeTime: a time outside 1970..2299 rejects the record,
// naming the field.
func TestRecordsOutOfRangeTime(t *testing.T) {
	line := strings.Replace(lineOf(readFile(t, "testdata/okta-elastic.ndjson"), 1), `"published":"2020-`, `"published":"2400-`, 1)
	_, _, err := ParseLine([]byte(line), Options{Format: Okta, System: "okta", Now: fixedNow})
	if want := "published: 2400-02-14T20:18:57.718Z is out of range (1970-01-01 .. 2299-12-31 UTC)"; err == nil || err.Error() != want {
		t.Errorf("err %v, want %q", err, want)
	}
}

// TestJournaldPretty: `journalctl -o json-pretty` writes each entry over
// several lines; each is read whole, its Raw the entry as written.
func TestJournaldPretty(t *testing.T) {
	lines := strings.Split(strings.TrimRight(readFile(t, "testdata/journald-sshd.ndjson"), "\n"), "\n")
	var body bytes.Buffer
	for _, l := range lines[2:4] { // an Accepted publickey entry and a session line
		if err := json.Indent(&body, []byte(l), "", "\t"); err != nil {
			t.Fatal(err)
		}
		body.WriteByte('\n')
	}
	evs, res := readAll(t, body.String(), Options{Format: Journald, System: "jump", Now: fixedNow}, 10)
	if len(evs) != 1 || res.Skipped != 1 || len(res.Rejected) != 0 || evs[0].Principal != "alice" ||
		!strings.HasPrefix(evs[0].Raw, "{\n\t\"") || !strings.Contains(body.String(), evs[0].Raw) {
		t.Fatalf("events %+v result %+v", evs, res)
	}
}

// TestTeleportAccessRequest: a session started under an access request
// (Teleport writes the request ids in the event's access_requests) takes
// the request's roles as its role when one is a break-glass role, and the
// request's reason as its ticket.
func TestTeleportAccessRequest(t *testing.T) {
	sample := readFile(t, "testdata/teleport-elastic.ndjson")
	request := lineOf(sample, 6) // access_request.create of 66b827b2-..., roles [admin]
	request = strings.Replace(request, `"roles":["admin"]`, `"roles":["admin"],"reason":"INC-4711 payments outage"`, 1)
	session := strings.Replace(lineOf(sample, 4), `"user":"admin@example.com"`,
		`"user":"admin@example.com","access_requests":["66b827b2-1b0b-512b-965d-6c789388d3c9"]`, 1)
	o := Options{Format: Teleport, System: "teleport", Now: fixedNow, BreakGlassRoles: []string{"admin"}}
	evs, res := readAll(t, request+"\n"+session+"\n", o, 10)
	if len(evs) != 1 || res.Skipped != 1 || evs[0].Role != "admin" || evs[0].Ticket != "INC-4711 payments outage" || evs[0].Raw != session {
		t.Fatalf("events %+v result %+v", evs, res)
	}
	// Without the request in the upload, the session has no role.
	evs, _ = readAll(t, session+"\n", o, 10)
	if len(evs) != 1 || evs[0].Role != "" || evs[0].Ticket != "" {
		t.Fatalf("alone: %+v", evs)
	}
}
