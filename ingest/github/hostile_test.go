package github_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// Content-Type parameters are accepted: GitHub and proxies may send
// "application/json; charset=utf-8".
func TestJSONContentTypeWithCharset(t *testing.T) {
	srv, st := newServer(t)
	d := mergedPR()
	h := map[string]string{"X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.ID,
		"Content-Type": "application/json; charset=utf-8", "X-Hub-Signature-256": fixture.Sign(secret, d.Body)}
	if got := post(t, srv.URL, h, d.Body); got != http.StatusAccepted {
		t.Fatalf("status %d, want 202", got)
	}
	if c := counts(t, st); c["pull_requests"] != 1 {
		t.Fatalf("counts = %v", c)
	}
	h["Content-Type"] = "text/plain"
	h["X-GitHub-Delivery"] = "d-text"
	if got := post(t, srv.URL, h, d.Body); got != http.StatusBadRequest {
		t.Fatalf("text/plain: status %d, want 400", got)
	}
}

// A client declaring GitHub's 25 MiB cap and sending one byte costs the
// server one read chunk, not the declared size: the buffer is never sized
// from Content-Length.
func TestDeclaredLengthDoesNotSizeTheBuffer(t *testing.T) {
	// No sink: a body whose signature fails never reaches one.
	h := &ghingest.Handler{Secret: func() string { return secret }}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", io.NopCloser(strings.NewReader("{")))
	req.ContentLength = ghingest.MaxBody
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h.ServeHTTP(httptest.NewRecorder(), req)
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("one byte under a declared 25 MiB allocated %d bytes", grew)
	}
}

// A large body still arrives whole, across many chunks, and is stored.
func TestLargeBodyReadWhole(t *testing.T) {
	srv, st := newServer(t)
	body := []byte(`{"zen":"` + strings.Repeat("x", 3<<20) + `","hook_id":1}`)
	h := map[string]string{"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-big",
		"Content-Type": "application/json", "X-Hub-Signature-256": fixture.Sign(secret, body)}
	if got := post(t, srv.URL, h, body); got != http.StatusAccepted {
		t.Fatalf("status %d, want 202", got)
	}
	if c := counts(t, st); c["raw_deliveries"] != 1 {
		t.Fatalf("counts = %v", c)
	}
}

// A repository full_name with a control character is accepted as received
// (the raw delivery is evidence) but derives nothing: it is a dead letter
// with the reason, so no sample ever draws a row it would break.
func TestControlCharacterInFullNameIsDeadLettered(t *testing.T) {
	srv, st := newServer(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	repo := fixture.Repo{FullName: "acme/pay\nments", DefaultBranch: "main"}
	body := fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("a"), After: fixture.SHA("b"), Pusher: "dave", PushedAt: at,
		Commits: []fixture.Commit{{SHA: fixture.SHA("b"), Message: "x", Author: "dave", Timestamp: at}}})
	h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-nl", "Content-Type": "application/json",
		"X-Hub-Signature-256": fixture.Sign(secret, body)}
	if got := post(t, srv.URL, h, body); got != http.StatusAccepted {
		t.Fatalf("status %d, want 202", got)
	}
	c := counts(t, st)
	if c["raw_deliveries"] != 1 || c["dead_letters"] != 1 || c["pushes"] != 0 {
		t.Fatalf("counts = %v", c)
	}
	dl, err := st.DeadLetters(context.Background(), 10)
	if err != nil || len(dl) != 1 || dl[0].Reason != `push delivery d-nl: malformed payload: repository.full_name "acme/pay\nments" is not owner/name` {
		t.Fatalf("dead letters = %+v, %v", dl, err)
	}
}
