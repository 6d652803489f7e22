package api_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/audit"
	"github.com/changeproof/changeproof/model"
)

// oneByOne is an audit source with only the Source methods: the export
// reads its population whole and its bundles one by one, the reference the
// streamed population and batched bundles must match byte for byte.
type oneByOne struct{ src api.AuditSource }

func (o oneByOne) Population(ctx context.Context, pop string, from, to time.Time) ([]audit.Member, error) {
	return o.src.Population(ctx, pop, from, to)
}

func (o oneByOne) Bundle(ctx context.Context, pop, subject string) (any, error) {
	return o.src.Bundle(ctx, pop, subject)
}

// seedAudit stores, on top of seedBundles, changes on the period's edges,
// text that needs quoting, deploys and access events in and out of the
// populations, and their findings.
func seedAudit(t *testing.T, e *env) {
	t.Helper()
	seedBundles(t, e)
	from, to := ts(t, "2026-03-01T00:00:00Z"), ts(t, "2026-03-31T23:59:59.999Z")
	edge := func(n int, at time.Time, mergeSHA byte) model.PullRequest {
		pr := mergedPR("acme/api", n, at, sha(mergeSHA), sha('c'))
		pr.DeliveryID = fmt.Sprintf("pr-edge-%d", n)
		pr.Title = fmt.Sprintf("PAY-%d \"quoted\", with commas\nand a newline, ünïcödé", n)
		return pr
	}
	e.write(t, model.Batch{
		PullRequests: []model.PullRequest{
			edge(9, from, '3'),                         // on the lower bound
			edge(10, to, '4'),                          // on the upper bound
			edge(12, to.Add(time.Millisecond), '6'),    // just after
			edge(13, from.Add(-time.Millisecond), '7'), // just before
			edge(100, from.Add(time.Hour), 'a'),        // #100 sorts before #11 and #7
		},
		Deploys: []model.Deploy{
			{ID: "d1", Source: "api", Service: "payments", Environment: "production", SHA: sha('b'), Repo: "acme/api",
				Status: model.DeploySuccess, Actor: "ci", StartedAt: from.Add(2 * time.Hour), FinishedAt: from.Add(3 * time.Hour),
				URL: "https://ci/1", ReceivedAt: from.Add(3 * time.Hour)},
			{ID: "d2", Source: "api", Service: "payments", Environment: "production", SHA: sha('1'), Repo: "acme/api",
				Status: model.DeployFailure, StartedAt: from.Add(4 * time.Hour), ReceivedAt: from.Add(4 * time.Hour)},
			{ID: "d3", Source: "api", Service: "payments", Environment: "staging", SHA: sha('1'), Repo: "acme/api",
				Status: model.DeploySuccess, StartedAt: from.Add(5 * time.Hour), ReceivedAt: from.Add(5 * time.Hour)},
			{ID: "d4", Source: "github", Service: "web", Environment: "production", SHA: sha('e'), Repo: "acme/web",
				Status: model.DeploySuccess, StartedAt: from.Add(6 * time.Hour), ReceivedAt: from.Add(6 * time.Hour)},
			{ID: "d5@x", Source: "api", Service: "payments", Environment: "prod", SHA: sha('a'), Repo: "acme/api",
				Status: model.DeploySuccess, StartedAt: to, ReceivedAt: to},
		},
	})
	if err := e.st.WriteAccess(e.ctx, []model.AccessEvent{
		{ID: "e1", System: "ssh", Time: from, Principal: "alice", Action: "login", Result: "success", Role: "admin",
			Ticket: "OPS-1", SourceIP: "10.0.0.1", Format: "generic", Raw: "raw 1", ReceivedAt: from},
		{ID: "e2", System: "ssh", Time: to, Principal: "mallory, \"the\" intruder", Action: "login", Result: "failure",
			Format: "generic", Raw: "raw 2", ReceivedAt: to},
		{ID: "e3", System: "vpn", Time: from.Add(time.Hour), Principal: "bob", Action: "connect", Result: "success",
			Format: "generic", Raw: "raw 3", ReceivedAt: from},
		{ID: "e4", System: "ssh", Time: to.Add(time.Millisecond), Principal: "carol", Action: "login", Result: "success",
			Format: "generic", Raw: "raw 4", ReceivedAt: to},
	}); err != nil {
		t.Fatal(err)
	}
	ev := ts(t, "2026-04-01T00:00:00Z")
	cm5 := finding("CM-5", "payments@production@d1", model.Fail, from.Add(3*time.Hour), ev)
	cm5.Repo, cm5.Evidence.Shipped = "acme/api", []string{"acme/api#7", "acme/api#100"}
	e.findings(t, cm5,
		finding("CM-1", "acme/api#100", model.Pass, from.Add(time.Hour), ev),
		finding("CM-2", "acme/api#100", model.Error, from.Add(time.Hour), ev),
		finding("CM-6", "acme/api#9", model.Waived, from, ev),
		finding("AC-1", "ssh:e1", model.Pass, from, ev),
		finding("AC-2", "ssh:e2", model.Fail, to, ev),
		finding("AC-3", "ssh:e2", model.Pending, to, ev))
	e.findings(t, finding("AC-2", "ssh:e2", model.Pass, to, ev.Add(time.Hour)))
}

// TestAuditStreamedEqualsOneByOne exports every population twice from the
// same store, streamed and batched (AuditSource) and read whole and one by
// one (the Source methods alone): every reproducible file is identical.
func TestAuditStreamedEqualsOneByOne(t *testing.T) {
	e := newEnv(t)
	seedAudit(t, e)
	src := api.AuditSource{Service: e.svc, IsProduction: func(env string) bool { return env == "production" || env == "prod" },
		InScopeSystem: func(s string) bool { return s == "ssh" }}
	from, to := ts(t, "2026-03-01T00:00:00Z"), ts(t, "2026-03-31T23:59:59.999Z")
	for _, pop := range audit.Populations {
		for _, size := range []int{2, 100} {
			t.Run(fmt.Sprintf("%s/%d", pop, size), func(t *testing.T) {
				req := audit.Request{Population: pop, From: from, To: to, Size: size, Seed: "equal", Now: func() time.Time { return to }}
				fast, slow := filepath.Join(t.TempDir(), "fast"), filepath.Join(t.TempDir(), "slow")
				mf, err := audit.Export(e.ctx, src, req, fast)
				if err != nil {
					t.Fatal(err)
				}
				ms, err := audit.Export(e.ctx, oneByOne{src}, req, slow)
				if err != nil {
					t.Fatal(err)
				}
				if mf.PopulationSize == 0 || !reflect.DeepEqual(mf.Sample, ms.Sample) || mf.PopulationSize != ms.PopulationSize {
					t.Fatalf("streamed: %d members, sample %v; one by one: %d, %v", mf.PopulationSize, mf.Sample, ms.PopulationSize, ms.Sample)
				}
				if !reflect.DeepEqual(mf.Files, ms.Files) {
					t.Errorf("manifest hashes differ:\n%v\n%v", mf.Files, ms.Files)
				}
				for _, f := range mf.Reproducible {
					a, _ := os.ReadFile(filepath.Join(fast, f))
					b, _ := os.ReadFile(filepath.Join(slow, f))
					if len(a) == 0 || !bytes.Equal(a, b) {
						t.Errorf("%s differs:\n%s\n---\n%s", f, a, b)
					}
				}
				// The zip is the archive of the directory.
				var z, d bytes.Buffer
				if _, err := audit.ExportZip(e.ctx, src, req, &z); err != nil {
					t.Fatal(err)
				}
				if err := audit.WriteZip(&d, fast); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(z.Bytes(), d.Bytes()) {
					t.Error("ExportZip differs from WriteZip of the exported directory")
				}
			})
		}
	}
	// What the populations hold, bounds inclusive: the streamed export is
	// the right one, not only the same as the other.
	want := map[string][]string{
		audit.PopulationChanges: {"acme/api#10", "acme/api#100", "acme/api#11", "acme/api#7", "acme/api#9", "acme/api@" + sha('d')},
		audit.PopulationDeploys: {"payments@prod@d5@x", "payments@production@d1"},
		audit.PopulationAccess:  {"ssh:e1", "ssh:e2"},
	}
	for pop, subjects := range want {
		m, err := audit.Export(e.ctx, src, audit.Request{Population: pop, From: from, To: to, Size: 100, Seed: "s"},
			filepath.Join(t.TempDir(), pop))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Sample, subjects) {
			t.Errorf("%s: %v, want %v", pop, m.Sample, subjects)
		}
	}
}

// TestAuditBundlesMatchBundleFor: the sample's bundles are the API's.
func TestAuditBundlesMatchBundleFor(t *testing.T) {
	e := newEnv(t)
	seedAudit(t, e)
	src := api.AuditSource{Service: e.svc}
	subjects := []string{"acme/api#7", "acme/api@" + sha('d'), "acme/api@" + sha('b'), "acme/api#100", "acme/web#7"}
	got, err := src.Bundles(e.ctx, audit.PopulationChanges, subjects)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range subjects {
		one, err := src.Bundle(e.ctx, audit.PopulationChanges, s)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], one) {
			t.Errorf("%s: batched %+v, alone %+v", s, got[i], one)
		}
	}
	b7 := got[0].(*api.Bundle)
	if len(b7.Deploys) != 1 || b7.Deploys[0].Subject != "payments@production@d1" || len(b7.Waivers) != 1 || len(b7.Pushes) != 1 {
		t.Errorf("acme/api#7: deploys %+v, waivers %v, pushes %v", b7.Deploys, b7.Waivers, b7.Pushes)
	}
	// acme/api@b is the merge commit of #7: the same change.
	if got[2].(*api.Bundle).Subject != "acme/api#7" {
		t.Errorf("acme/api@b: %s", got[2].(*api.Bundle).Subject)
	}
	_, err = src.Bundles(e.ctx, audit.PopulationChanges, []string{"acme/api#7", "acme/api#99"})
	if err == nil || !strings.Contains(err.Error(), "acme/api#99") {
		t.Errorf("missing change: %v", err)
	}
}
