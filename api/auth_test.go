package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/changeproof/changeproof/store/storetest"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// readEndpoints are every evidence read endpoint, each answering 200 to an
// auditor once seedForAuth has run.
var readEndpoints = []string{
	"/v1/findings",
	"/v1/findings?rule=CM-1&limit=1",
	"/v1/changes",
	"/v1/changes?in_scope=true",
	"/v1/changes/acme/api/7",
	"/v1/changes/acme/api/commit/" + sha('b'),
}

func seedForAuth(t *testing.T, e *env) {
	t.Helper()
	at := ts(t, "2026-03-01T10:00:00Z")
	e.write(t, model.Batch{
		PullRequests: []model.PullRequest{mergedPR("acme/api", 7, at, sha('b'), sha('c'))},
		Pushes:       []model.Push{mainPush("acme/api", sha('a'), sha('b'), at)},
	})
	e.findings(t, finding("CM-1", "acme/api#7", model.Pass, at, at.Add(time.Minute)))
}

type errorBody struct {
	Error string `json:"error"`
}

func decodeError(t *testing.T, body []byte) string {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	return b.Error
}

func TestReadWithoutTokenIs401WithChallenge(t *testing.T) {
	e := newEnv(t)
	seedForAuth(t, e)
	for _, p := range readEndpoints {
		for _, h := range []string{"", "Basic dXNlcjpwYXNz", "Bearer ", tokAuditor} {
			code, hdr, body := e.getHeader(t, p, "Authorization", h)
			if code != http.StatusUnauthorized {
				t.Fatalf("GET %s with Authorization %q = %d, want 401; body %s", p, h, code, body)
			}
			if got := hdr.Get("WWW-Authenticate"); got != `Bearer realm="changeproof"` {
				t.Fatalf("GET %s with Authorization %q: WWW-Authenticate %q", p, h, got)
			}
			if msg := decodeError(t, body); msg != "missing bearer token" {
				t.Fatalf("GET %s: error %q", p, msg)
			}
		}
	}
}

func TestReadWithUnknownTokenIs401(t *testing.T) {
	e := newEnv(t)
	seedForAuth(t, e)
	for _, p := range readEndpoints {
		for _, tok := range []string{"nope", tokAuditor + "x", strings.ToUpper(tokAdmin)} {
			code, hdr, body := e.get(t, p, tok)
			if code != http.StatusUnauthorized {
				t.Fatalf("GET %s with token %q = %d, want 401; body %s", p, tok, code, body)
			}
			if got := hdr.Get("WWW-Authenticate"); got != `Bearer realm="changeproof", error="invalid_token"` {
				t.Fatalf("GET %s: WWW-Authenticate %q", p, got)
			}
			if msg := decodeError(t, body); msg != "unknown token" {
				t.Fatalf("GET %s: error %q", p, msg)
			}
		}
	}
}

func TestServerWithoutAuthorizerRejectsEveryToken(t *testing.T) {
	e := newEnv(t, func(s *api.Server) { s.Auth = nil })
	seedForAuth(t, e)
	for _, tok := range []string{tokAuditor, tokAdmin} {
		if code, _, body := e.get(t, "/v1/findings", tok); code != http.StatusUnauthorized {
			t.Fatalf("no authorizer, token %q: %d, want 401; body %s", tok, code, body)
		}
	}
}

func TestIngestRoleCannotRead(t *testing.T) {
	e := newEnv(t)
	seedForAuth(t, e)
	for _, p := range readEndpoints {
		code, _, body := e.get(t, p, tokIngest)
		if code != http.StatusForbidden {
			t.Fatalf("GET %s as ingest = %d, want 403; body %s", p, code, body)
		}
		if msg := decodeError(t, body); msg != "role ingest cannot read evidence (needs auditor or admin)" {
			t.Fatalf("GET %s as ingest: error %q", p, msg)
		}
		if strings.Contains(string(body), "acme/api#7") {
			t.Fatalf("GET %s as ingest leaked evidence: %s", p, body)
		}
	}
}

func TestAuditorAndAdminCanRead(t *testing.T) {
	e := newEnv(t)
	seedForAuth(t, e)
	for _, tok := range []string{tokAuditor, tokAdmin} {
		for _, p := range readEndpoints {
			code, _, body := e.get(t, p, tok)
			if code != http.StatusOK {
				t.Fatalf("GET %s with %s = %d, want 200; body %s", p, tok, code, body)
			}
			if !strings.Contains(string(body), `"acme/api#7"`) {
				t.Fatalf("GET %s with %s: body lacks the seeded change: %s", p, tok, body)
			}
		}
	}
}

func TestAuthIsCheckedBeforeInput(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/v1/findings?limit=x", "/v1/changes?from=bad", "/v1/changes/acme/api/abc", "/v1/changes/acme/api/commit/123"} {
		if code, _, body := e.get(t, p, ""); code != http.StatusUnauthorized {
			t.Fatalf("GET %s without token = %d, want 401; body %s", p, code, body)
		}
		if code, _, body := e.get(t, p, tokIngest); code != http.StatusForbidden {
			t.Fatalf("GET %s as ingest = %d, want 403; body %s", p, code, body)
		}
	}
}

func TestReadEndpointsAreGetOnly(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/findings", strings.NewReader("{}"))
	req.Header.Set("Authorization", bearer(tokAdmin))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /v1/findings = %d, want 405", resp.StatusCode)
	}
}

// RFC 7235 section 2.1: the authentication scheme is case-insensitive.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	seedForAuth(t, e)
	for _, scheme := range []string{"bearer", "BEARER"} {
		if code, _, body := e.getHeader(t, "/v1/findings", "Authorization", scheme+" "+tokAuditor); code != http.StatusOK {
			t.Fatalf("scheme %q: %d, want 200; body %s", scheme, code, body)
		}
	}
}

func TestHealthzNeedsNoToken(t *testing.T) {
	e := newEnv(t)
	code, hdr, body := e.get(t, "/healthz", "")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/healthz = %d %q", code, hdr.Get("Content-Type"))
	}
	var b map[string]string
	if err := json.Unmarshal(body, &b); err != nil || len(b) != 1 || b["status"] != "ok" {
		t.Fatalf("/healthz body %s (%v)", body, err)
	}
}

func TestReadyz(t *testing.T) {
	t.Run("no probe", func(t *testing.T) {
		e := newEnv(t)
		code, _, body := e.get(t, "/readyz", "")
		var b map[string]string
		if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK || len(b) != 1 || b["status"] != "ready" {
			t.Fatalf("/readyz = %d %s (%v)", code, body, err)
		}
	})
	t.Run("ready", func(t *testing.T) {
		var calls atomic.Int32
		var deadline atomic.Int64
		e := newEnv(t, func(s *api.Server) {
			s.Ready = func(ctx context.Context) error {
				calls.Add(1)
				if d, ok := ctx.Deadline(); ok {
					deadline.Store(int64(time.Until(d)))
				}
				return nil
			}
		})
		code, _, body := e.get(t, "/readyz", "")
		var b map[string]string
		if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK || b["status"] != "ready" {
			t.Fatalf("/readyz = %d %s (%v)", code, body, err)
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("Ready called %d times, want 1", n)
		}
		if d := time.Duration(deadline.Load()); d <= 0 || d > 2*time.Second {
			t.Fatalf("Ready's context deadline in %v, want within 2s", d)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		e := newEnv(t, func(s *api.Server) {
			s.Ready = func(context.Context) error { return errors.New("store: disk full") }
		})
		code, hdr, body := e.get(t, "/readyz", "")
		if code != http.StatusServiceUnavailable || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("/readyz = %d %q, want 503 JSON", code, hdr.Get("Content-Type"))
		}
		var b map[string]string
		if err := json.Unmarshal(body, &b); err != nil || b["status"] != "not ready" || b["error"] != "store: disk full" {
			t.Fatalf("/readyz body %s (%v)", body, err)
		}
	})
}

func TestMetricsIsPrometheusText(t *testing.T) {
	e := newEnv(t)
	code, hdr, body := e.get(t, "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics Content-Type %q, want text/plain", ct)
	}
	s := string(body)
	if !strings.Contains(s, "# HELP ") || !strings.Contains(s, "# TYPE ") || !strings.Contains(s, "go_goroutines ") {
		t.Fatalf("/metrics is not Prometheus text:\n%.500s", s)
	}
}

func TestStoreFailureIs500(t *testing.T) {
	e := newEnv(t)
	seedForAuth(t, e)
	if err := storetest.DB(e.st).Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range readEndpoints {
		code, _, body := e.get(t, p, tokAuditor)
		if code != http.StatusInternalServerError {
			t.Fatalf("GET %s on a closed store = %d, want 500; body %s", p, code, body)
		}
		if msg := decodeError(t, body); msg != "could not read evidence; the server log has the cause" {
			t.Fatalf("GET %s on a closed store: error %q", p, msg)
		}
	}
}
