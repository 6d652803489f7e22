package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
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
