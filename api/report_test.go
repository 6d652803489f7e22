package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
)

func unzipBody(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// TestReportEndpoint: GET /v1/report answers a zip whose numbers are
// GET /v1/findings's for the same from/to, including the inclusive last
// day; bad requests name the parameter.
func TestReportEndpoint(t *testing.T) {
	gen := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, func(s *api.Server) {
		s.Report = &api.Reporter{Service: s.Service, Version: "test", Now: func() time.Time { return gen }}
	})
	cat := rules.Catalogue()
	a, b := cat[0].ID, cat[1].ID
	ev := ts(t, "2026-07-01T00:00:00Z")
	e.findings(t,
		finding(a, "acme/api#1", model.Pass, ts(t, "2026-01-31T23:59:59.999Z"), ev), // before the period
		finding(a, "acme/api#2", model.Pass, ts(t, "2026-02-01T00:00:00Z"), ev),
		finding(a, "acme/api#3", model.Fail, ts(t, "2026-02-15T10:00:00Z"), ev),
		finding(b, "acme/api#3", model.Fail, ts(t, "2026-02-28T23:59:59.999Z"), ev),      // last millisecond of the last day
		finding(b, "acme/api#4", model.NotApplicable, ts(t, "2026-03-01T00:00:00Z"), ev), // after
		finding(b, "acme/api#5", model.Fail, ts(t, "2026-02-10T00:00:00Z"), ev.Add(-time.Hour)),
	)
	// ... and passes after a second look: remediated.
	e.findings(t, finding(b, "acme/api#5", model.Pass, ts(t, "2026-02-10T00:00:00Z"), ev))
	var fromAPI struct{ Findings []model.Finding }
	e.getJSON(t, "/v1/findings?from=2026-02-01&to=2026-02-28", 200, &fromAPI)
	want := map[string]map[model.Outcome]int{}
	for _, f := range fromAPI.Findings {
		if want[f.Rule] == nil {
			want[f.Rule] = map[model.Outcome]int{}
		}
		want[f.Rule][f.Outcome]++
	}
	if len(fromAPI.Findings) != 4 {
		t.Fatalf("the findings API returns %d findings for February, want 4", len(fromAPI.Findings))
	}

	code, h, body := e.get(t, "/v1/report?from=2026-02-01&to=2026-02-28", tokAuditor)
	if code != http.StatusOK || h.Get("Content-Type") != "application/zip" {
		t.Fatalf("GET /v1/report: %d %s %s", code, h.Get("Content-Type"), body)
	}
	files := unzipBody(t, body)
	for _, name := range []string{"report.html", "report.json", "exceptions.csv", "manifest.json"} {
		if len(files[name]) == 0 {
			t.Fatalf("the report zip lacks %s (has %d files)", name, len(files))
		}
	}
	var rep struct {
		Controls []struct {
			ID       string
			Outcomes map[model.Outcome]int
		}
		Exceptions []struct {
			Rule, Subject, Status string
			FailReason            string `json:"fail_reason"`
		}
	}
	if err := json.Unmarshal(files["report.json"], &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Controls) < len(cat) {
		t.Fatalf("report lists %d controls, the catalogue has %d", len(rep.Controls), len(cat))
	}
	for _, c := range rep.Controls {
		for o, n := range c.Outcomes {
			if n != want[c.ID][o] {
				t.Errorf("%s %s: report %d, findings API %d", c.ID, o, n, want[c.ID][o])
			}
		}
	}
	if len(rep.Exceptions) != 3 || rep.Exceptions[2].Subject != "acme/api#5" || rep.Exceptions[2].Status != "remediated" ||
		rep.Exceptions[2].FailReason != b+" fail" {
		t.Fatalf("exceptions = %+v, want the two fails and one remediated", rep.Exceptions)
	}
	// Same data, same bytes.
	_, _, again := e.get(t, "/v1/report?from=2026-02-01&to=2026-02-28", tokAuditor)
	if !bytes.Equal(body, again) {
		t.Error("two reports of the same data at the same time differ")
	}

	code, _, body = e.get(t, "/v1/report?from=2026-02-01&to=2026-02-28&format=oscal", tokAuditor)
	if files := unzipBody(t, body); code != 200 || len(files["assessment-results.json"]) == 0 {
		t.Fatalf("format=oscal: %d, files %v", code, files)
	}

	for path, prefix := range map[string]string{
		"/v1/report?to=2026-02-28":                           "from and to",
		"/v1/report?from=2026-02-01&to=yesterday":            "to:",
		"/v1/report?from=2026-03-01&to=2026-02-28":           "to: before from",
		"/v1/report?from=2026-02-01&to=2026-02-28&format=pd": "format",
	} {
		e.wantError(t, path, http.StatusBadRequest, prefix)
	}
	if code, _, _ := e.get(t, "/v1/report?from=2026-02-01&to=2026-02-28", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := e.get(t, "/v1/report?from=2026-02-01&to=2026-02-28", tokIngest); code != http.StatusForbidden {
		t.Errorf("ingest token: %d", code)
	}
}
