package ui

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/model"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// Handler serves the workspace under /ui/. Set the fields before the first
// request; safe for concurrent use after that.
type Handler struct {
	// Auth maps a token to its role; only auditor and admin may sign in.
	Auth api.Authorizer
	// Service answers the evidence queries.
	Service *api.Service
	// Audit draws samples (nil hides the sample page).
	Audit *api.AuditSource
	// Reporter computes the period's numbers and the report download.
	Reporter *api.Reporter
	// Signer signs sample manifests; nil = unsigned.
	Signer audit.ManifestSigner
	// ChainHead reads the raw log's head for a sample's manifest.
	ChainHead func(ctx context.Context) (string, error)
	// Version is the tool version samples name.
	Version string
	Log     *zap.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	sessions  sessions
	pagesOnce sync.Once
	pageSet   map[string]*template.Template
}

var pageNames = []string{"signin", "overview", "findings", "change", "evidence", "access", "exceptions", "sample", "error"}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *zap.Logger {
	if h.Log == nil {
		return zap.NewNop()
	}
	return h.Log
}

var funcs = func() template.FuncMap {
	f := template.FuncMap{}
	for k, v := range report.Funcs {
		f[k] = v
	}
	f["colourOf"] = func(o model.Outcome) template.CSS { return template.CSS(report.Colour(o)) }
	f["changeLink"] = SubjectLink
	f["query"] = func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(v.Encode())
	}
	f["plural"] = func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	f["short"] = func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	}
	return f
}()

// pages parses the embedded templates once (a broken template is a
// programming error caught by every test that renders a page).
func (h *Handler) pages() map[string]*template.Template {
	h.pagesOnce.Do(func() {
		layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html"))
		h.pageSet = map[string]*template.Template{}
		for _, name := range pageNames {
			h.pageSet[name] = template.Must(template.Must(layout.Clone()).ParseFS(assets, "templates/"+name+".html"))
		}
	})
	return h.pageSet
}

// ServeHTTP routes /ui/...
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.pages()
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" on form posts, which sameOrigin must refuse.
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cache-Control", "no-store")
	p := strings.TrimPrefix(r.URL.Path, "/ui")
	switch {
	case p == "/style.css" && r.Method == http.MethodGet:
		css, _ := assets.ReadFile("static/style.css")
		hdr.Set("Content-Type", "text/css; charset=utf-8")
		hdr.Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(css)
		return
	case p == "/signin":
		h.signin(w, r)
		return
	}
	v := h.session(r)
	if v == nil {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
			return
		}
		http.Error(w, "signed out: sign in again", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || !validCSRF(v, r.PostForm.Get("csrf")) || !sameOrigin(r) {
			h.log().Warn("ui: form refused (missing or wrong CSRF token, or cross-site)", zap.String("path", r.URL.Path),
				zap.String("remote", r.RemoteAddr))
			h.render(w, r, v, http.StatusForbidden, "error", errorPage{Title: "Form refused",
				Message: "This form was not sent from this site's page or your session changed. Go back, reload the page and try again."})
			return
		}
	}
	switch {
	case p == "/" || p == "":
		http.Redirect(w, r, "/ui/overview", http.StatusSeeOther)
	case p == "/signout" && r.Method == http.MethodPost:
		if c, err := r.Cookie(CookieName); err == nil {
			h.sessions.remove(c.Value)
		}
		setCookie(w, r, "", -1)
		http.Redirect(w, r, "/ui/signin?signed_out=1", http.StatusSeeOther)
	case p == "/overview" && r.Method == http.MethodGet:
		h.overview(w, r, v)
	case p == "/findings" && r.Method == http.MethodGet:
		h.findings(w, r, v)
	case strings.HasPrefix(p, "/changes/") && r.Method == http.MethodGet:
		h.change(w, r, v, strings.TrimPrefix(p, "/changes/"))
	case p == "/evidence" && r.Method == http.MethodGet:
		h.evidence(w, r, v)
	case p == "/access" && r.Method == http.MethodGet:
		h.access(w, r, v)
	case p == "/exceptions" && r.Method == http.MethodGet:
		h.exceptions(w, r, v)
	case p == "/sample" && h.Audit != nil && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		h.sample(w, r, v)
	case p == "/report" && r.Method == http.MethodGet:
		h.report(w, r, v)
	default:
		h.render(w, r, v, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "There is no page at this address."})
	}
}

// session returns the request's live session whose token still holds a
// reading role.
func (h *Handler) session(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	v := h.sessions.get(c.Value, h.now())
	if v == nil {
		return nil
	}
	if role, _, ok := h.authorize(v.token); !ok || role != v.role {
		h.sessions.remove(c.Value)
		return nil
	}
	return v
}

func (h *Handler) authorize(token string) (role, name string, ok bool) {
	if h.Auth == nil {
		return "", "", false
	}
	role, name, ok = h.Auth(token)
	return role, name, ok && (role == config.RoleAuditor || role == config.RoleAdmin)
}

type signinPage struct {
	Error     string
	SignedOut bool
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if h.session(r) != nil {
			http.Redirect(w, r, "/ui/overview", http.StatusSeeOther)
			return
		}
		h.render(w, r, nil, http.StatusOK, "signin", signinPage{SignedOut: r.URL.Query().Get("signed_out") != ""})
	case http.MethodPost:
		if !sameOrigin(r) {
			h.log().Warn("ui: sign-in refused: cross-site form post", zap.String("remote", r.RemoteAddr),
				zap.String("origin", r.Header.Get("Origin")))
			h.render(w, r, nil, http.StatusForbidden, "signin", signinPage{Error: "Sign-in refused: the form was not sent from this site."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			h.render(w, r, nil, http.StatusBadRequest, "signin", signinPage{Error: "The form could not be read."})
			return
		}
		token := strings.TrimSpace(r.PostForm.Get("token"))
		role, name, ok := h.authorize(token)
		if !ok {
			// Never log the token, not even a part of it.
			reason := "unknown token"
			if token == "" {
				reason = "no token given"
			} else if _, _, known := h.Auth(token); known {
				reason = "token's role cannot read evidence"
			}
			h.log().Warn("ui: sign-in failed", zap.String("reason", reason), zap.String("remote", r.RemoteAddr))
			h.render(w, r, nil, http.StatusUnauthorized, "signin", signinPage{Error: "Sign-in failed: that is not an auditor or admin token."})
			return
		}
		id, _ := h.sessions.create(token, name, role, h.now())
		setCookie(w, r, id, int(Lifetime/time.Second))
		h.log().Info("ui: signed in", zap.String("name", name), zap.String("role", role), zap.String("remote", r.RemoteAddr))
		http.Redirect(w, r, "/ui/overview", http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// page is what every page's layout needs.
type page struct {
	Title   string
	Nav     string
	User    string
	Role    string
	CSRF    string
	Sample  bool
	Period  period
	Content any
}

type errorPage struct{ Title, Message string }

func (h *Handler) render(w http.ResponseWriter, r *http.Request, v *session, code int, name string, content any) {
	p := page{Nav: name, Content: content, Sample: h.Audit != nil}
	switch c := content.(type) {
	case errorPage:
		p.Title = c.Title
	case signinPage:
		p.Title = "Sign in"
	}
	if t, ok := content.(interface{ title() string }); ok {
		p.Title = t.title()
	}
	if pp, ok := content.(interface{ periodOf() period }); ok {
		p.Period = pp.periodOf()
	}
	if v != nil {
		p.User, p.Role, p.CSRF = v.name, v.role, v.csrf
	}
	var buf bytes.Buffer
	if err := h.pages()[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		h.log().Error("ui: render", zap.String("page", name), zap.Error(err))
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fail answers a query error: a bad filter is the form's fault (400, named
// parameter); anything else is logged, and the page says only that the
// server log has the cause (never the engine's text).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *session, err error) {
	var fe *api.FilterError
	if errors.As(err, &fe) {
		h.badRequest(w, r, v, fe.Error())
		return
	}
	h.log().Error("ui: query failed", zap.String("path", r.URL.Path), zap.Error(err))
	h.render(w, r, v, http.StatusInternalServerError, "error", errorPage{Title: "Something went wrong",
		Message: "The evidence could not be read; the server log has the cause."})
}

func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, v *session, msg string) {
	h.render(w, r, v, http.StatusBadRequest, "error", errorPage{Title: "Check the form", Message: msg})
}

// period is the observation window the pages show, as typed and parsed.
type period struct {
	From, To         string // as given (YYYY-MM-DD)
	FromTime, ToTime time.Time
}

// periodOf reads from/to, defaulting to the year to date (UTC).
func (h *Handler) periodOf(q url.Values) (period, error) {
	now := h.now().UTC()
	p := period{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	if p.From == "" {
		p.From = time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	if p.To == "" {
		p.To = now.Format("2006-01-02")
	}
	var err error
	if p.FromTime, err = api.ParseBound(p.From, false); err != nil {
		return p, fmt.Errorf("From: %w", err)
	}
	if p.ToTime, err = api.ParseBound(p.To, true); err != nil {
		return p, fmt.Errorf("To: %w", err)
	}
	if p.ToTime.Before(p.FromTime) {
		return p, errors.New("To is before From")
	}
	return p, nil
}

// Overview ----------------------------------------------------------------

type overviewPage struct {
	P      period
	Report *report.Report
}

func (o overviewPage) title() string    { return "Controls overview" }
func (o overviewPage) periodOf() period { return o.P }

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, v *session) {
	h.periodReport(w, r, v, "overview", func(p period, rep *report.Report) any { return overviewPage{P: p, Report: rep} })
}

// periodReport renders a page built from the period report of the
// period the query names: the overview and the exceptions read the same.
func (h *Handler) periodReport(w http.ResponseWriter, r *http.Request, v *session, name string, page func(period, *report.Report) any) {
	p, err := h.periodOf(r.URL.Query())
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	rep, err := h.Reporter.Report(r.Context(), p.FromTime, p.ToTime)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, name, page(p, rep))
}

// Findings ----------------------------------------------------------------

type findingsPage struct {
	P                   period
	Rule, Outcome, Repo string
	Rules               []string
	Outcomes            []model.Outcome
	Findings            []api.FindingView
	Shown, Total        int
}

func (f findingsPage) title() string    { return "Findings" }
func (f findingsPage) periodOf() period { return f.P }

// maxRows bounds the rows a page lists; the filters narrow the rest.
const maxRows = 1000

func (h *Handler) findings(w http.ResponseWriter, r *http.Request, v *session) {
	q := r.URL.Query()
	p, err := h.periodOf(q)
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	fp := findingsPage{P: p, Rule: q.Get("rule"), Outcome: q.Get("outcome"), Repo: q.Get("repo"), Outcomes: model.Outcomes}
	fp.Rules = h.catalogue()
	if fp.Outcome != "" && !validOutcome(fp.Outcome) {
		h.badRequest(w, r, v, fmt.Sprintf("Outcome %q: choose one of the list.", fp.Outcome))
		return
	}
	fs, err := h.Service.Findings(r.Context(), api.FindingsQuery{Rule: fp.Rule, Outcome: fp.Outcome, Repo: fp.Repo,
		From: p.FromTime, To: p.ToTime})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	fp.Total = len(fs)
	if len(fs) > maxRows {
		fs = fs[:maxRows]
	}
	fp.Findings, fp.Shown = fs, len(fs)
	h.render(w, r, v, http.StatusOK, "findings", fp)
}

// catalogue lists the control ids for the rule filter.
func (h *Handler) catalogue() []string {
	var ids []string
	for _, d := range catalogue() {
		ids = append(ids, d.ID)
	}
	return ids
}

func validOutcome(s string) bool {
	for _, o := range model.Outcomes {
		if string(o) == s {
			return true
		}
	}
	return false
}

// Change ------------------------------------------------------------------

type changePage struct {
	Bundle *api.Bundle
	// Other lists recorded fields of the change the page has no section
	// for (e.g. fields added by newer sources), as JSON.
	Other []kv
}

type kv struct{ Key, Value string }

func (c changePage) title() string { return "Change " + c.Bundle.Subject }

// ChangeLink is the workspace page of a change subject (OWNER/REPO#N or
// OWNER/REPO@sha), or "" for other subjects.
func ChangeLink(subject string) string {
	if repo, n, ok := strings.Cut(subject, "#"); ok && strings.Count(repo, "/") == 1 {
		if _, err := strconv.Atoi(n); err == nil {
			return "/ui/changes/" + repo + "/" + n
		}
	}
	if repo, sha, ok := strings.Cut(subject, "@"); ok && strings.Count(repo, "/") == 1 && len(sha) == 40 {
		return "/ui/changes/" + repo + "/commit/" + sha
	}
	return ""
}

func (h *Handler) change(w http.ResponseWriter, r *http.Request, v *session, rest string) {
	parts := strings.Split(rest, "/")
	var b *api.Bundle
	var err error
	switch {
	case len(parts) == 3:
		n, perr := strconv.Atoi(parts[2])
		if perr != nil || n <= 0 {
			h.badRequest(w, r, v, "A change is OWNER/REPO/NUMBER or OWNER/REPO/commit/SHA.")
			return
		}
		b, err = h.Service.BundleFor(r.Context(), parts[0]+"/"+parts[1], n, "")
	case len(parts) == 4 && parts[2] == "commit":
		b, err = h.Service.BundleFor(r.Context(), parts[0]+"/"+parts[1], 0, strings.ToLower(parts[3]))
	default:
		h.badRequest(w, r, v, "A change is OWNER/REPO/NUMBER or OWNER/REPO/commit/SHA.")
		return
	}
	if errors.Is(err, api.ErrNotFound) {
		h.render(w, r, v, http.StatusNotFound, "error", errorPage{Title: "No such change", Message: "No change with that address has evidence."})
		return
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, "change", changePage{Bundle: b, Other: otherFields(b.Change)})
}

// shown are the change fields the page has a section for.
var shown = map[string]bool{"subject": true, "kind": true, "repo": true, "occurred_at": true, "url": true, "number": true,
	"author": true, "merged_by": true, "title": true, "body": true, "head_ref": true, "head_sha": true,
	"merge_commit_sha": true, "labels": true, "reviews": true, "sha": true, "before": true, "pusher": true, "messages": true}

func otherFields(c model.Change) []kv {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []kv
	for k, val := range m {
		if !shown[k] {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, val, "", "  ")
			out = append(out, kv{k, pretty.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Evidence of a deploy or an access event ----------------------------------

type evidencePage struct {
	Kind   string // "deploy" or "access event"
	Bundle *api.OtherBundle
	Record []kv // the deploy's or event's fields
}

func (e evidencePage) title() string { return "Evidence of " + e.Bundle.Subject }

// SubjectLink is the workspace page of any subject: a change's page, or the
// evidence page of a deploy (SERVICE@ENV@ID) or an access event (SYSTEM:ID).
func SubjectLink(subject string) string {
	if l := ChangeLink(subject); l != "" {
		return l
	}
	if populationOf(subject) == "" {
		return ""
	}
	return "/ui/evidence?" + url.Values{"subject": {subject}}.Encode()
}

// populationOf says which population a subject that is not a change
// belongs to, from its shape; "" when neither.
func populationOf(subject string) string {
	switch {
	case strings.Contains(subject, "/"):
		return ""
	case strings.Count(subject, "@") == 2:
		return audit.PopulationDeploys
	case strings.Contains(subject, ":"):
		return audit.PopulationAccess
	}
	return ""
}

func (h *Handler) evidence(w http.ResponseWriter, r *http.Request, v *session) {
	subject := r.URL.Query().Get("subject")
	if l := ChangeLink(subject); l != "" {
		http.Redirect(w, r, l, http.StatusSeeOther)
		return
	}
	pop := populationOf(subject)
	if pop == "" || h.Audit == nil {
		h.badRequest(w, r, v, "A subject is a change (OWNER/REPO#N, OWNER/REPO@SHA), a deploy (SERVICE@ENVIRONMENT@ID) or an access event (SYSTEM:ID).")
		return
	}
	bs, err := h.Audit.Bundles(r.Context(), pop, []string{subject})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	b, _ := bs[0].(*api.OtherBundle)
	if b == nil || (b.Deploy == nil && b.Access == nil && len(b.Findings) == 0) {
		h.render(w, r, v, http.StatusNotFound, "error", errorPage{Title: "No such subject", Message: "Nothing is recorded about " + subject + "."})
		return
	}
	ep := evidencePage{Bundle: b, Kind: "access event"}
	var record any = b.Access
	if pop == audit.PopulationDeploys {
		ep.Kind, record = "deploy", b.Deploy
	}
	if (pop == audit.PopulationDeploys && b.Deploy != nil) || (pop == audit.PopulationAccess && b.Access != nil) {
		ep.Record = fieldsOf(record)
	}
	h.render(w, r, v, http.StatusOK, "evidence", ep)
}

// fieldsOf lists a record's JSON fields, in name order, empty ones left out.
func fieldsOf(v any) []kv {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []kv
	for k, val := range m {
		if val == nil || val == "" {
			continue
		}
		s, ok := val.(string)
		if !ok {
			b, _ := json.Marshal(val)
			s = string(b)
		}
		out = append(out, kv{k, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Access ------------------------------------------------------------------

type accessPage struct {
	P                 period
	System, Principal string
	Events            []accessRow
	Shown, Total      int
}

type accessRow struct {
	model.AccessEvent
	Subject  string
	Outcomes map[string]string
}

func (a accessPage) title() string    { return "Access events" }
func (a accessPage) periodOf() period { return a.P }

func (h *Handler) access(w http.ResponseWriter, r *http.Request, v *session) {
	q := r.URL.Query()
	p, err := h.periodOf(q)
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	ap := accessPage{P: p, System: strings.TrimSpace(q.Get("system")), Principal: strings.TrimSpace(q.Get("principal"))}
	es, err := h.Service.Store.AccessBetween(r.Context(), p.FromTime, p.ToTime.Add(time.Millisecond))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	outcomes, err := h.Service.Store.Outcomes(r.Context(), "AC-")
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for _, e := range es {
		if (ap.System != "" && e.System != ap.System) || (ap.Principal != "" && e.Principal != ap.Principal) {
			continue
		}
		ap.Total++
		if len(ap.Events) < maxRows {
			ap.Events = append(ap.Events, accessRow{AccessEvent: e, Subject: e.Subject(), Outcomes: outcomes[e.Subject()]})
		}
	}
	ap.Shown = len(ap.Events)
	h.render(w, r, v, http.StatusOK, "access", ap)
}

// Exceptions --------------------------------------------------------------

type exceptionsPage struct {
	P      period
	Report *report.Report
}

func (e exceptionsPage) title() string    { return "Exceptions" }
func (e exceptionsPage) periodOf() period { return e.P }

func (h *Handler) exceptions(w http.ResponseWriter, r *http.Request, v *session) {
	h.periodReport(w, r, v, "exceptions", func(p period, rep *report.Report) any { return exceptionsPage{P: p, Report: rep} })
}

// Report download ---------------------------------------------------------

func (h *Handler) report(w http.ResponseWriter, r *http.Request, v *session) {
	q := r.URL.Query()
	p, err := h.periodOf(q)
	if err != nil {
		h.badRequest(w, r, v, err.Error())
		return
	}
	format := q.Get("format")
	if format != report.FormatHTML && format != report.FormatOSCAL {
		format = report.FormatHTML
	}
	files, err := h.Reporter.Files(r.Context(), p.FromTime, p.ToTime, format)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	body, err := api.ZipFiles(files)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%s-%s.zip"`,
		p.FromTime.Format("20060102"), p.ToTime.Format("20060102"), format))
	_, _ = w.Write(body)
}

// Sample ------------------------------------------------------------------

type samplePage struct {
	P                                 period
	Size, Frequency, Seed, Population string
	Populations, Frequencies          []string
	Error                             string
}

func (s samplePage) title() string    { return "Draw a sample" }
func (s samplePage) periodOf() period { return s.P }

func (h *Handler) sample(w http.ResponseWriter, r *http.Request, v *session) {
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		form = r.PostForm
	}
	p, perr := h.periodOf(form)
	sp := samplePage{P: p, Size: form.Get("size"), Frequency: form.Get("frequency"), Seed: form.Get("seed"),
		Population: form.Get("population"), Populations: audit.Populations,
		Frequencies: []string{"annual", "quarterly", "monthly", "weekly", "daily", "recurring"}}
	if sp.Population == "" {
		sp.Population = audit.PopulationChanges
	}
	if r.Method == http.MethodGet {
		if sp.Size == "" {
			sp.Size = "25"
		}
		h.render(w, r, v, http.StatusOK, "sample", sp)
		return
	}
	if perr != nil {
		sp.Error = perr.Error()
		h.render(w, r, v, http.StatusBadRequest, "sample", sp)
		return
	}
	req, err := api.ParseSample(api.SampleRequest{From: p.From, To: p.To, Size: sp.Size, Frequency: sp.Frequency,
		Seed: sp.Seed, Population: sp.Population}, h.Version)
	if err != nil {
		sp.Error = err.Error()
		h.render(w, r, v, http.StatusBadRequest, "sample", sp)
		return
	}
	if h.ChainHead != nil {
		if req.ChainHead, err = h.ChainHead(r.Context()); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	req.Signer = h.Signer
	var buf bytes.Buffer
	m, err := audit.ExportZip(r.Context(), *h.Audit, req, &buf)
	if err != nil {
		sp.Error = err.Error()
		h.render(w, r, v, http.StatusBadRequest, "sample", sp)
		return
	}
	h.log().Info("ui: sample drawn", zap.String("name", v.name), zap.Int("population", m.PopulationSize),
		zap.Int("drawn", m.SampleSizeDrawn), zap.String("seed", m.Seed))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sample-%s-%s-%s.zip"`, m.Population,
		m.Period.From.Format("20060102"), m.Period.To.Format("20060102")))
	_, _ = w.Write(buf.Bytes())
}
