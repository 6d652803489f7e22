package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/store"
)

// Admin is the operator's maintenance of a store: verify the raw log's
// hash chains, count rows, list dead letters and conflicts, reopen failed
// alerts, and run a GitHub backfill. The CLI calls it directly on a data
// dir and, through the /v1/admin routes (role admin), on a running
// server, so both give the same answers and nothing needs downtime.
// Safe for concurrent use; the zero value with Store set works (without
// backfill).
type Admin struct {
	Store *store.Store
	// Backfill runs one GitHub backfill through this process's evidence
	// log; nil = this process cannot backfill (the reason is NoBackfill).
	Backfill BackfillFunc
	// NoBackfill says why Backfill is nil, for the refusal.
	NoBackfill string
	// AlertsRequeued, if set, is called after failed alerts were put back
	// in the queue (to wake the sender).
	AlertsRequeued func()
	// Now is the clock; nil = time.Now.
	Now func() time.Time

	jobs backfillJobs
}

func (a *Admin) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// VerifyReport is what verify found: every source's links, the conflicts
// kept, and the broken links (the first also under first_broken). It is
// the JSON of `changeproof verify --format json` and GET /v1/admin/verify.
type VerifyReport struct {
	OK          bool               `json:"ok"`
	Links       uint64             `json:"links"`
	Chains      int                `json:"chains"`
	BySource    map[string]uint64  `json:"by_source"`
	Conflicts   uint64             `json:"conflicts"`
	Head        string             `json:"head"`
	FirstBroken *store.BrokenLink  `json:"first_broken"`
	BrokenCount int                `json:"broken_count"`
	Broken      []store.BrokenLink `json:"broken"`
}

// Verify recomputes the raw log's hash chains over [from, to] (zero =
// open) and counts the conflicts kept. A broken chain is a report with OK
// false, not an error; an error means the store could not be read.
func (a *Admin) Verify(ctx context.Context, from, to time.Time) (VerifyReport, error) {
	res, err := a.Store.Verify(ctx, from, to)
	if err != nil {
		return VerifyReport{}, err
	}
	conflicts, err := a.Store.Count(ctx, "conflicts")
	if err != nil {
		return VerifyReport{}, err
	}
	broken := res.Broken
	if broken == nil {
		broken = []store.BrokenLink{}
	}
	bySource := res.BySource
	if bySource == nil {
		bySource = map[string]uint64{}
	}
	return VerifyReport{OK: res.OK(), Links: res.Links, Chains: res.Chains, BySource: bySource, Conflicts: conflicts,
		Head: res.Head, FirstBroken: res.First(), BrokenCount: res.BrokenCount, Broken: broken}, nil
}

// StatsTables are the tables Stats counts, in its order.
var StatsTables = []string{"raw_deliveries", "pull_requests", "reviews", "pushes", "protection_events", "deploys",
	"access_events", "dead_letters", "conflicts", "findings", "waivers", "alerts"}

// TableCount is one table's rows: distinct (after replacement: re-written
// derived rows collapse) and stored (before replacement; for the
// append-only raw log the two are equal).
type TableCount struct {
	Table    string `json:"table"`
	Distinct uint64 `json:"distinct"`
	Stored   uint64 `json:"stored"`
}

// Stats counts the rows of every table in StatsTables.
func (a *Admin) Stats(ctx context.Context) ([]TableCount, error) {
	out := make([]TableCount, 0, len(StatsTables))
	for _, t := range StatsTables {
		n, err := a.Store.Count(ctx, t)
		if err != nil {
			return nil, err
		}
		phys, err := a.Store.CountPhysical(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, TableCount{Table: t, Distinct: n, Stored: phys})
	}
	return out, nil
}

// DeadLetters lists accepted events that could not be derived, newest
// first, at most limit (limit <= 0: 100).
func (a *Admin) DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	dls, err := a.Store.DeadLetters(ctx, limit)
	if dls == nil && err == nil {
		dls = []store.DeadLetter{}
	}
	return dls, err
}

// Conflicts lists the events refused because their id held other bytes,
// oldest first, at most limit (0 = all).
func (a *Admin) Conflicts(ctx context.Context, limit int) ([]store.StoredConflict, error) {
	cs, err := a.Store.Conflicts(ctx, max(limit, 0))
	if cs == nil && err == nil {
		cs = []store.StoredConflict{}
	}
	return cs, err
}

// RetryAlerts puts failed alerts back in the send queue (those of ids; all
// of them when ids is empty), after the cause (a revoked webhook, a
// renamed channel) was fixed. It returns how many it requeued; each is
// then sent once, in its original place in the send order.
func (a *Admin) RetryAlerts(ctx context.Context, ids []string) (int, error) {
	n, err := a.Store.RequeueFailedAlerts(ctx, ids, a.now())
	if err == nil && n > 0 && a.AlertsRequeued != nil {
		a.AlertsRequeued()
	}
	return n, err
}

// adminRoles may run maintenance.
var adminRoles = map[string]bool{config.RoleAdmin: true}

// adminRoutes registers the maintenance routes (role admin).
func (s *Server) adminRoutes(mux *http.ServeMux) {
	if s.Admin == nil {
		return
	}
	admin := func(h http.HandlerFunc) http.HandlerFunc { return s.guard(adminRoles, h) }
	mux.HandleFunc("GET /v1/admin/verify", admin(s.adminVerify))
	mux.HandleFunc("GET /v1/admin/stats", admin(s.adminStats))
	mux.HandleFunc("GET /v1/admin/deadletters", admin(s.adminDeadLetters))
	mux.HandleFunc("GET /v1/admin/conflicts", admin(s.adminConflicts))
	mux.HandleFunc("POST /v1/admin/alerts/retry", admin(s.adminRetryAlerts))
	mux.HandleFunc("POST /v1/admin/backfill", admin(s.adminStartBackfill))
	mux.HandleFunc("GET /v1/admin/backfill", admin(s.adminBackfillStatus))
}

func (s *Server) adminVerify(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	from, err := ParseBound(v.Get("from"), false)
	if err != nil {
		httpError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	to, err := ParseBound(v.Get("to"), true)
	if err != nil {
		httpError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	rep, err := s.Admin.Verify(r.Context(), from, to)
	if err != nil {
		s.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) adminStats(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Admin.Stats(r.Context())
	if err != nil {
		s.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tables": ts})
}

// limitParam reads ?limit= (absent = 0); errors name the parameter.
func limitParam(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 0 {
		return 0, errors.New("limit: must be a non-negative integer")
	}
	return n, nil
}

func (s *Server) adminDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	dls, err := s.Admin.DeadLetters(r.Context(), limit)
	if err != nil {
		s.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deadletters": dls})
}

func (s *Server) adminConflicts(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cs, err := s.Admin.Conflicts(r.Context(), limit)
	if err != nil {
		s.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conflicts": cs})
}

// RetryAlertsRequest is the body of POST /v1/admin/alerts/retry.
type RetryAlertsRequest struct {
	// IDs are the failed alerts to requeue; empty = every failed alert.
	IDs []string `json:"ids"`
}

// RetryAlertsResult is its answer.
type RetryAlertsResult struct {
	Requeued int `json:"requeued"`
}

func (s *Server) adminRetryAlerts(w http.ResponseWriter, r *http.Request) {
	var body RetryAlertsRequest
	if !decodeBody(w, r, &body) {
		return
	}
	n, err := s.Admin.RetryAlerts(r.Context(), body.IDs)
	if err != nil {
		s.serverError(w, err)
		return
	}
	if s.Log != nil {
		s.Log.Info("failed alerts requeued", zap.String("token_name", TokenName(r.Context())), zap.Int("requeued", n), zap.Strings("ids", body.IDs))
	}
	writeJSON(w, http.StatusOK, RetryAlertsResult{Requeued: n})
}

// decodeBody reads a JSON request body into v (unknown fields refused; an
// empty body leaves v zero); on failure it answers 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		httpError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}
