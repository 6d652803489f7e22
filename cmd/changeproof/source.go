package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/store"
)

// queries answers auditors' questions. Each query command is written once
// against it; localQueries reads the data dir, remote a running server.
// Each call blocks until the answer is complete. Errors: api.ErrNotFound
// for an unknown change, *api.FilterError for a refused filter (local), a
// *statusError with the server's status and reason (remote). Both
// implementations are safe for concurrent use.
type queries interface {
	Findings(ctx context.Context, q api.FindingsQuery) ([]api.FindingView, error)
	Changes(ctx context.Context, q api.ChangesQuery) ([]api.ChangeView, error)
	// Bundle is the evidence of one change: pull request number, or
	// commit sha when number is 0.
	Bundle(ctx context.Context, repo string, number int, sha string) (*api.Bundle, error)
	// Sample draws the sample body asks for (valid: api.ParseSample
	// accepts it) and writes its export into dir.
	Sample(ctx context.Context, body api.SampleRequest, dir string) (*audit.Manifest, error)
	// Report renders the period report [from, to] (valid bounds) in format.
	Report(ctx context.Context, from, to, format string) ([]report.File, error)
}

// maintenance is the operator's work on the store; each maintenance
// command is written once against it. localMaintenance calls api.Admin on
// the data dir, remote the same api.Admin in a running server through
// /v1/admin (role admin), so both answer alike. Each call blocks until
// done (Backfill until the whole backfill is); a remote refusal is a
// *statusError (403 for a token that is not admin's, 409 for a backfill
// already running). Safe for concurrent use.
type maintenance interface {
	Verify(ctx context.Context, from, to time.Time) (api.VerifyReport, error)
	Stats(ctx context.Context) ([]api.TableCount, error)
	DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error)
	Conflicts(ctx context.Context, limit int) ([]store.StoredConflict, error)
	RetryAlerts(ctx context.Context, ids []string) (int, error)
	// Backfill runs a GitHub backfill to its end, calling progress after
	// each step, and returns once what it read is judged.
	Backfill(ctx context.Context, req api.BackfillRequest, progress func(api.BackfillProgress)) (api.BackfillResult, error)
}

// source is where a command's answers come from: a running server
// (--server, --token), else the local data dir (--config, --data-dir).
type source struct {
	common
	server string
	token  string
	svc    *api.Service
	cfg    config.Config // the local configuration, when svc is set
	closer func()
}

func (s *source) register(fs *pflag.FlagSet) {
	s.common.register(fs)
	fs.StringVar(&s.server, "server", "", "base URL of a running changeproof (default: read --data-dir directly)")
	fs.StringVar(&s.token, "token", "", "bearer token for --server (default $CHANGEPROOF_TOKEN)")
}

// remote returns the server client when --server is given; role names the
// token role the commands need, for the error when no token is given.
func (s *source) remote(role string) (*remote, error) {
	if s.server == "" {
		return nil, nil
	}
	if s.token == "" {
		s.token = os.Getenv("CHANGEPROOF_TOKEN")
	}
	if s.token == "" {
		return nil, fmt.Errorf("--server needs --token or CHANGEPROOF_TOKEN (%s token)", role)
	}
	return &remote{server: s.server, token: s.token}, nil
}

// open opens the local data dir (unless --server is given) and keeps the
// evidence service over it in s.svc.
func (s *source) open(ctx context.Context) error {
	if _, err := s.remote("an auditor or admin"); err != nil || s.server != "" {
		return err
	}
	cfg, st, closeStore, err := s.openExisting(ctx)
	if err != nil {
		return err
	}
	s.svc = &api.Service{Store: st, InScope: cfg.Scope.InScope, Rules: ruleIDs()}
	s.cfg, s.closer = cfg, closeStore
	return nil
}

// openExisting opens the data dir, which must exist (a query never creates
// one).
func (s *source) openExisting(ctx context.Context) (config.Config, *store.Store, func(), error) {
	if _, err := os.Stat(s.dataDir); err != nil {
		return config.Config{}, nil, nil, fmt.Errorf("--data-dir %s: %w (run `changeproof serve` or `changeproof demo` first, or pass --server)", s.dataDir, err)
	}
	return s.openLocal(ctx)
}

// queries opens what the query commands read. Call close when done.
func (s *source) queries(ctx context.Context) (queries, error) {
	r, err := s.remote("an auditor or admin")
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r, nil
	}
	if err := s.open(ctx); err != nil {
		return nil, err
	}
	return localQueries{svc: s.svc, cfg: s.cfg}, nil
}

// localQueries answers from the data dir's store, as the configuration
// says (scope, signing key).
type localQueries struct {
	svc *api.Service
	cfg config.Config
}

func (l localQueries) Findings(ctx context.Context, q api.FindingsQuery) ([]api.FindingView, error) {
	return l.svc.Findings(ctx, q)
}
func (l localQueries) Changes(ctx context.Context, q api.ChangesQuery) ([]api.ChangeView, error) {
	return l.svc.Changes(ctx, q)
}
func (l localQueries) Bundle(ctx context.Context, repo string, number int, sha string) (*api.Bundle, error) {
	return l.svc.BundleFor(ctx, repo, number, sha)
}

func (l localQueries) Sample(ctx context.Context, body api.SampleRequest, dir string) (*audit.Manifest, error) {
	req, err := api.ParseSample(body, Version)
	if err != nil {
		return nil, err
	}
	if _, req.ChainHead, err = l.svc.Store.ChainHead(ctx); err != nil {
		return nil, err
	}
	if req.Signer, err = manifestSigner(l.cfg); err != nil {
		return nil, err
	}
	return audit.Export(ctx, auditSource(l.cfg, l.svc), req, dir)
}

func (l localQueries) Report(ctx context.Context, from, to, format string) ([]report.File, error) {
	f, err := api.ParseBound(from, false)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	t, err := api.ParseBound(to, true)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	signer, err := manifestSigner(l.cfg)
	if err != nil {
		return nil, err
	}
	return reporter(l.cfg, l.svc, signer).Files(ctx, f, t, format)
}

// maintenance opens what the maintenance commands work on: the server's
// admin routes, else the data dir's store. Call close when done.
func (s *source) maintenance(ctx context.Context) (maintenance, error) {
	r, err := s.remote("an admin")
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r, nil
	}
	_, st, closeStore, err := s.openExisting(ctx)
	if err != nil {
		return nil, err
	}
	s.closer = closeStore
	return localMaintenance{admin: &api.Admin{Store: st}}, nil
}

// withQueries runs fn against the queries of s (the server, or the local
// data dir, closed when fn returns).
func (s *source) withQueries(fn func(ctx context.Context, q queries) error) error {
	ctx := context.Background()
	q, err := s.queries(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(ctx, q)
}

// withMaintenance runs fn against the maintenance of s (the server, or
// the local data dir, closed when fn returns).
func (s *source) withMaintenance(fn func(ctx context.Context, m maintenance) error) error {
	ctx := context.Background()
	m, err := s.maintenance(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(ctx, m)
}

func (s *source) close() {
	if s.closer != nil {
		s.closer()
	}
}

// localMaintenance is maintenance on the data dir; idle, when set, waits
// until what a backfill wrote is judged.
type localMaintenance struct {
	admin *api.Admin
	idle  func(ctx context.Context) error
}

func (l localMaintenance) Verify(ctx context.Context, from, to time.Time) (api.VerifyReport, error) {
	return l.admin.Verify(ctx, from, to)
}
func (l localMaintenance) Stats(ctx context.Context) ([]api.TableCount, error) {
	return l.admin.Stats(ctx)
}
func (l localMaintenance) DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error) {
	return l.admin.DeadLetters(ctx, limit)
}
func (l localMaintenance) Conflicts(ctx context.Context, limit int) ([]store.StoredConflict, error) {
	return l.admin.Conflicts(ctx, limit)
}
func (l localMaintenance) RetryAlerts(ctx context.Context, ids []string) (int, error) {
	return l.admin.RetryAlerts(ctx, ids)
}
func (l localMaintenance) Backfill(ctx context.Context, req api.BackfillRequest, progress func(api.BackfillProgress)) (api.BackfillResult, error) {
	res, err := l.admin.RunBackfill(ctx, req, progress)
	if l.idle != nil {
		if werr := l.idle(ctx); err == nil {
			err = werr
		}
	}
	return res, err
}

// remote is a running server, reached with a bearer token. It implements
// queries and maintenance over the HTTP API.
type remote struct {
	server, token string
	// poll is the interval between backfill status requests; 0 = 1s.
	poll time.Duration
}

// get fetches path into v.
func (r *remote) get(ctx context.Context, path string, q url.Values, v any) error {
	body, err := r.do(ctx, http.MethodGet, path, q, "", nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// post sends in as JSON to path and decodes the answer into out.
func (r *remote) post(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	body, err := r.do(ctx, http.MethodPost, path, nil, "application/json", b)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, out)
}

// statusError is a server's refusal: the request, its status and reason.
type statusError struct {
	Method, Path string
	Status       int
	Reason       string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Reason)
}

// do sends one request to the server with the token and returns the body
// of a 2xx; any other status is a *statusError naming the request and the
// server's reason (its JSON "error", else the body).
func (r *remote) do(ctx context.Context, method, path string, q url.Values, contentType string, reqBody []byte) ([]byte, error) {
	u := strings.TrimRight(r.server, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		return nil, &statusError{Method: method, Path: path, Status: resp.StatusCode, Reason: e.Error}
	}
	return body, nil
}

// bounds writes from/to as the server parses them back exactly.
func bounds(v url.Values, from, to time.Time) url.Values {
	if !from.IsZero() {
		v.Set("from", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		v.Set("to", to.UTC().Format(time.RFC3339Nano))
	}
	return v
}

func (r *remote) Findings(ctx context.Context, q api.FindingsQuery) ([]api.FindingView, error) {
	v := queryValues(map[string]string{"rule": q.Rule, "outcome": q.Outcome, "repo": q.Repo})
	if q.History {
		v.Set("history", "true")
	}
	var out struct {
		Findings []api.FindingView `json:"findings"`
	}
	err := r.get(ctx, "/v1/findings", bounds(v, q.From, q.To), &out)
	return out.Findings, err
}

func (r *remote) Changes(ctx context.Context, q api.ChangesQuery) ([]api.ChangeView, error) {
	v := queryValues(map[string]string{"repo": q.Repo})
	if q.InScope {
		v.Set("in_scope", "true")
	}
	var out struct {
		Changes []api.ChangeView `json:"changes"`
	}
	err := r.get(ctx, "/v1/changes", bounds(v, q.From, q.To), &out)
	return out.Changes, err
}

func (r *remote) Bundle(ctx context.Context, repo string, number int, sha string) (*api.Bundle, error) {
	path := fmt.Sprintf("/v1/changes/%s/%d", repo, number)
	if sha != "" {
		path = fmt.Sprintf("/v1/changes/%s/commit/%s", repo, sha)
	}
	b := &api.Bundle{}
	if err := r.get(ctx, path, nil, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (r *remote) Verify(ctx context.Context, from, to time.Time) (api.VerifyReport, error) {
	var rep api.VerifyReport
	err := r.get(ctx, "/v1/admin/verify", bounds(url.Values{}, from, to), &rep)
	return rep, err
}

func (r *remote) Stats(ctx context.Context) ([]api.TableCount, error) {
	var out struct {
		Tables []api.TableCount `json:"tables"`
	}
	err := r.get(ctx, "/v1/admin/stats", nil, &out)
	return out.Tables, err
}

func (r *remote) DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error) {
	var out struct {
		DeadLetters []store.DeadLetter `json:"deadletters"`
	}
	err := r.get(ctx, "/v1/admin/deadletters", url.Values{"limit": {strconv.Itoa(limit)}}, &out)
	return out.DeadLetters, err
}

func (r *remote) Conflicts(ctx context.Context, limit int) ([]store.StoredConflict, error) {
	var out struct {
		Conflicts []store.StoredConflict `json:"conflicts"`
	}
	err := r.get(ctx, "/v1/admin/conflicts", url.Values{"limit": {strconv.Itoa(limit)}}, &out)
	return out.Conflicts, err
}

func (r *remote) RetryAlerts(ctx context.Context, ids []string) (int, error) {
	var out api.RetryAlertsResult
	err := r.post(ctx, "/v1/admin/alerts/retry", api.RetryAlertsRequest{IDs: ids}, &out)
	return out.Requeued, err
}

// Backfill starts the backfill as the server's job and follows it to its
// end. A job already running is an error naming it; interrupting the
// command (ctx) leaves the server's job running.
func (r *remote) Backfill(ctx context.Context, req api.BackfillRequest, progress func(api.BackfillProgress)) (api.BackfillResult, error) {
	var job api.BackfillJob
	if err := r.post(ctx, "/v1/admin/backfill", req, &job); err != nil {
		var se *statusError
		if errors.As(err, &se) && se.Status == http.StatusConflict {
			return api.BackfillResult{}, fmt.Errorf("%w (wait for it, or follow it with GET /v1/admin/backfill)", err)
		}
		return api.BackfillResult{}, err
	}
	every := r.poll
	if every <= 0 {
		every = time.Second
	}
	last := api.BackfillProgress{}
	for {
		if job.ID != "" && job.Progress != last && progress != nil {
			last = job.Progress
			progress(last)
		}
		switch job.State {
		case api.JobSucceeded:
			return *job.Result, nil
		case api.JobFailed:
			res := api.BackfillResult{}
			if job.Result != nil {
				res = *job.Result
			}
			return res, fmt.Errorf("backfill %s failed on the server: %s", job.ID, job.Error)
		}
		select {
		case <-ctx.Done():
			return api.BackfillResult{}, ctx.Err()
		case <-time.After(every):
		}
		id := job.ID
		if err := r.get(ctx, "/v1/admin/backfill", nil, &job); err != nil {
			return api.BackfillResult{}, err
		}
		if job.ID != id {
			return api.BackfillResult{}, fmt.Errorf("backfill %s: the server now reports job %s (was it restarted?)", id, job.ID)
		}
	}
}
