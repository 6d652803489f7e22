package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/changeproof/changeproof/api"
)

// scrape GETs /metrics and returns its samples as "name{labels}" -> value.
func scrape(t *testing.T, e *env) map[string]float64 {
	t.Helper()
	code, _, body := e.get(t, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[name+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	return out
}

// /metrics reports the current findings by rule and outcome, readiness,
// and the requests answered by route pattern and status code.
func TestMetricsFindingsReadyAndRequests(t *testing.T) {
	var notReady error
	e := newEnv(t, func(s *api.Server) {
		s.Ready = func(context.Context) error { return notReady }
	})
	seedFindings(t, e)
	before := scrape(t, e) // counters are the process's: compare increments
	e.get(t, "/v1/findings", tokAuditor)
	e.get(t, "/v1/findings", tokAuditor)
	e.get(t, "/v1/findings", "")
	e.get(t, "/v1/changes/acme/api/123456", tokAuditor)
	e.get(t, "/no/such/path", "")

	m := scrape(t, e)
	for k, want := range map[string]float64{
		`changeproof_http_requests_total{code=200,route=GET /v1/findings}`:                        2,
		`changeproof_http_requests_total{code=401,route=GET /v1/findings}`:                        1,
		`changeproof_http_requests_total{code=404,route=GET /v1/changes/{owner}/{repo}/{number}}`: 1,
		`changeproof_http_requests_total{code=404,route=unmatched}`:                               1,
		`changeproof_ready{}`: 1,
	} {
		if strings.HasPrefix(k, "changeproof_http") {
			want += before[k]
		}
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	counts, err := e.st.FindingCounts(e.ctx)
	if err != nil || len(counts) == 0 {
		t.Fatalf("%v %v", counts, err)
	}
	for _, c := range counts {
		k := "changeproof_findings{outcome=" + c.Outcome + ",rule=" + c.Rule + "}"
		if m[k] != float64(c.Count) {
			t.Errorf("%s = %v, want %d", k, m[k], c.Count)
		}
	}

	notReady = errors.New("store down")
	if m := scrape(t, e); m[`changeproof_ready{}`] != 0 {
		t.Error("changeproof_ready 1 while /readyz fails")
	}
}
