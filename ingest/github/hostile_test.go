package github_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/internal/fixture"
	"github.com/changeproof/changeproof/model"
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
	h := &ghingest.Handler{Secret: func() string { return secret }, Sink: discard{}}
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

// A large body still arrives whole, across many chunks.
func TestLargeBodyReadWhole(t *testing.T) {
	var got []byte
	h := &ghingest.Handler{Secret: func() string { return secret }, Sink: submitFunc(func(d model.Delivery) { got = d.Body })}
	body := []byte(`{"pad":"` + strings.Repeat("x", 3<<20) + `"}`)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
	for k, v := range map[string]string{"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-big",
		"Content-Type": "application/json", "X-Hub-Signature-256": fixture.Sign(secret, body)} {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted || !bytes.Equal(got, body) {
		t.Fatalf("status %d, %d of %d bytes", rec.Code, len(got), len(body))
	}
}

type discard struct{}

func (discard) Submit(context.Context, model.Delivery) error { return nil }

type submitFunc func(model.Delivery)

func (f submitFunc) Submit(_ context.Context, d model.Delivery) error { f(d); return nil }
