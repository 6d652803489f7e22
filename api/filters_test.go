package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// Filter values are literal, a value that cannot match is a 400 naming the
// parameter (never an empty 200 an auditor reads as "no failures"), and
// nothing reaches the client as a 500 with the engine's text.
func TestFiltersLiteralAndValidated(t *testing.T) {
	e := newEnv(t, func(s *api.Server) { s.Service.Rules = []string{"CM-1", "CM-2"} })
	seedForAuth(t, e)
	at := ts(t, "2026-03-01T10:00:00Z")
	e.findings(t, finding("CM-2", "acme/api#7", model.Fail, at, at.Add(time.Minute)))
	for _, c := range []struct {
		path string
		code int
		err  string
	}{
		{"/v1/findings?outcome=bogus", 400, `outcome: unknown outcome "bogus" (one of pass, fail, pending, waived, not_applicable, error)`},
		{"/v1/findings?outcome=FAIL", 400, `outcome: unknown outcome "FAIL" (one of pass, fail, pending, waived, not_applicable, error)`},
		{"/v1/findings?rule=cm-2", 400, `rule: unknown rule "cm-2"; rule ids are written CM-2`},
		{"/v1/findings?rule=CM-9", 400, `rule: unknown rule "CM-9" (one of CM-1, CM-2)`},
		{"/v1/findings?repo=" + url.QueryEscape(`x\`), 400, `repo: must be owner/name, got "x\\"`},
		{"/v1/findings?repo=" + url.QueryEscape("acme/api\n"), 400, `repo: must be owner/name, got "acme/api\n"`},
		{"/v1/findings?to=9999-12-31", 400, `to: 9999-12-31T23:59:59.999Z is out of range (1970-01-01 .. 2299-12-31 UTC)`},
		{"/v1/findings?from=0001-01-02", 400, `from: 0001-01-02T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)`},
		{"/v1/changes?to=9999-12-31", 400, `to: 9999-12-31T23:59:59.999Z is out of range (1970-01-01 .. 2299-12-31 UTC)`},
		{"/v1/changes?repo=nope", 400, `repo: must be owner/name, got "nope"`},
	} {
		code, _, body := e.get(t, c.path, tokAuditor)
		if code != c.code {
			t.Errorf("GET %s = %d, want %d: %s", c.path, code, c.code, body)
			continue
		}
		if msg := decodeError(t, body); msg != c.err {
			t.Errorf("GET %s: error %q, want %q", c.path, msg, c.err)
		}
	}
	count := func(path string) int {
		var out struct {
			Findings []api.FindingView `json:"findings"`
			Changes  []api.ChangeView  `json:"changes"`
		}
		e.getJSON(t, path, http.StatusOK, &out)
		return len(out.Findings) + len(out.Changes)
	}
	for path, want := range map[string]int{
		"/v1/findings?repo=acme/api&rule=CM-2&outcome=fail": 1,
		"/v1/findings?repo=ACME/Api":                        2, // case-insensitive, as scope globs
		"/v1/findings?repo=" + url.QueryEscape(`acme\/api`): 0, // taken literally: no escape sequences
		"/v1/changes?repo=Acme/API":                         1,
		"/v1/changes?repo=" + url.QueryEscape(`acme\/api`):  0,
	} {
		if got := count(path); got != want {
			t.Errorf("GET %s: %d rows, want %d", path, got, want)
		}
	}
}

// A sample period outside the evidence range is refused naming the field.
func TestSamplePeriodOutOfRange(t *testing.T) {
	_, err := api.ParseSample(api.SampleRequest{From: "2026-01-01", To: "9999-12-31", Size: "5"}, "test")
	if err == nil || err.Error() != "to: 9999-12-31T23:59:59.999Z is out of range (1970-01-01 .. 2299-12-31 UTC)" {
		t.Errorf("ParseSample: %v", err)
	}
}
