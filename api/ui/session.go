package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "changeproof_session"

// Lifetime is how long a session lasts after sign-in.
const Lifetime = 8 * time.Hour

// maxSessions bounds the sessions kept; the oldest go first.
const maxSessions = 10000

// session is one signed-in browser.
type session struct {
	token   string // re-checked on every request
	name    string
	role    string
	csrf    string
	expires time.Time
}

// sessions is the in-memory session table. Safe for concurrent use.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // the OS CSPRNG does not fail
	}
	return hex.EncodeToString(b)
}

// create starts a session and returns its id.
func (s *sessions) create(token, name, role string, now time.Time) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*session{}
	}
	if len(s.m) >= maxSessions {
		s.expire(now)
		var oldestID string
		var oldest time.Time
		for id, v := range s.m {
			if oldestID == "" || v.expires.Before(oldest) {
				oldestID, oldest = id, v.expires
			}
		}
		delete(s.m, oldestID)
	}
	id := randomHex(32)
	v := &session{token: token, name: name, role: role, csrf: randomHex(32), expires: now.Add(Lifetime)}
	s.m[id] = v
	return id, v
}

// expire drops ended sessions. The caller holds mu.
func (s *sessions) expire(now time.Time) {
	for id, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, id)
		}
	}
}

// get returns the live session with id.
func (s *sessions) get(id string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[id]
	if v == nil {
		return nil
	}
	if !now.Before(v.expires) {
		delete(s.m, id)
		return nil
	}
	return v
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// setCookie gives the browser the session id; maxAge < 0 removes it.
func setCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
}

// secure says whether the request came over TLS (directly, or through a
// proxy that says so).
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// validCSRF compares a form's CSRF field with the session's in constant time.
func validCSRF(v *session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(v.csrf), []byte(got)) == 1
}

// sameOrigin refuses a cross-site form post: a browser sends Origin (or at
// least Sec-Fetch-Site) with every POST.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == "" // no Origin: not a browser's cross-site post
	}
	scheme := "http"
	if secure(r) {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host
}
