package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

var testNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{
		Services: map[string][]string{
			"payments": {"acme/payments"},
			"web":      {"acme/web", "acme/web-assets"},
			"empty":    nil,
		},
		Now: func() time.Time { return testNow },
	}
}

const goodSHA = "0123456789abcdef0123456789abcdef01234567"

// deployJSON is a valid deploy line with the given fields replaced (a value
// of "-" removes the field; values are raw JSON).
func deployJSON(replace map[string]string) string {
	fields := [][2]string{
		{"id", `"d-1"`},
		{"service", `"payments"`},
		{"environment", `"production"`},
		{"sha", `"` + goodSHA + `"`},
		{"status", `"success"`},
		{"actor", `"alice"`},
		{"started_at", `"2026-03-02T10:00:00Z"`},
		{"finished_at", `"2026-03-02T10:05:00Z"`},
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	seen := map[string]bool{}
	write := func(k, v string) {
		if v == "-" {
			return
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + k + `":` + v)
	}
	for _, f := range fields {
		v := f[1]
		if r, ok := replace[f[0]]; ok {
			v = r
		}
		seen[f[0]] = true
		write(f[0], v)
	}
	for k, v := range replace {
		if !seen[k] {
			write(k, v)
		}
	}
	b.WriteString("}")
	return b.String()
}

func TestParseValid(t *testing.T) {
	line := `{"id":"d-1","service":"payments","environment":"production","sha":"0123456789ABCDEF0123456789abcdef01234567",` +
		`"status":"success","actor":"alice","started_at":"2026-03-02T11:00:00+01:00","finished_at":"2026-03-02T10:05:00.5Z",` +
		`"pipeline":"deploy-prod","url":"https://ci.example.com/runs/1","version":"v1.2.3"}`
	d, err := Parse([]byte(line), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := model.Deploy{
		ID: "d-1", Source: "api", Service: "payments", Environment: "production",
		SHA: "0123456789abcdef0123456789abcdef01234567", Repo: "acme/payments",
		Status: "success", Actor: "alice",
		StartedAt:  time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		FinishedAt: time.Date(2026, 3, 2, 10, 5, 0, 500_000_000, time.UTC),
		Pipeline:   "deploy-prod", URL: "https://ci.example.com/runs/1", Version: "v1.2.3",
		ReceivedAt: testNow,
	}
	if d != want {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	if d.StartedAt.Location() != time.UTC || d.FinishedAt.Location() != time.UTC {
		t.Errorf("times not UTC: %v %v", d.StartedAt.Location(), d.FinishedAt.Location())
	}
}

func TestParseRepo(t *testing.T) {
	cases := []struct {
		name    string
		replace map[string]string
		repo    string
	}{
		{"filled from the one repo", nil, "acme/payments"},
		{"given and listed", map[string]string{"service": `"web"`, "repo": `"acme/web-assets"`}, "acme/web-assets"},
		{"given, case differs, configured spelling kept", map[string]string{"service": `"web"`, "repo": `"ACME/Web"`}, "acme/web"},
		{"unknown service with repo", map[string]string{"service": `"batch"`, "repo": `"acme/batch"`}, "acme/batch"},
		{"service with no repos, repo given", map[string]string{"service": `"empty"`, "repo": `"acme/x"`}, "acme/x"},
		{"null repo is absent", map[string]string{"repo": `null`}, "acme/payments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(deployJSON(c.replace)), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			if d.Repo != c.repo {
				t.Errorf("repo = %q, want %q", d.Repo, c.repo)
			}
		})
	}
}

func TestParseInProgressWithoutFinishedAt(t *testing.T) {
	d, err := Parse([]byte(deployJSON(map[string]string{"status": `"in_progress"`, "finished_at": "-"})), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !d.FinishedAt.IsZero() || d.Status != "in_progress" {
		t.Errorf("got %+v", d)
	}
	if !d.OccurredAt().Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("OccurredAt = %v, want started_at", d.OccurredAt())
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", 100)
	cases := []struct {
		name    string
		line    string
		wantErr string
	}{
		{"not JSON", `{"id": "d-1",`, `not JSON: unexpected end of JSON input`},
		{"not JSON garbage", `deploy d-1 ok`, `not JSON: invalid character 'd' looking for beginning of value`},
		{"two objects on a line", `{"id":"a"} {"id":"b"}`, `not JSON: invalid character '{' after top-level value`},
		{"array", `[{"id":"a"}]`, `not a JSON object, got array`},
		{"string", `"hello"`, `not a JSON object, got string`},
		{"null", `null`, `not a JSON object, got null`},
		{"unknown field", deployJSON(map[string]string{"shaa": `"x"`}), `unknown field "shaa"`},
		{"typo hides a required field", deployJSON(map[string]string{"sha": "-", "shaa": `"` + goodSHA + `"`}), `unknown field "shaa"; sha: required`},
		{"id missing", deployJSON(map[string]string{"id": "-"}), `id: required`},
		{"id empty", deployJSON(map[string]string{"id": `""`}), `id: required`},
		{"id a number", deployJSON(map[string]string{"id": `42`}), `id: must be a string, got number`},
		{"service missing", deployJSON(map[string]string{"service": "-"}), `service: required`},
		{"service an object", deployJSON(map[string]string{"service": `{}`}), `service: must be a string, got object`},
		{"environment missing", deployJSON(map[string]string{"environment": "-"}), `environment: required`},
		{"environment null", deployJSON(map[string]string{"environment": `null`}), `environment: required`},
		{"sha missing", deployJSON(map[string]string{"sha": "-"}), `sha: required`},
		{"sha short", deployJSON(map[string]string{"sha": `"abc"`}), `sha: must be 40 hex characters, got "abc"`},
		{"sha not hex", deployJSON(map[string]string{"sha": `"` + strings.Repeat("g", 40) + `"`}), `sha: must be 40 hex characters, got "gggggggggggggggggggggggggggggggggggggggg"`},
		{"sha long value cut", deployJSON(map[string]string{"sha": `"` + long + `"`}), `sha: must be 40 hex characters, got "` + strings.Repeat("x", 64) + `…"`},
		{"status missing", deployJSON(map[string]string{"status": "-"}), `status: required`},
		{"status bad", deployJSON(map[string]string{"status": `"done"`}), `status: must be success, failure or in_progress, got "done"`},
		{"status a boolean", deployJSON(map[string]string{"status": `true`}), `status: must be a string, got boolean`},
		{"actor missing", deployJSON(map[string]string{"actor": "-"}), `actor: required`},
		{"started_at missing", deployJSON(map[string]string{"started_at": "-"}), `started_at: required`},
		{"started_at bad", deployJSON(map[string]string{"started_at": `"yesterday"`}), `started_at: not RFC 3339: "yesterday"`},
		{"started_at no zone", deployJSON(map[string]string{"started_at": `"2026-03-02T10:00:00"`}), `started_at: not RFC 3339: "2026-03-02T10:00:00"`},
		{"started_at a number", deployJSON(map[string]string{"started_at": `1772445600`}), `started_at: must be a string, got number`},
		{"finished_at bad", deployJSON(map[string]string{"finished_at": `"2026-03-02 10:05"`}), `finished_at: not RFC 3339: "2026-03-02 10:05"`},
		{"finished_at before started_at", deployJSON(map[string]string{"finished_at": `"2026-03-02T09:59:59Z"`}), `finished_at: before started_at`},
		{"finished_at missing on success", deployJSON(map[string]string{"finished_at": "-"}), `finished_at: required when status is success`},
		{"finished_at missing on failure", deployJSON(map[string]string{"finished_at": "-", "status": `"failure"`}), `finished_at: required when status is failure`},
		{"finished_at while in progress", deployJSON(map[string]string{"status": `"in_progress"`}), `finished_at: must be absent while status is in_progress`},
		{"unknown service, no repo", deployJSON(map[string]string{"service": `"x"`}), `service: unknown service "x" (not in scope.services) and no repo given`},
		{"repo not of service", deployJSON(map[string]string{"repo": `"a/b"`}), `repo: "a/b" is not a repository of service "payments" (scope.services.payments.repos)`},
		{"repo ambiguous", deployJSON(map[string]string{"service": `"web"`}), `repo: required: service "web" maps to 2 repositories`},
		{"service without repos", deployJSON(map[string]string{"service": `"empty"`}), `repo: required: service "empty" has no repositories (scope.services.empty.repos)`},
		{"repo malformed", deployJSON(map[string]string{"repo": `"payments"`}), `repo: must be owner/name, got "payments"`},
		{"repo three parts", deployJSON(map[string]string{"repo": `"a/b/c"`}), `repo: must be owner/name, got "a/b/c"`},
		{"pipeline a number", deployJSON(map[string]string{"pipeline": `7`}), `pipeline: must be a string, got number`},
		{"url an array", deployJSON(map[string]string{"url": `[]`}), `url: must be a string, got array`},
		{"version an object", deployJSON(map[string]string{"version": `{"v":1}`}), `version: must be a string, got object`},
		{"several problems", `{"id":"","service":"payments","environment":"prod","sha":"abc","status":"done","actor":"a","started_at":"x","bogus":1,"alpha":2}`,
			`unknown field "alpha"; unknown field "bogus"; id: required; sha: must be 40 hex characters, got "abc"; status: must be success, failure or in_progress, got "done"; started_at: not RFC 3339: "x"`},
		{"empty object", `{}`, `id: required; service: required; environment: required; sha: required; status: required; actor: required; started_at: required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.line), testOptions())
			if err == nil {
				t.Fatalf("accepted %+v; want error %q", d, c.wantErr)
			}
			if err.Error() != c.wantErr {
				t.Errorf("error\n got  %s\n want %s", err, c.wantErr)
			}
			if d != (model.Deploy{}) {
				t.Errorf("rejected parse returned a deploy: %+v", d)
			}
		})
	}
}

func TestParseNowDefault(t *testing.T) {
	before := time.Now()
	d, err := Parse([]byte(deployJSON(nil)), Options{Services: testOptions().Services})
	if err != nil {
		t.Fatal(err)
	}
	if d.ReceivedAt.Before(before.Add(-time.Second)) || d.ReceivedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("ReceivedAt = %v, want about now", d.ReceivedAt)
	}
}
