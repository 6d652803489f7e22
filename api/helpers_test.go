package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// Bearer tokens the test authorizer knows.
const (
	tokAuditor = "tok-auditor-1"
	tokAdmin   = "tok-admin-1"
	tokIngest  = "tok-ingest-1"
)

func testAuth(token string) (role, name string, ok bool) {
	switch token {
	case tokAuditor:
		return config.RoleAuditor, "auditor-bot", true
	case tokAdmin:
		return config.RoleAdmin, "root", true
	case tokIngest:
		return config.RoleIngest, "ci", true
	}
	return "", "", false
}

// sha returns a 40-hex SHA made of one repeated hex digit.
func sha(c byte) string { return strings.Repeat(string(c), 40) }

// env is one API under test: a fresh database behind a real HTTP server.
type env struct {
	ctx context.Context
	st  *store.Store
	svc *api.Service
	srv *httptest.Server
	// inline, when set, says which findings (numbered from 0 in the order
	// findings is given them) to store as stores did before the evidence
	// had its own table: inline in the verdict row (findings_inline_test.go).
	inline  func(i int) bool
	written int
}

// inScopeAPI marks only acme/api as in scope.
func inScopeAPI(repo string) bool { return repo == "acme/api" }

// newEnv starts a server; mods adjust it before it starts.
func newEnv(t *testing.T, mods ...func(*api.Server)) *env {
	t.Helper()
	st := storetest.Open(t)
	svc := &api.Service{Store: st, InScope: inScopeAPI}
	s := &api.Server{Service: svc, Auth: testAuth}
	for _, m := range mods {
		m(s)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{ctx: context.Background(), st: st, svc: svc, srv: srv}
}

func (e *env) write(t *testing.T, b model.Batch) {
	t.Helper()
	if err := e.st.Write(e.ctx, b); err != nil {
		t.Fatalf("write batch: %v", err)
	}
}

func (e *env) findings(t *testing.T, fs ...model.Finding) {
	t.Helper()
	if e.inline == nil {
		if err := e.st.AppendFindings(e.ctx, fs); err != nil {
			t.Fatalf("append findings: %v", err)
		}
		return
	}
	for _, f := range fs {
		var err error
		if e.inline(e.written) {
			err = appendInline(e.ctx, e.st, f)
		} else {
			err = e.st.AppendFindings(e.ctx, []model.Finding{f})
		}
		if err != nil {
			t.Fatalf("append findings: %v", err)
		}
		e.written++
	}
}

// get requests path with token ("" = no Authorization header).
func (e *env) get(t *testing.T, path, token string) (int, http.Header, []byte) {
	t.Helper()
	return e.getHeader(t, path, "Authorization", bearer(token))
}

func bearer(token string) string {
	if token == "" {
		return ""
	}
	return "Bearer " + token
}

func (e *env) getHeader(t *testing.T, path, key, value string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if value != "" {
		req.Header.Set(key, value)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, resp.Header, body
}

// getJSON GETs path as an auditor, requires status want and decodes into v.
func (e *env) getJSON(t *testing.T, path string, want int, v any) []byte {
	t.Helper()
	code, h, body := e.get(t, path, tokAuditor)
	if code != want {
		t.Fatalf("GET %s = %d, want %d; body %s", path, code, want, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
	return body
}

// wantError GETs path as an auditor and requires status code with an
// {"error": ...} body that starts with prefix; it returns the message.
func (e *env) wantError(t *testing.T, path string, code int, prefix string) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	e.getJSON(t, path, code, &body)
	if !strings.HasPrefix(body.Error, prefix) {
		t.Fatalf("GET %s: error %q, want prefix %q", path, body.Error, prefix)
	}
	return body.Error
}

// ts parses an RFC 3339 time (test data).
func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// repoOf returns OWNER/REPO of a subject OWNER/REPO#N or OWNER/REPO@sha.
func repoOf(subject string) string {
	if i := strings.IndexAny(subject, "#@"); i >= 0 {
		return subject[:i]
	}
	return subject
}

// finding builds a finding; the reason is "<rule> <outcome>".
func finding(rule, subject string, o model.Outcome, occurred, evaluated time.Time) model.Finding {
	return model.Finding{Rule: rule, Subject: subject, Outcome: o, Reason: rule + " " + string(o),
		Repo: repoOf(subject), OccurredAt: occurred, EvaluatedAt: evaluated}
}

// mergedPR is the closed+merged snapshot of a PR into main.
func mergedPR(repo string, n int, merged time.Time, mergeSHA, headSHA string) model.PullRequest {
	return model.PullRequest{Repo: repo, Number: n, DeliveryID: "pr-" + repo + "-" + mergeSHA[:8], Action: "closed",
		State: "closed", Merged: true, MergedAt: merged, MergeCommitSHA: mergeSHA, HeadSHA: headSHA,
		HeadRef: "feature/x", BaseRef: "main", DefaultBranch: "main", Author: "alice", MergedBy: "bob",
		Title: "PAY-1 change", URL: "https://github.com/" + repo + "/pull/" + strconv.Itoa(n), ReceivedAt: merged}
}

// mainPush moves main of repo from before to after.
func mainPush(repo, before, after string, at time.Time) model.Push {
	return model.Push{Repo: repo, Ref: "refs/heads/main", Before: before, After: after,
		DeliveryID: "push-" + repo + "-" + after[:8], DefaultBranch: "main", Pusher: "carol", PushedAt: at,
		Messages: []string{"msg " + after[:4]}, URL: "https://github.com/" + repo + "/commit/" + after, ReceivedAt: at}
}

// keys returns the sorted key set of a JSON object.
func keys(t *testing.T, raw json.RawMessage) map[string]bool {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %s: %v", raw, err)
	}
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
