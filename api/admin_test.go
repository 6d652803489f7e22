package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// send requests method path with the token and body, and returns the
// status and the decoded {"error"} (if any) and raw body.
func (e *env) send(t *testing.T, method, path, token, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var er struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(b, &er)
	return resp.StatusCode, er.Error, b
}

// Maintenance is for admins only; the refusal says so.
func TestAdminRoutesNeedAdmin(t *testing.T) {
	e := newEnv(t, func(s *api.Server) { s.Admin = &api.Admin{Store: s.Service.Store} })
	for _, tok := range []string{tokAuditor, tokIngest} {
		code, msg, _ := e.send(t, "GET", "/v1/admin/stats", tok, "")
		role := map[string]string{tokAuditor: "auditor", tokIngest: "ingest"}[tok]
		if code != http.StatusForbidden || msg != "role "+role+" cannot run maintenance (needs admin)" {
			t.Errorf("%s: %d %q", role, code, msg)
		}
	}
	if code, _, _ := e.send(t, "GET", "/v1/admin/stats", tokAdmin, ""); code != http.StatusOK {
		t.Errorf("admin: %d", code)
	}
	// Without an Admin, no maintenance routes.
	e2 := newEnv(t)
	if code, _, _ := e2.send(t, "GET", "/v1/admin/stats", tokAdmin, ""); code != http.StatusNotFound {
		t.Errorf("no Admin: %d, want 404", code)
	}
}

// POST /v1/admin/alerts/retry reopens the failed alerts it names (all
// when none are named) and wakes the sender; sent alerts stay sent.
func TestAdminRetryAlerts(t *testing.T) {
	woken := 0
	e := newEnv(t, func(s *api.Server) {
		s.Admin = &api.Admin{Store: s.Service.Store, AlertsRequeued: func() { woken++ }}
	})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	alert := func(rule, subject string, at time.Time) outbox.Alert {
		return outbox.Alert{ID: rule + "|" + subject + "|fail", Rule: rule, Subject: subject, Transition: "fail", Repo: "acme/api",
			CreatedAt: at, Finding: model.Finding{Rule: rule, Subject: subject, Outcome: model.Fail, Reason: "r", Repo: "acme/api",
				OccurredAt: at, EvaluatedAt: at}}
	}
	as := []outbox.Alert{alert("CM-2", "acme/api#1", t0), alert("CM-3", "acme/api#2", t0.Add(time.Second)), alert("CM-3", "acme/api#3", t0.Add(2*time.Second))}
	if _, err := e.st.EnqueueAlerts(e.ctx, as); err != nil {
		t.Fatal(err)
	}
	rows, err := e.st.Alerts(e.ctx, []string{as[0].ID, as[1].ID, as[2].ID})
	if err != nil || len(rows) != 3 {
		t.Fatalf("alerts: %v %d", err, len(rows))
	}
	for i := range rows {
		rows[i].State, rows[i].Attempts, rows[i].LastError = outbox.Failed, 1, "no_service"
		if rows[i].ID == as[2].ID {
			rows[i].State, rows[i].SentAt = outbox.Sent, t0.Add(time.Minute)
		}
	}
	if err := e.st.UpdateAlerts(e.ctx, rows, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	code, _, b := e.send(t, "POST", "/v1/admin/alerts/retry", tokAdmin, `{"ids":["`+as[0].ID+`","`+as[2].ID+`"]}`)
	if code != http.StatusOK || strings.TrimSpace(string(b)) != "{\n  \"requeued\": 1\n}" || woken != 1 {
		t.Fatalf("retry one: %d %s (woken %d)", code, b, woken)
	}
	code, _, b = e.send(t, "POST", "/v1/admin/alerts/retry", tokAdmin, "")
	if code != http.StatusOK || !strings.Contains(string(b), `"requeued": 1`) {
		t.Fatalf("retry all: %d %s", code, b)
	}
	queued, err := e.st.ListAlerts(e.ctx, outbox.Queued, 10)
	if err != nil || len(queued) != 2 {
		t.Fatalf("queued after the retries: %d (%v)", len(queued), err)
	}
	if code, _, b = e.send(t, "POST", "/v1/admin/alerts/retry", tokAdmin, ""); !strings.Contains(string(b), `"requeued": 0`) || woken != 2 {
		t.Fatalf("nothing left to retry: %d %s (woken %d)", code, b, woken)
	}
}

// A backfill job: bad requests name the field, a server that cannot
// backfill says why (503), one job at a time (409), and the result or the
// error is reported afterwards.
func TestAdminBackfillJob(t *testing.T) {
	none := newEnv(t, func(s *api.Server) {
		s.Admin = &api.Admin{Store: s.Service.Store, NoBackfill: "github.token: required for backfill"}
	})
	if code, msg, _ := none.send(t, "POST", "/v1/admin/backfill", tokAdmin, `{"since":"2026-01-01"}`); code != http.StatusServiceUnavailable ||
		msg != "this server cannot backfill: github.token: required for backfill" {
		t.Errorf("no backfill: %d %q", code, msg)
	}

	release := make(chan error)
	var got api.BackfillRequest
	e := newEnv(t, func(s *api.Server) {
		s.Admin = &api.Admin{Store: s.Service.Store, Backfill: func(ctx context.Context, req api.BackfillRequest, progress func(api.BackfillProgress)) (api.BackfillResult, error) {
			got = req
			progress(api.BackfillProgress{Repo: "acme/api", Phase: "pulls", PRs: 3, Repos: 1, RateRemaining: 4999})
			if err := <-release; err != nil {
				return api.BackfillResult{Repos: 0}, err
			}
			return api.BackfillResult{Repos: 1, PRs: 3, OutOfScope: []string{"x/y"}}, nil
		}}
	})
	for body, want := range map[string]string{
		`{}`:                                   "since: required",
		`{"since":"March"}`:                    `since: want YYYY-MM-DD, got "March"`,
		`{"since":"2026-01-01","repos":["x"]}`: `repos: want owner/name, got "x"`,
		`{"since":"2026-01-01","concurrency":-1}`: "concurrency: want 0 (default 4) to 64, got -1",
		`{"since":"2026-01-01","repo":"a/b"}`:     `body: json: unknown field "repo"`,
	} {
		if code, msg, _ := e.send(t, "POST", "/v1/admin/backfill", tokAdmin, body); code != http.StatusBadRequest || msg != want {
			t.Errorf("%s: %d %q, want 400 %q", body, code, msg, want)
		}
	}
	if code, _, _ := e.send(t, "GET", "/v1/admin/backfill", tokAdmin, ""); code != http.StatusNotFound {
		t.Errorf("before any job: %d", code)
	}
	code, _, b := e.send(t, "POST", "/v1/admin/backfill", tokAdmin, `{"since":"2026-01-01","repos":["acme/api"],"concurrency":2}`)
	var job api.BackfillJob
	if err := json.Unmarshal(b, &job); code != http.StatusAccepted || err != nil || job.State != api.JobRunning || job.RequestedBy != "root" {
		t.Fatalf("start: %d %s", code, b)
	}
	code, _, b = e.send(t, "POST", "/v1/admin/backfill", tokAdmin, `{"since":"2026-02-01"}`)
	var busy struct {
		Error string          `json:"error"`
		Job   api.BackfillJob `json:"job"`
	}
	if err := json.Unmarshal(b, &busy); code != http.StatusConflict || err != nil || busy.Job.ID != job.ID || !strings.HasPrefix(busy.Error, "a backfill is already running") {
		t.Fatalf("second start: %d %s", code, b)
	}
	wait := func(state string) api.BackfillJob {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var j api.BackfillJob
			if code, _, b := e.send(t, "GET", "/v1/admin/backfill", tokAdmin, ""); code == http.StatusOK && json.Unmarshal(b, &j) == nil && j.State == state &&
				(state != api.JobRunning || j.Progress.PRs == 3) {
				return j
			}
		}
		t.Fatalf("the job never reached %s", state)
		return api.BackfillJob{}
	}
	if j := wait(api.JobRunning); j.Progress.Repo != "acme/api" || j.Progress.RateRemaining != 4999 {
		t.Errorf("progress: %+v", j.Progress)
	}
	release <- nil
	j := wait(api.JobSucceeded)
	if j.Result == nil || j.Result.PRs != 3 || j.FinishedAt.IsZero() || got.Concurrency != 2 || got.Repos[0] != "acme/api" {
		t.Errorf("finished job: %+v (request %+v)", j, got)
	}
	// The next one may start; its failure is reported.
	if code, _, _ := e.send(t, "POST", "/v1/admin/backfill", tokAdmin, `{"since":"2026-01-01"}`); code != http.StatusAccepted {
		t.Fatalf("after the first: %d", code)
	}
	release <- errors.New("GET /repos/acme/api/pulls: 401 Bad credentials")
	if j := wait(api.JobFailed); j.Error != "GET /repos/acme/api/pulls: 401 Bad credentials" || j.Result != nil {
		t.Errorf("failed job: %+v", j)
	}
}
