package github_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest"
	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

const secret = "It's a Secret to Everybody"

var tables = []string{"raw_deliveries", "pull_requests", "reviews", "pushes", "protection_events", "dead_letters"}

func newServer(t *testing.T) (*httptest.Server, *store.Store) {
	t.Helper()
	st := storetest.Open(t)
	pipe := &pipeline.Deriver{Store: st}
	c := ingest.NewCommitter(ingest.SinkFunc(func(ctx context.Context, ds []model_Delivery) error {
		_, err := pipe.Process(ctx, ds)
		return err
	}), 100)
	t.Cleanup(c.Close)
	h := &ghingest.Handler{Secret: func() string { return secret }, Sink: &pipeline.Intake{Log: c, Known: st.KnownSHA}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, st
}

func counts(t *testing.T, st *store.Store) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for _, tb := range tables {
		n, err := st.Count(context.Background(), tb)
		if err != nil {
			t.Fatal(err)
		}
		m[tb] = n
	}
	return m
}

func mergedPR() fixture.Delivery {
	repo := fixture.Repo{FullName: "acme/payments-api", DefaultBranch: "main"}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	body := fixture.PullRequest("closed", fixture.PR{Repo: repo, Number: 12, Author: "alice", MergedBy: "bob",
		Title: "PAY-1 fix rounding", HeadRef: "fix", HeadSHA: fixture.SHA("head"), MergeCommitSHA: fixture.SHA("merge"),
		Merged: true, MergedAt: at, ClosedAt: at})
	return fixture.Delivery{Event: "pull_request", ID: "11111111-2222-3333-4444-555555555555", Body: body}
}

func post(t *testing.T, url string, hdr map[string]string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSignatures(t *testing.T) {
	srv, st := newServer(t)
	d := mergedPR()
	base := map[string]string{"X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.ID, "Content-Type": "application/json"}
	with := func(sig string) map[string]string {
		h := map[string]string{}
		for k, v := range base {
			h[k] = v
		}
		if sig != "" {
			h["X-Hub-Signature-256"] = sig
		}
		return h
	}
	cases := []struct {
		name string
		sig  string
		want int
	}{
		{"missing signature", "", http.StatusUnauthorized},
		{"wrong secret", fixture.Sign("wrong", d.Body), http.StatusUnauthorized},
		{"tampered body signature", fixture.Sign(secret, append([]byte(" "), d.Body...)), http.StatusUnauthorized},
		{"sha1 in the sha256 header", "sha1=" + strings.Repeat("0", 40), http.StatusUnauthorized},
		{"signature not hex", "sha256=" + strings.Repeat("z", 64), http.StatusBadRequest},
		{"short signature", "sha256=abcd", http.StatusUnauthorized},
		{"long signature", fixture.Sign(secret, d.Body) + "00", http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := post(t, srv.URL, with(c.sig), d.Body); got != c.want {
				t.Fatalf("status %d, want %d", got, c.want)
			}
			for tb, n := range counts(t, st) {
				if n != 0 {
					t.Fatalf("forged delivery left %d rows in %s", n, tb)
				}
			}
		})
	}
	if got := post(t, srv.URL, with(fixture.Sign(secret, d.Body)), d.Body); got != http.StatusAccepted {
		t.Fatalf("good signature: status %d, want 202", got)
	}
	c := counts(t, st)
	if c["raw_deliveries"] != 1 || c["pull_requests"] != 1 {
		t.Fatalf("after a good delivery: %v", c)
	}
}

func TestBadBodies(t *testing.T) {
	srv, st := newServer(t)
	notJSON := []byte("this is not json")
	h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1", "Content-Type": "application/json",
		"X-Hub-Signature-256": fixture.Sign(secret, notJSON)}
	if got := post(t, srv.URL, h, notJSON); got != http.StatusBadRequest {
		t.Fatalf("non-JSON: status %d, want 400", got)
	}
	big := bytes.Repeat([]byte("a"), ghingest.MaxBody+1)
	h["X-Hub-Signature-256"] = fixture.Sign(secret, big)
	if got := post(t, srv.URL, h, big); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize: status %d, want 413", got)
	}
	// Signed JSON that is not a valid push is kept, as a dead letter.
	odd := []byte(`{"ref": "refs/heads/main"}`)
	h["X-Hub-Signature-256"] = fixture.Sign(secret, odd)
	h["X-GitHub-Delivery"] = "d-odd"
	if got := post(t, srv.URL, h, odd); got != http.StatusAccepted {
		t.Fatalf("signed odd push: status %d, want 202", got)
	}
	c := counts(t, st)
	if c["raw_deliveries"] != 1 || c["dead_letters"] != 1 || c["pushes"] != 0 {
		t.Fatalf("counts = %v", c)
	}
	dl, err := st.DeadLetters(context.Background(), 10)
	if err != nil || len(dl) != 1 || dl[0].Reason != "push delivery d-odd: malformed payload: no repository.full_name" {
		t.Fatalf("dead letters = %+v, %v", dl, err)
	}
}

func TestDuplicateDeliveriesHaveOneEffect(t *testing.T) {
	srv, st := newServer(t)
	d := mergedPR()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ { // concurrent redeliveries land in one or several batches
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := fixture.Post(context.Background(), http.DefaultClient, srv.URL, secret, d)
			if err != nil || code != http.StatusAccepted {
				t.Errorf("status %d, %v", code, err)
			}
		}()
	}
	wg.Wait()
	c := counts(t, st)
	if c["raw_deliveries"] != 1 || c["pull_requests"] != 1 {
		t.Fatalf("after 20 copies of one delivery: %v", c)
	}
}

func TestFormEncodedDelivery(t *testing.T) {
	srv, st := newServer(t)
	d := mergedPR()
	form := []byte("payload=" + urlQueryEscape(string(d.Body)))
	h := map[string]string{"X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.ID,
		"Content-Type": "application/x-www-form-urlencoded", "X-Hub-Signature-256": fixture.Sign(secret, form)}
	if got := post(t, srv.URL, h, form); got != http.StatusAccepted {
		t.Fatalf("status %d, want 202", got)
	}
	if c := counts(t, st); c["pull_requests"] != 1 {
		t.Fatalf("counts = %v", c)
	}
}
