package ui

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/config"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const (
	auditorToken = "auditor-secret-token-0123456789"
	ingestToken  = "ingest-secret-token-0123456789"
)

// newHandler is a Handler whose tokens live in a map the test can change.
func newHandler(t *testing.T) (*Handler, *observer.ObservedLogs, map[string]string) {
	core, logs := observer.New(zap.DebugLevel)
	roles := map[string]string{auditorToken: config.RoleAuditor, ingestToken: config.RoleIngest}
	h := &Handler{Log: zap.New(core), Auth: func(tok string) (string, string, bool) {
		r, ok := roles[tok]
		return r, "name-of-" + r, ok
	}}
	return h, logs, roles
}

func postForm(h http.Handler, path string, form url.Values, mod func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://cp.example"+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://cp.example")
	if mod != nil {
		mod(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

func TestSignInCookieAndFailures(t *testing.T) {
	h, logs, _ := newHandler(t)

	// A good token: a session cookie, not the token, HttpOnly, Strict, /ui/.
	w := postForm(h, "/ui/signin", url.Values{"token": {auditorToken}}, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/overview" {
		t.Fatalf("sign-in: %d to %q", w.Code, w.Header().Get("Location"))
	}
	c := sessionCookie(t, w)
	if c == nil || c.Value == auditorToken || len(c.Value) != 64 || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
		c.Path != "/ui/" || c.Secure {
		t.Fatalf("cookie over plain HTTP = %+v", c)
	}
	// Over TLS the cookie is Secure.
	w = postForm(h, "/ui/signin", url.Values{"token": {auditorToken}}, func(r *http.Request) {
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("Origin", "https://cp.example")
	})
	if c := sessionCookie(t, w); c == nil || !c.Secure {
		t.Fatalf("cookie over TLS = %+v", c)
	}

	// Failures are logged, with a reason and never the token.
	for _, tc := range []struct{ token, reason string }{
		{"wrong-token-abcdef", "unknown token"},
		{ingestToken, "token's role cannot read evidence"},
		{"", "no token given"},
	} {
		logs.TakeAll()
		w := postForm(h, "/ui/signin", url.Values{"token": {tc.token}}, nil)
		if w.Code != http.StatusUnauthorized || sessionCookie(t, w) != nil || !strings.Contains(w.Body.String(), "Sign-in failed") {
			t.Fatalf("sign-in with %q: %d", tc.reason, w.Code)
		}
		entries := logs.TakeAll()
		if len(entries) != 1 || entries[0].Message != "ui: sign-in failed" || entries[0].ContextMap()["reason"] != tc.reason {
			t.Fatalf("log of a failed sign-in (%s): %+v", tc.reason, entries)
		}
		for _, e := range entries {
			for k, v := range e.ContextMap() {
				if s, ok := v.(string); ok && tc.token != "" && strings.Contains(s, tc.token) {
					t.Fatalf("the token is logged in %s", k)
				}
			}
		}
		if strings.Contains(w.Body.String(), tc.token) && tc.token != "" {
			t.Fatal("the token is echoed in the page")
		}
	}

	// A cross-site post is refused before the token is even looked at.
	w = postForm(h, "/ui/signin", url.Values{"token": {auditorToken}}, func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
	})
	if w.Code != http.StatusForbidden || sessionCookie(t, w) != nil {
		t.Fatalf("cross-site sign-in: %d", w.Code)
	}
	// The token in a URL is not a way in.
	r := httptest.NewRequest(http.MethodGet, "http://cp.example/ui/overview?token="+auditorToken, nil)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	if rw.Code != http.StatusSeeOther || rw.Header().Get("Location") != "/ui/signin" {
		t.Fatalf("GET with ?token=: %d to %q", rw.Code, rw.Header().Get("Location"))
	}
}

func TestFormsNeedTheCSRFTokenAndSignOutEnds(t *testing.T) {
	h, _, roles := newHandler(t)
	w := postForm(h, "/ui/signin", url.Values{"token": {auditorToken}}, nil)
	c := sessionCookie(t, w)
	id := c.Value
	v := h.sessions.get(id, h.now())
	if v == nil {
		t.Fatal("no session after sign-in")
	}
	withCookie := func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CookieName, Value: id}) }

	// Sign-out without the CSRF token, or with another one, is refused.
	for _, csrf := range []string{"", "0000", v.csrf + "x"} {
		w := postForm(h, "/ui/signout", url.Values{"csrf": {csrf}}, withCookie)
		if w.Code != http.StatusForbidden || h.sessions.get(id, h.now()) == nil {
			t.Fatalf("sign-out with csrf %q: %d", csrf, w.Code)
		}
	}
	// With it, from another site: refused too.
	w = postForm(h, "/ui/signout", url.Values{"csrf": {v.csrf}}, func(r *http.Request) {
		withCookie(r)
		r.Header.Set("Origin", "https://evil.example")
	})
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site sign-out: %d", w.Code)
	}
	// A removed token ends its sessions.
	delete(roles, auditorToken)
	r := httptest.NewRequest(http.MethodGet, "http://cp.example/ui/overview", nil)
	withCookie(r)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	if rw.Code != http.StatusSeeOther || h.sessions.get(id, h.now()) != nil {
		t.Fatalf("after the token was removed: %d, session kept: %v", rw.Code, h.sessions.get(id, h.now()) != nil)
	}
	roles[auditorToken] = config.RoleAuditor

	// Sign in again and sign out properly: the session is gone.
	w = postForm(h, "/ui/signin", url.Values{"token": {auditorToken}}, nil)
	id = sessionCookie(t, w).Value
	v = h.sessions.get(id, h.now())
	w = postForm(h, "/ui/signout", url.Values{"csrf": {v.csrf}}, withCookie)
	if w.Code != http.StatusSeeOther || h.sessions.get(id, h.now()) != nil {
		t.Fatalf("sign-out: %d", w.Code)
	}
	if c := sessionCookie(t, w); c == nil || c.MaxAge >= 0 {
		t.Fatalf("sign-out cookie = %+v, want it removed", c)
	}
}

func TestPagesAreSelfContained(t *testing.T) {
	h, _, _ := newHandler(t)
	r := httptest.NewRequest(http.MethodGet, "http://cp.example/ui/signin", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body := w.Body.String()
	csp := w.Header().Get("Content-Security-Policy")
	if w.Code != 200 || !strings.Contains(csp, "default-src 'none'") || strings.Contains(body, "<script") ||
		strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Fatalf("sign-in page: %d, CSP %q:\n%s", w.Code, csp, body)
	}
	if !strings.Contains(body, `<label for="token">`) || !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("sign-in page lacks a label or a language")
	}
	r = httptest.NewRequest(http.MethodGet, "http://cp.example/ui/style.css", nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "@media print") {
		t.Fatalf("style.css: %d", w.Code)
	}
}

func TestChangeLink(t *testing.T) {
	for subject, want := range map[string]string{
		"acme/api#12": "/ui/changes/acme/api/12",
		"acme/api@0123456789abcdef0123456789abcdef01234567": "/ui/changes/acme/api/commit/0123456789abcdef0123456789abcdef01234567",
		"payments@production@d-1":                           "",
		"ssh:evt-1":                                         "",
		"acme/api#x":                                        "",
	} {
		if got := ChangeLink(subject); got != want {
			t.Errorf("ChangeLink(%q) = %q, want %q", subject, got, want)
		}
	}
}
