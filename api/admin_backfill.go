package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// BackfillRequest is what to backfill from GitHub: the body of POST
// /v1/admin/backfill and the flags of `changeproof backfill github`.
type BackfillRequest struct {
	// Since is the first day read (YYYY-MM-DD, UTC); required.
	Since string `json:"since"`
	// Repos (owner/name) and Orgs (their in-scope repositories) to read;
	// both empty = github.orgs, else the repositories the store knows.
	Repos []string `json:"repos,omitempty"`
	Orgs  []string `json:"orgs,omitempty"`
	// Concurrency caps GitHub requests in flight; 0 = 4.
	Concurrency int `json:"concurrency,omitempty"`
}

// SinceDay parses Since; errors name the field as field.
func (r BackfillRequest) SinceDay(field string) (time.Time, error) {
	if r.Since == "" {
		return time.Time{}, fmt.Errorf("%s: required", field)
	}
	t, err := time.Parse("2006-01-02", r.Since)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: want YYYY-MM-DD, got %q", field, r.Since)
	}
	return t, nil
}

// Validate checks the request; errors name the JSON field.
func (r BackfillRequest) Validate() error {
	if _, err := r.SinceDay("since"); err != nil {
		return err
	}
	if r.Concurrency < 0 || r.Concurrency > 64 {
		return fmt.Errorf("concurrency: want 0 (default 4) to 64, got %d", r.Concurrency)
	}
	for _, repo := range r.Repos {
		if o, n, ok := strings.Cut(repo, "/"); !ok || o == "" || n == "" || strings.Contains(n, "/") {
			return fmt.Errorf("repos: want owner/name, got %q", repo)
		}
	}
	return nil
}

// BackfillProgress is a running backfill's last finished step.
type BackfillProgress struct {
	Repo          string    `json:"repo,omitempty"`
	Phase         string    `json:"phase,omitempty"`
	PRs           int       `json:"prs"`
	Requests      int       `json:"requests"`
	ReposDone     int       `json:"repos_done"`
	Repos         int       `json:"repos"`
	TotalPRs      int       `json:"total_prs"`
	NotModified   int       `json:"not_modified"`
	RateRemaining int       `json:"rate_remaining"`
	RateReset     time.Time `json:"rate_reset,omitzero"`
}

// BackfillResult summarises a finished backfill.
type BackfillResult struct {
	Repos         int `json:"repos"`
	Skipped       int `json:"skipped"`
	PRs           int `json:"prs"`
	MergerLookups int `json:"merger_lookups"`
	Reviews       int `json:"reviews"`
	Pushes        int `json:"pushes"`
	DirectPushes  int `json:"direct_pushes"`
	Protections   int `json:"protections"`
	Requests      int `json:"requests"`
	NotModified   int `json:"not_modified"`
	// GraphQLQueries counts GraphQL queries answered.
	GraphQLQueries int `json:"graphql_queries"`
	Retries        int `json:"retries"`
	RateWaits      int `json:"rate_waits"`
	// OutOfScope are the repositories asked for but not in scope.repos,
	// which were not read.
	OutOfScope []string `json:"out_of_scope"`
}

// BackfillFunc runs one backfill to its end (or ctx's), calling progress
// after each finished step; the request is valid. Its error is the job's.
type BackfillFunc func(ctx context.Context, req BackfillRequest, progress func(BackfillProgress)) (BackfillResult, error)

// Backfill job states.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// BackfillJob is one backfill the server runs: GET /v1/admin/backfill
// reports the latest.
type BackfillJob struct {
	ID          string           `json:"id"`
	State       string           `json:"state"` // running | succeeded | failed
	RequestedBy string           `json:"requested_by"`
	Request     BackfillRequest  `json:"request"`
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  time.Time        `json:"finished_at,omitzero"`
	Progress    BackfillProgress `json:"progress"`
	Result      *BackfillResult  `json:"result,omitempty"`
	Error       string           `json:"error,omitempty"`
}

// ErrBackfillRunning refuses a second backfill while one runs.
var ErrBackfillRunning = errors.New("a backfill is already running (GET /v1/admin/backfill reports it)")

// ErrNoBackfill means this process cannot backfill (Admin.NoBackfill says
// why).
var ErrNoBackfill = errors.New("this server cannot backfill")

// backfillJobs holds the latest job; at most one runs.
type backfillJobs struct {
	mu     sync.Mutex
	latest *BackfillJob
	seq    int
	cancel context.CancelFunc
	done   chan struct{}
}

// RunBackfill validates req and runs it here, to its end: the same work as
// a job, for the CLI on a data dir.
func (a *Admin) RunBackfill(ctx context.Context, req BackfillRequest, progress func(BackfillProgress)) (BackfillResult, error) {
	if err := req.Validate(); err != nil {
		return BackfillResult{}, err
	}
	if a.Backfill == nil {
		return BackfillResult{}, a.noBackfill()
	}
	if progress == nil {
		progress = func(BackfillProgress) {}
	}
	return a.Backfill(ctx, req, progress)
}

func (a *Admin) noBackfill() error {
	if a.NoBackfill == "" {
		return ErrNoBackfill
	}
	return fmt.Errorf("%w: %s", ErrNoBackfill, a.NoBackfill)
}

// StartBackfill starts req as a job in the background and returns it;
// ErrBackfillRunning while another runs, ErrNoBackfill when this process
// cannot backfill, a validation error naming the field for a bad request.
func (a *Admin) StartBackfill(req BackfillRequest, requestedBy string) (BackfillJob, error) {
	if err := req.Validate(); err != nil {
		return BackfillJob{}, err
	}
	if a.Backfill == nil {
		return BackfillJob{}, a.noBackfill()
	}
	j := &a.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.latest != nil && j.latest.State == JobRunning {
		return *j.latest, ErrBackfillRunning
	}
	j.seq++
	job := &BackfillJob{ID: fmt.Sprintf("backfill-%d-%d", a.now().Unix(), j.seq), State: JobRunning,
		RequestedBy: requestedBy, Request: req, StartedAt: a.now(), Progress: BackfillProgress{RateRemaining: -1}}
	j.latest = job
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel, j.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		defer cancel()
		res, err := a.Backfill(ctx, req, func(p BackfillProgress) {
			j.mu.Lock()
			job.Progress = p
			j.mu.Unlock()
		})
		j.mu.Lock()
		defer j.mu.Unlock()
		job.FinishedAt = a.now()
		if err != nil {
			job.State, job.Error = JobFailed, err.Error()
			return
		}
		job.State, job.Result = JobSucceeded, &res
	}(j.done)
	return *job, nil
}

// BackfillStatus returns the latest job; false when none was started.
func (a *Admin) BackfillStatus() (BackfillJob, bool) {
	j := &a.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.latest == nil {
		return BackfillJob{}, false
	}
	job := *j.latest
	if job.Result != nil {
		r := *job.Result
		job.Result = &r
	}
	return job, true
}

// Stop cancels a running backfill and waits for it to end (at shutdown);
// what it wrote stays, and its cursors let the next run resume.
func (a *Admin) Stop() {
	j := &a.jobs
	j.mu.Lock()
	cancel, done := j.cancel, j.done
	j.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *Server) adminStartBackfill(w http.ResponseWriter, r *http.Request) {
	var req BackfillRequest
	if !decodeBody(w, r, &req) {
		return
	}
	job, err := s.Admin.StartBackfill(req, TokenName(r.Context()))
	switch {
	case errors.Is(err, ErrBackfillRunning):
		writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "job": job})
		return
	case errors.Is(err, ErrNoBackfill):
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.Log != nil {
		s.Log.Info("backfill started", zap.String("job", job.ID), zap.String("token_name", job.RequestedBy),
			zap.String("since", req.Since), zap.Strings("repos", req.Repos), zap.Strings("orgs", req.Orgs))
	}
	writeJSON(w, http.StatusAccepted, job)
}

func (s *Server) adminBackfillStatus(w http.ResponseWriter, r *http.Request) {
	job, ok := s.Admin.BackfillStatus()
	if !ok {
		httpError(w, http.StatusNotFound, "no backfill was started since this server started")
		return
	}
	writeJSON(w, http.StatusOK, job)
}
