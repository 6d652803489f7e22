package access

import (
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

func k8sOptions() Options {
	return Options{Format: K8sAudit, System: "prod-eu", BreakGlassRoles: []string{"sre-breakglass", "system:masters"}, Now: fixedNow}
}

func TestK8sAuditSamples(t *testing.T) {
	input := readFile(t, "testdata/k8s-audit.ndjson")
	evs, res := readAll(t, input, k8sOptions(), 4)
	if res.Skipped != 2 || len(res.Rejected) != 0 {
		t.Fatalf("result %+v, want 2 skipped (RequestReceived, ResponseStarted) and none rejected", res)
	}
	want := []model.AccessEvent{
		{ID: "7f1c9a2e-5b3d-4e8f-9a61-0c2d4e6f8a10", Time: time.Date(2026, 3, 2, 10, 15, 3, 123456000, time.UTC),
			Principal: "alice@acme.io", Action: "create pods/exec default/nginx", Result: "success",
			Role: "sre-breakglass", Ticket: "OPS-1234", SourceIP: "203.0.113.10", Raw: lineOf(input, 2)},
		{ID: "a02486f1-3a7c-4bca-8bcb-9019fa43dac4", Time: time.Date(2026, 3, 2, 10, 16, 11, 204031000, time.UTC),
			Principal: "mallory", Action: "list secrets payments/", Result: "failure",
			SourceIP: "192.168.49.1", Raw: lineOf(input, 3)},
		{ID: "0e876456-b574-40e0-a8c4-aca6ebe91fea", Time: time.Date(2026, 3, 2, 10, 17, 45, 209504000, time.UTC),
			Principal: "system:node:worker-1", Action: "get nodes worker-1", Result: "success",
			SourceIP: "192.168.0.43", Raw: lineOf(input, 4)},
		{ID: "c5f48f91-d4da-4659-97eb-56bdbcd0817c", Time: time.Date(2026, 3, 2, 9, 18, 0, 1000, time.UTC),
			Principal: "carol", Action: "delete deployments prod/web (as system:admin)", Result: "success",
			Role: "system:masters", SourceIP: "10.0.0.8", Raw: lineOf(input, 5)},
		{ID: "2052d577-3391-4fe7-9fe2-4d6c8cbe398f", Time: time.Date(2026, 3, 2, 10, 19, 30, 500000000, time.UTC),
			Principal: "bob", Action: "get /version", Result: "success", SourceIP: "10.0.0.7", Raw: lineOf(input, 7)},
		{ID: "9d2f3c4b-6a7e-4f10-8b2c-3d4e5f607182", Time: time.Date(2026, 3, 2, 10, 20, 0, 0, time.UTC),
			Principal: "dave", Action: "patch cronjobs jobs/nightly", Result: "failure", SourceIP: "10.0.0.9", Raw: lineOf(input, 8)},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		w.System, w.Source, w.Format, w.ReceivedAt = "prod-eu", "k8s-audit", "k8s-audit", testNow
		if evs[i] != w {
			t.Errorf("event %d\n got  %+v\n want %+v", i, evs[i], w)
		}
		if evs[i].Time.Location() != time.UTC {
			t.Errorf("event %d time not UTC", i)
		}
	}
}

func TestK8sAuditRoleNeedsConfiguredRoles(t *testing.T) {
	line := lineOf(readFile(t, "testdata/k8s-audit.ndjson"), 2)
	o := k8sOptions()
	o.BreakGlassRoles = nil
	ev, _, err := ParseLine([]byte(line), o)
	if err != nil || ev.Role != "" {
		t.Errorf("role %q err %v, want no role without break-glass roles", ev.Role, err)
	}
}

func TestK8sAuditForbidDecisionWithoutStatus(t *testing.T) {
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"x1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/token","verb":"get","user":{"username":"eve"},"objectRef":{"resource":"secrets","namespace":"kube-system","name":"token","apiVersion":"v1"},"requestReceivedTimestamp":"2026-03-02T10:00:00Z","annotations":{"authorization.k8s.io/decision":"forbid"}}`
	ev, _, err := ParseLine([]byte(line), k8sOptions())
	if err != nil || ev.Result != "failure" || ev.Action != "get secrets kube-system/token" || ev.SourceIP != "" {
		t.Errorf("got %+v, %v", ev, err)
	}
}

func TestK8sAuditErrors(t *testing.T) {
	base := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"alice","groups":["g"]},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-03-02T10:00:00.000001Z","stageTimestamp":"2026-03-02T10:00:00.000100Z"}`
	if _, _, err := ParseLine([]byte(base), k8sOptions()); err != nil {
		t.Fatalf("base line rejected: %v", err)
	}
	r := func(old, new string) string {
		if !strings.Contains(base, old) {
			panic(old)
		}
		return strings.Replace(base, old, new, 1)
	}
	cases := []struct{ name, line, want string }{
		{"not JSON", `{"kind":"Event",`, `not JSON: unexpected end of JSON input`},
		{"text", `I0302 10:00:00.000000 1 audit.go:1] not an event`, `not JSON: invalid character 'I' looking for beginning of value`},
		{"array", `[{"kind":"Event"}]`, `record 1: apiVersion: must be "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got ""`},
		{"wrong kind", r(`"kind":"Event"`, `"kind":"Pod"`), `kind: must be "Event", got "Pod"`},
		{"kind missing", r(`"kind":"Event",`, ``), `kind: must be "Event", got ""`},
		{"other apiVersion", r(`audit.k8s.io/v1"`, `audit.k8s.io/v2"`), `apiVersion: must be "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got "audit.k8s.io/v2"`},
		{"core Event", `{"kind":"Event","apiVersion":"v1","metadata":{"name":"x"},"reason":"Scheduled"}`, `apiVersion: must be "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got "v1"`},
		{"both wrong", `{"kind":"List","apiVersion":"v1","items":[]}`, `kind: must be "Event", got "List"; apiVersion: must be "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got "v1"`},
		{"list of wrong version", `{"kind":"EventList","apiVersion":"v1","items":[]}`, `apiVersion: must be "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got "v1"`},
		{"auditID missing", r(`"auditID":"id-1",`, ``), `auditID: required`},
		{"username missing", r(`"username":"alice",`, ``), `user.username: required`},
		{"user missing", r(`"user":{"username":"alice","groups":["g"]},`, ``), `user.username: required`},
		{"timestamp missing", r(`"requestReceivedTimestamp":"2026-03-02T10:00:00.000001Z",`, ``), `requestReceivedTimestamp: required`},
		{"timestamp bad", r(`2026-03-02T10:00:00.000001Z"`, `1772445600"`), `requestReceivedTimestamp: not RFC 3339: "1772445600"`},
		{"verb missing", r(`"verb":"list",`, ``), `verb: required`},
		{"stage missing", r(`"stage":"ResponseComplete",`, ``), `stage: required`},
		{"stage bad", r(`"ResponseComplete"`, `"Done"`), `stage: must be RequestReceived, ResponseStarted, ResponseComplete or Panic, got "Done"`},
		{"username a number", r(`"username":"alice"`, `"username":42`), `user.username: must be a string, got number`},
		{"code a string", r(`"code":200`, `"code":"200"`), `responseStatus.code: must be a number, got string`},
		{"groups a string", r(`"groups":["g"]`, `"groups":"g"`), `user.groups: must be an array, got string`},
		{"several", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"Panic","user":{}}`,
			`auditID: required; verb: required; user.username: required; requestReceivedTimestamp: required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, skip, err := ParseLine([]byte(c.line), k8sOptions())
			if err == nil || skip {
				t.Fatalf("got %+v skip=%v, want error %q", ev, skip, c.want)
			}
			if err.Error() != c.want {
				t.Errorf("\n got  %s\n want %s", err, c.want)
			}
		})
	}
}

func TestK8sAuditSkippedStagesNeedNoFields(t *testing.T) {
	for _, stage := range []string{"RequestReceived", "ResponseStarted"} {
		line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"` + stage + `"}`
		ev, skip, err := ParseLine([]byte(line), k8sOptions())
		if err != nil || !skip || ev != (model.AccessEvent{}) {
			t.Errorf("%s: got %+v skip=%v err=%v, want skipped", stage, ev, skip, err)
		}
	}
}

func TestK8sAuditReadRejectsWithLineNumbers(t *testing.T) {
	samples := readFile(t, "testdata/k8s-audit.ndjson")
	input := lineOf(samples, 1) + "\n" + `{"kind":"Pod","apiVersion":"v1"}` + "\n" + lineOf(samples, 2) + "\n\n" +
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get","user":{"username":"a"},"requestReceivedTimestamp":"2026-03-02T10:00:00Z"}` + "\n"
	evs, res := readAll(t, input, k8sOptions(), 10)
	if len(evs) != 1 || evs[0].ID != "7f1c9a2e-5b3d-4e8f-9a61-0c2d4e6f8a10" || res.Skipped != 1 {
		t.Fatalf("events %+v result %+v", evs, res)
	}
	want := []Rejected{
		{2, `kind: must be "Event", got "Pod"; apiVersion: must be "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got "v1"`},
		{5, `auditID: required`},
	}
	if len(res.Rejected) != 2 || res.Rejected[0] != want[0] || res.Rejected[1] != want[1] {
		t.Errorf("rejected %+v, want %+v", res.Rejected, want)
	}
}
