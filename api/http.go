package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/model"
	"go.uber.org/zap"
)

// Authorizer maps a bearer token to its role and name; ok false = unknown.
type Authorizer func(token string) (role, name string, ok bool)

// Server routes the HTTP API.
type Server struct {
	Service *Service
	Auth    Authorizer
	// Webhook serves POST /webhooks/github (authenticated by HMAC, not tokens).
	Webhook http.Handler
	// Deploys and Access serve POST /v1/deploys and /v1/access (role
	// ingest or admin).
	Deploys, Access http.Handler
	// Audit serves POST /v1/samples (role auditor or admin); nil = off.
	Audit *AuditSource
	// Signer signs the manifests of samples and reports; nil = unsigned.
	Signer audit.ManifestSigner
	// UI serves the auditor's web pages under /ui/; nil = no UI.
	UI http.Handler
	// Report serves GET /v1/report (role auditor or admin); nil = off.
	Report http.Handler
	// Admin serves the maintenance routes under /v1/admin (role admin);
	// nil = off.
	Admin *Admin
	// Version is the tool version written into sample manifests.
	Version string
	// Ready reports whether events can be accepted and stored now.
	Ready func(ctx context.Context) error
	Log   *zap.Logger
}

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Webhook != nil {
		mux.Handle("/webhooks/github", s.Webhook)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.Ready(ctx); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /v1/openapi.json", serveOpenAPI)
	if s.Deploys != nil {
		mux.HandleFunc("POST /v1/deploys", s.guard(writeRoles, s.Deploys.ServeHTTP))
	}
	if s.Access != nil {
		mux.HandleFunc("POST /v1/access", s.guard(writeRoles, s.Access.ServeHTTP))
	}
	if s.Audit != nil {
		mux.HandleFunc("POST /v1/samples", s.read(s.samples))
	}
	if s.Report != nil {
		mux.HandleFunc("GET /v1/report", s.read(s.Report.ServeHTTP))
	}
	if s.UI != nil {
		mux.Handle("/ui/", s.UI)
		mux.Handle("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	}
	// A receiver-only process has no evidence to serve.
	if s.Service != nil {
		mux.HandleFunc("GET /v1/findings", s.read(s.findings))
		mux.HandleFunc("GET /v1/changes", s.read(s.changes))
		mux.HandleFunc("GET /v1/changes/{owner}/{repo}/{number}", s.read(s.bundleByNumber))
		mux.HandleFunc("GET /v1/changes/{owner}/{repo}/commit/{sha}", s.read(s.bundleBySHA))
	}
	s.adminRoutes(mux)
	return instrumentRoutes(mux)
}

var (
	readRoles  = map[string]bool{config.RoleAuditor: true, config.RoleAdmin: true}
	writeRoles = map[string]bool{config.RoleIngest: true, config.RoleAdmin: true}
)

// read guards a read endpoint: auditor or admin.
func (s *Server) read(h http.HandlerFunc) http.HandlerFunc { return s.guard(readRoles, h) }

// guard lets a request through when its bearer token has one of roles.
func (s *Server) guard(roles map[string]bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 7235 section 2.1).
		scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
		tok = strings.TrimSpace(tok)
		if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			s.authLog(r, "authentication failed", zap.String("reason", "missing bearer token"))
			w.Header().Set("WWW-Authenticate", `Bearer realm="changeproof"`)
			httpError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		role, name, ok := "", "", false
		if s.Auth != nil {
			role, name, ok = s.Auth(tok)
		}
		if !ok {
			// The token itself is never logged: a mistyped one is often
			// one character away from a real one.
			s.authLog(r, "authentication failed", zap.String("reason", "unknown token"))
			w.Header().Set("WWW-Authenticate", `Bearer realm="changeproof", error="invalid_token"`)
			httpError(w, http.StatusUnauthorized, "unknown token")
			return
		}
		if !roles[role] {
			what := "cannot read evidence (needs auditor or admin)"
			switch {
			case roles[config.RoleIngest]:
				what = "cannot ingest events (needs ingest or admin)"
			case !roles[config.RoleAuditor]:
				what = "cannot run maintenance (needs admin)"
			}
			s.authLog(r, "request refused", zap.String("token_name", name), zap.String("role", role))
			httpError(w, http.StatusForbidden, fmt.Sprintf("role %s %s", role, what))
			return
		}
		s.authLog(r, "request", zap.String("token_name", name), zap.String("role", role))
		h(w, r.WithContext(WithTokenName(r.Context(), name)))
	}
}

// ParseBounds parses a period's from and to bounds with ParseBound; an
// error names the bound ("from: ...", "to: ...").
func ParseBounds(from, to string) (time.Time, time.Time, error) {
	f, err := ParseBound(from, false)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("from: %w", err)
	}
	t, err := ParseBound(to, true)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("to: %w", err)
	}
	return f, t, nil
}

// ParseBound parses a from/to bound: RFC 3339, or YYYY-MM-DD (UTC), where a
// date as upper bound includes that whole day.
func ParseBound(s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	if upper {
		return d.AddDate(0, 0, 1).Add(-time.Millisecond), nil
	}
	return d, nil
}

// listParams reads what the listings (findings, changes) share: the
// period (from, to) and the page (limit, cursor). Errors name the
// parameter.
func listParams(v url.Values) (from, to time.Time, limit int, after string, err error) {
	if from, to, err = ParseBounds(v.Get("from"), v.Get("to")); err != nil {
		return
	}
	limit, after, err = pageParams(v)
	return
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := FindingsQuery{Rule: v.Get("rule"), Outcome: v.Get("outcome"), Repo: v.Get("repo"), History: v.Get("history") == "true"}
	var limit int
	var after string
	var err error
	if q.From, q.To, limit, after, err = listParams(v); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	fs, err := s.Service.Findings(r.Context(), q)
	if err != nil {
		s.serverError(w, err)
		return
	}
	fs, next := page(fs, func(f FindingView) string { return f.Rule + "\x00" + f.Subject }, limit, after)
	// Stream: one finding at a time, so a large answer never sits in memory twice.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // reasons like "0 < 1" stay readable
	_, _ = w.Write([]byte(`{"findings":[`))
	for i, f := range fs {
		if i > 0 {
			_, _ = w.Write([]byte(","))
		}
		_ = enc.Encode(f)
	}
	_, _ = w.Write([]byte("]"))
	if limit > 0 {
		b, _ := json.Marshal(next)
		_, _ = w.Write([]byte(`,"next":` + string(b)))
	}
	_, _ = w.Write([]byte("}\n"))
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := ChangesQuery{Repo: v.Get("repo"), InScope: v.Get("in_scope") == "true"}
	var limit int
	var after string
	var err error
	if q.From, q.To, limit, after, err = listParams(v); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	cs, err := s.Service.Changes(r.Context(), q)
	if err != nil {
		s.serverError(w, err)
		return
	}
	cs, next := page(cs, func(c ChangeView) string { return c.Subject }, limit, after)
	out := map[string]any{"changes": cs}
	if limit > 0 {
		out["next"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) bundleByNumber(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n <= 0 {
		httpError(w, http.StatusBadRequest, "number: must be a pull request number")
		return
	}
	s.bundle(w, r, n, "")
}

func (s *Server) bundleBySHA(w http.ResponseWriter, r *http.Request) {
	sha := strings.ToLower(r.PathValue("sha"))
	if len(sha) != 40 || strings.Trim(sha, "0123456789abcdef") != "" {
		httpError(w, http.StatusBadRequest, "sha: must be a full 40-hex commit SHA")
		return
	}
	s.bundle(w, r, 0, sha)
}

func (s *Server) bundle(w http.ResponseWriter, r *http.Request, n int, sha string) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	b, err := s.Service.BundleFor(r.Context(), repo, n, sha)
	if errors.Is(err, ErrNotFound) {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// serverError answers a failed read: 400 naming the parameter for a
// refused filter, else 500 without the store's text (which is the engine's,
// and says nothing a client can act on); the log has it.
func (s *Server) serverError(w http.ResponseWriter, err error) {
	var fe *FilterError
	if errors.As(err, &fe) {
		httpError(w, http.StatusBadRequest, fe.Error())
		return
	}
	if s.Log != nil {
		s.Log.Error("api", zap.Error(err))
	}
	httpError(w, http.StatusInternalServerError, "could not read evidence; the server log has the cause")
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// SampleRequest is the body of POST /v1/samples.
type SampleRequest struct {
	Population string `json:"population"` // changes (default) | deploys | access
	From       string `json:"from"`       // RFC 3339 or YYYY-MM-DD, inclusive, UTC
	To         string `json:"to"`
	Size       string `json:"size"`      // a number, or "auto" with frequency
	Frequency  string `json:"frequency"` // annual|quarterly|monthly|weekly|daily|recurring
	Seed       string `json:"seed"`      // empty: generated and written to the manifest
}

// ParseSample turns a sample request into an audit.Request; errors name the
// field.
func ParseSample(r SampleRequest, version string) (audit.Request, error) {
	req := audit.Request{Population: r.Population, Frequency: r.Frequency, Seed: r.Seed, ToolVersion: version}
	if req.Population == "" {
		req.Population = audit.PopulationChanges
	}
	var err error
	if r.From == "" || r.To == "" {
		return req, errors.New("from, to: both required (the period to sample)")
	}
	if req.From, req.To, err = ParseBounds(r.From, r.To); err != nil {
		return req, err
	}
	if err := model.CheckTime("from", req.From); err != nil {
		return req, err
	}
	if err := model.CheckTime("to", req.To); err != nil {
		return req, err
	}
	if r.Size == "" && r.Frequency != "" {
		r.Size = "auto"
	}
	if req.Size, err = audit.ParseSize(r.Size); err != nil {
		return req, fmt.Errorf("size: %w", err)
	}
	return req, nil
}

func (s *Server) samples(w http.ResponseWriter, r *http.Request) {
	var body SampleRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		httpError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	req, err := ParseSample(body, s.Version)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.RequestedBy = TokenName(r.Context())
	if _, req.ChainHead, err = s.Service.Store.ChainHead(r.Context()); err != nil {
		s.serverError(w, err)
		return
	}
	req.Signer = s.Signer
	// Build the zip first: a failed export must not leave a half-written
	// 200 response.
	var buf bytes.Buffer
	m, err := audit.ExportZip(r.Context(), *s.Audit, req, &buf)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sample-%s-%s.zip"`,
		m.Period.From.Format("20060102"), m.Period.To.Format("20060102")))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
