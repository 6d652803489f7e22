package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store/storetest"
)

// get requests path with the session cookie of a fresh sign-in.
func signedInGet(t *testing.T, h *Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := postForm(h, "/ui/signin", url.Values{"token": {auditorToken}}, nil)
	c := sessionCookie(t, w)
	if c == nil {
		t.Fatal("sign-in gave no session")
	}
	r := httptest.NewRequest(http.MethodGet, "http://cp.example"+path, nil)
	r.AddCookie(c)
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	return rw
}

// TestEvidenceOfAccessAndDeploys renders the evidence page of an access
// event and of a deploy from a real store: the record, every verdict with
// its history.
func TestEvidenceOfAccessAndDeploys(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	ev := model.AccessEvent{ID: "evt-1", System: "bastion", Time: at, Principal: "mallory", Action: "ssh.login",
		Result: "success", Format: "generic", Raw: "{}", ReceivedAt: at}
	if err := st.WriteAccess(ctx, []model.AccessEvent{ev}); err != nil {
		t.Fatal(err)
	}
	d := model.Deploy{ID: "d-9", Source: "api", Service: "payments", Environment: "production", SHA: strings.Repeat("a", 40),
		Repo: "acme/api", Status: model.DeploySuccess, Actor: "ci", StartedAt: at, FinishedAt: at, ReceivedAt: at}
	if err := st.Write(ctx, model.Batch{Deploys: []model.Deploy{d}}); err != nil {
		t.Fatal(err)
	}
	// Some access control rule id from the findings' own data; the page
	// shows whatever rule judged it.
	f := model.Finding{Rule: "AX-1", Subject: ev.Subject(), Outcome: model.Fail, Reason: "mallory is not authorized for bastion",
		OccurredAt: at, EvaluatedAt: at.Add(time.Minute)}
	earlier := f
	earlier.Outcome, earlier.Reason, earlier.EvaluatedAt = model.Pending, "waiting for the identity list", at
	if err := st.AppendFindings(ctx, []model.Finding{earlier, f}); err != nil {
		t.Fatal(err)
	}

	h, _, _ := newHandler(t)
	svc := &api.Service{Store: st}
	h.Service, h.Audit = svc, &api.AuditSource{Service: svc}

	w := signedInGet(t, h, "/ui/evidence?subject="+url.QueryEscape(ev.Subject()))
	body := w.Body.String()
	for _, want := range []string{"mallory", "ssh.login", "mallory is not authorized for bastion", "History (2 verdicts)", "waiting for the identity list"} {
		if w.Code != 200 || !strings.Contains(body, want) {
			t.Fatalf("access evidence: %d, lacks %q:\n%s", w.Code, want, body)
		}
	}
	w = signedInGet(t, h, "/ui/evidence?subject="+url.QueryEscape(d.Subject()))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "payments") || !strings.Contains(w.Body.String(), "d-9") {
		t.Fatalf("deploy evidence: %d\n%s", w.Code, w.Body.String())
	}
	if w := signedInGet(t, h, "/ui/evidence?subject=bastion:nope"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown event: %d", w.Code)
	}
	if w := signedInGet(t, h, "/ui/evidence?subject=nonsense"); w.Code != http.StatusBadRequest {
		t.Fatalf("bad subject: %d", w.Code)
	}
	if w := signedInGet(t, h, "/ui/evidence?subject="+url.QueryEscape("acme/api#7")); w.Code != http.StatusSeeOther ||
		w.Header().Get("Location") != "/ui/changes/acme/api/7" {
		t.Fatalf("a change subject: %d to %s", w.Code, w.Header().Get("Location"))
	}
	if got := SubjectLink(ev.Subject()); got != "/ui/evidence?subject=bastion%3Aevt-1" {
		t.Fatalf("SubjectLink = %q", got)
	}
}

// TestBadFilterIsTheFormsFault: a filter the API refuses is a 400 naming
// the parameter, not a 500 with the engine's or the service's text.
func TestBadFilterIsTheFormsFault(t *testing.T) {
	st := storetest.Open(t)
	h, _, _ := newHandler(t)
	svc := &api.Service{Store: st}
	h.Service, h.Audit = svc, &api.AuditSource{Service: svc}
	w := signedInGet(t, h, "/ui/findings?repo=acme")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "repo: ") {
		t.Fatalf("bad repo filter: %d\n%s", w.Code, w.Body.String())
	}
}
