package access

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

const genericGood = `{"id":"e1","time":"2026-03-02T11:15:03.5+01:00","principal":"alice","system":"prod-db","action":"psql connect","result":"success","role":"dba-breakglass","ticket":"OPS-7","source_ip":"10.0.0.5","source":"pgaudit"}`

// genericFieldsGood are genericGood's fields, in order, values raw JSON.
var genericFieldsGood = [][2]string{
	{"id", `"e1"`}, {"time", `"2026-03-02T11:15:03.5+01:00"`}, {"principal", `"alice"`},
	{"system", `"prod-db"`}, {"action", `"psql connect"`}, {"result", `"success"`},
	{"role", `"dba-breakglass"`}, {"ticket", `"OPS-7"`}, {"source_ip", `"10.0.0.5"`},
	{"source", `"pgaudit"`},
}

func TestGenericValid(t *testing.T) {
	ev, skip, err := ParseLine([]byte(genericGood), Options{Now: fixedNow})
	if err != nil || skip {
		t.Fatal(skip, err)
	}
	want := model.AccessEvent{
		ID: "e1", System: "prod-db", Time: time.Date(2026, 3, 2, 10, 15, 3, 500_000_000, time.UTC),
		Principal: "alice", Action: "psql connect", Result: "success", Role: "dba-breakglass",
		Ticket: "OPS-7", SourceIP: "10.0.0.5", Source: "pgaudit", Format: "generic",
		Raw: genericGood, ReceivedAt: testNow,
	}
	if ev != want {
		t.Errorf("got  %+v\nwant %+v", ev, want)
	}
	if ev.Time.Location() != time.UTC {
		t.Errorf("time not UTC")
	}
}

func TestGenericDefaultSystem(t *testing.T) {
	line := `{"id":"e2","time":"2026-03-02T10:00:00Z","principal":"bob","action":"login","result":"failure"}`
	ev, _, err := ParseLine([]byte(line), Options{System: "vpn", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if ev.System != "vpn" || ev.Result != "failure" || ev.Role != "" || ev.SourceIP != "" {
		t.Errorf("got %+v", ev)
	}
	line = strings.Replace(line, `"id":"e2"`, `"id":"e2","system":"bastion"`, 1)
	ev, _, err = ParseLine([]byte(line), Options{System: "vpn", Now: fixedNow})
	if err != nil || ev.System != "bastion" {
		t.Errorf("line's system should win: %+v %v", ev, err)
	}
}

func TestGenericErrors(t *testing.T) {
	// with is genericGood with one field's raw JSON value replaced ("-"
	// removes the field).
	with := func(field, value string) string {
		var parts []string
		for _, f := range genericFieldsGood {
			switch {
			case f[0] != field:
				parts = append(parts, `"`+f[0]+`":`+f[1])
			case value != "-":
				parts = append(parts, `"`+f[0]+`":`+value)
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	if with("-", "") != genericGood {
		t.Fatalf("genericFieldsGood and genericGood differ")
	}
	cases := []struct{ name, line, want string }{
		{"not JSON", `id=e1 principal=alice`, `not JSON: invalid character 'i' looking for beginning of value`},
		{"truncated", `{"id":"e1",`, `not JSON: unexpected end of JSON input`},
		{"array", `[]`, `not a JSON object, got array`},
		{"unknown field", strings.Replace(genericGood, `"role"`, `"rolee"`, 1), `unknown field "rolee"`},
		{"id missing", with("id", "-"), `id: required`},
		{"id number", with("id", `7`), `id: must be a string, got number`},
		{"time missing", with("time", "-"), `time: required`},
		{"time bad", with("time", `"02/03/2026 10:15"`), `time: not RFC 3339: "02/03/2026 10:15"`},
		{"principal missing", with("principal", "-"), `principal: required`},
		{"principal empty", with("principal", `""`), `principal: required`},
		{"system missing, no default", with("system", "-"), `system: required (the line has none and no default ?system= was given)`},
		{"system a boolean", with("system", `false`), `system: must be a string, got boolean`},
		{"action missing", with("action", "-"), `action: required`},
		{"result missing", with("result", "-"), `result: required`},
		{"result bad", with("result", `"ok"`), `result: must be success or failure, got "ok"`},
		{"role object", with("role", `{}`), `role: must be a string, got object`},
		{"ticket array", with("ticket", `["OPS-1"]`), `ticket: must be a string, got array`},
		{"source_ip bad", with("source_ip", `"bastion.internal"`), `source_ip: not an IP address: "bastion.internal"`},
		{"source number", with("source", `1`), `source: must be a string, got number`},
		{"several", `{"id":"e","time":"now","principal":"p","system":"s","action":"a","result":"maybe","extra":1}`,
			`unknown field "extra"; time: not RFC 3339: "now"; result: must be success or failure, got "maybe"`},
		{"empty object", `{}`, `id: required; time: required; principal: required; system: required (the line has none and no default ?system= was given); action: required; result: required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, skip, err := ParseLine([]byte(c.line), Options{Now: fixedNow})
			if err == nil || skip {
				t.Fatalf("line %s: got %+v skip=%v, want error %q", c.line, ev, skip, c.want)
			}
			if err.Error() != c.want {
				t.Errorf("line %s\n got  %s\n want %s", c.line, err, c.want)
			}
		})
	}
}

func TestGenericReadMixed(t *testing.T) {
	good := func(id string) string { return strings.Replace(genericGood, `"id":"e1"`, `"id":"`+id+`"`, 1) }
	input := strings.Join([]string{
		good("a"),
		"",
		`{"id":"b"}`,
		good("c"),
		"garbage",
		good("d"),
		"\r",
		good("e"),
	}, "\n") + "\r\n"
	evs, res := readAll(t, input, Options{Now: fixedNow}, 2)
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	if !reflect.DeepEqual(ids, []string{"a", "c", "d", "e"}) {
		t.Errorf("ids = %v", ids)
	}
	if evs[3].Raw != good("e") {
		t.Errorf("Raw kept the line terminator: %q", evs[3].Raw)
	}
	want := []Rejected{
		{3, `time: required; principal: required; system: required (the line has none and no default ?system= was given); action: required; result: required`},
		{5, `not JSON: invalid character 'g' looking for beginning of value`},
	}
	if res.Accepted != 4 || res.Skipped != 0 || !reflect.DeepEqual(res.Rejected, want) {
		t.Errorf("result %+v, want rejected %+v", res, want)
	}
}

// TestGenericFastPathAgrees checks the fast path accepts only what the
// detailed path accepts, and produces the same event.
func TestGenericFastPathAgrees(t *testing.T) {
	lines := []string{
		genericGood,
		`{"id":"e","time":"2026-03-02T10:00:00Z","principal":"p","action":"a","result":"success"}`,
		`{"ID":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success"}`,
		`{"id":"e","Time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success"}`,
		`{"id":"e","id":"f","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success"}`,
		`{"i\u0064":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success"}`,
		`{"id":"e\"x","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a:b","result":"success","role":null}`,
		`{"id":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success"} {}`,
		`{"id":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success"}x`,
		`{"id":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success","source_ip":"::ffff:10.0.0.1"}`,
		`{"id":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"Success"}`,
		`{"id":"e","time":"2026-03-02T10:00:00Z","principal":"p","system":"s","action":"a","result":"success","x":{"id":"y"}}`,
		` { "id" : "e" , "time" : "2026-03-02T10:00:00Z" , "principal" : "p" , "system" : "s" , "action" : "a" , "result" : "failure" } `,
	}
	for _, o := range []Options{{Now: fixedNow}, {Now: fixedNow, System: "dflt"}} {
		for _, l := range lines {
			fast, ok := parseGenericFast([]byte(l), o, testNow)
			slow, err := parseGenericSlow([]byte(l), o, testNow)
			switch {
			case ok && err != nil:
				t.Errorf("fast path accepted what the detailed path rejects (%v): %s", err, l)
			case ok && fast != slow:
				t.Errorf("paths differ on %s\n fast %+v\n slow %+v", l, fast, slow)
			}
		}
	}
	if _, ok := parseGenericFast([]byte(genericGood), Options{}, testNow); !ok {
		t.Error("fast path rejects the good line")
	}
}
