package github_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/ingest"
	ghingest "github.com/changeproof/changeproof/ingest/github"
	"github.com/changeproof/changeproof/internal/testkit/fixture"
	"github.com/changeproof/changeproof/pipeline"
	"github.com/changeproof/changeproof/store/storetest"
)

// TestGitHubAppDeliveries: a GitHub App's deliveries are signed with the
// App's webhook secret like any other and carry an installation object;
// they are accepted, kept in the raw log, and a pull_request among them
// is enriched exactly as a repository webhook's. The App's own
// installation events add no record and are handed to Accepted.
func TestGitHubAppDeliveries(t *testing.T) {
	st := storetest.Open(t)
	pipe := &pipeline.Deriver{Store: st}
	c := ingest.NewCommitter(ingest.SinkFunc(func(ctx context.Context, ds []model_Delivery) error {
		_, err := pipe.Process(ctx, ds)
		return err
	}), 100)
	t.Cleanup(c.Close)
	var mu sync.Mutex
	var accepted []string
	h := &ghingest.Handler{Secret: func() string { return secret }, Sink: &pipeline.Intake{Log: c, Known: st.KnownSHA},
		Accepted: func(d model_Delivery) { mu.Lock(); accepted = append(accepted, d.Event); mu.Unlock() }}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	pr := fixture.Template(fixture.TemplatePullRequestClosed)
	if !bytes.Contains(pr, []byte(`"installation": {`)) {
		t.Fatal("the pull_request template is no longer a GitHub App delivery (no installation object)")
	}
	for _, d := range []fixture.Delivery{
		{Event: "installation", ID: "a-1", Body: fixture.Template(fixture.TemplateInstallationCreated)},
		{Event: "installation_repositories", ID: "a-2", Body: fixture.Template(fixture.TemplateInstallationReposAdded)},
		{Event: "pull_request", ID: "a-3", Body: pr},
	} {
		code, err := fixture.Post(context.Background(), http.DefaultClient, srv.URL, secret, d)
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("%s: %d, %v", d.Event, code, err)
		}
	}
	got := counts(t, st)
	if got["raw_deliveries"] != 3 || got["pull_requests"] != 1 || got["dead_letters"] != 0 {
		t.Fatalf("counts = %v", got)
	}
	seen := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), accepted...) }
	if a := seen(); len(a) != 3 || a[0] != "installation" || a[1] != "installation_repositories" {
		t.Fatalf("Accepted saw %v", a)
	}
	// A forged App delivery is refused before Accepted hears of it.
	forged := fixture.Delivery{Event: "installation_repositories", ID: "a-4", Body: fixture.Template(fixture.TemplateInstallationReposAdded)}
	if code, _ := fixture.Post(context.Background(), http.DefaultClient, srv.URL, "not the secret", forged); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d", code)
	}
	if a := seen(); len(a) != 3 {
		t.Fatalf("Accepted heard of a forged delivery: %v", a)
	}
}
