package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// legacyFindingRow is a verdict row as stores wrote it before the evidence
// had its own table (migration 019): the evidence JSON inline, no key.
type legacyFindingRow struct {
	Rule        string     `json:"rule"`
	Subject     string     `json:"subject"`
	Outcome     string     `json:"outcome"`
	Reason      string     `json:"reason"`
	Repo        string     `json:"repo"`
	OccurredAt  store.Time `json:"occurred_at"`
	EvaluatedAt store.Time `json:"evaluated_at"`
	Evidence    string     `json:"evidence"`
	Waiver      string     `json:"waiver"`
}

// appendInline stores f as a store did before migration 019.
func appendInline(ctx context.Context, st *store.Store, f model.Finding) error {
	ev, err := json.Marshal(f.Evidence)
	if err != nil {
		return err
	}
	var w []byte
	if f.Waiver != nil {
		if w, err = json.Marshal(f.Waiver); err != nil {
			return err
		}
	}
	return storetest.DB(st).Insert(ctx, "findings", []legacyFindingRow{{f.Rule, f.Subject, string(f.Outcome), f.Reason, f.Repo,
		store.Time(f.OccurredAt), store.Time(f.EvaluatedAt), string(ev), string(w)}})
}

// Findings stored with their evidence inline (before migration 019), with
// it in its own table named by key (after), and a mix of the two (a store
// upgraded between two verdicts of one subject) read the same, byte for
// byte, through every API reader of findings: the findings with their
// evidence and history, a change's bundle (each finding's history with
// the evidence of each verdict), the population, a sample's export (its
// evidence files and population, every population) and the report (its
// zip and OSCAL).
func TestFindingsInlineAndKeyedReadAlike(t *testing.T) {
	modes := []struct {
		name   string
		inline func(i int) bool
	}{
		{"keyed", nil},
		{"inline", func(int) bool { return true }},
		{"mixed", func(i int) bool { return i%2 == 0 }},
	}
	type request struct{ method, path, body string }
	get := func(paths ...string) []request {
		out := make([]request, len(paths))
		for i, p := range paths {
			out[i] = request{http.MethodGet, p, ""}
		}
		return out
	}
	sample := func(pop string) request {
		return request{http.MethodPost, "/v1/samples",
			`{"population":"` + pop + `","from":"2026-03-01","to":"2026-03-31","size":"100","seed":"inline"}`}
	}
	gen := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	audited := func(s *api.Server) {
		s.Audit = &api.AuditSource{Service: s.Service, IsProduction: func(env string) bool { return env == "production" || env == "prod" },
			InScopeSystem: func(s string) bool { return s == "ssh" }}
		s.Report = &api.Reporter{Service: s.Service, Version: "test", Now: func() time.Time { return gen }}
	}
	type scenario struct {
		name string
		mods []func(*api.Server)
		seed func(t *testing.T, e *env)
		reqs []request
		// marker is part of a fixture's evidence that reqs[0]'s answer shows.
		marker string
	}
	scenarios := []scenario{
		{"findings", nil, seedFindings, get("/v1/findings", "/v1/findings?history=true", "/v1/findings?rule=CM-1&repo=acme/api",
			"/v1/findings?outcome=fail"), `"merge_commit_sha":"` + sha('b') + `"`},
		{"bundles", nil, func(t *testing.T, e *env) { seedBundles(t, e) }, get("/v1/changes/acme/api/7",
			"/v1/changes/acme/api/commit/"+sha('d'), "/v1/changes?repo=acme/api", "/v1/findings?history=true"),
			`"review_id": 102`},
		{"audit", []func(*api.Server){audited}, seedAudit, append([]request{sample("changes"), sample("deploys"), sample("access")},
			get("/v1/report?from=2026-03-01&to=2026-03-31", "/v1/report?from=2026-03-01&to=2026-03-31&format=oscal")...),
			`"review_id": 102`},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var want map[string][]byte
			for _, m := range modes {
				e := newEnv(t, sc.mods...)
				e.inline = m.inline
				sc.seed(t, e)
				got := map[string][]byte{}
				for _, r := range sc.reqs {
					code, _, body := e.send(t, r.method, r.path, tokAuditor, r.body)
					if code != http.StatusOK {
						t.Fatalf("%s: %s %s = %d %s", m.name, r.method, r.path, code, body)
					}
					got[r.method+" "+r.path+" "+r.body] = comparable(t, body)
				}
				if want == nil {
					want = got
					// The evidence is there at all: the fixture's.
					r := sc.reqs[0]
					if first := got[r.method+" "+r.path+" "+r.body]; !bytes.Contains(first, []byte(sc.marker)) {
						t.Fatalf("no %s in %s", sc.marker, first)
					}
					continue
				}
				for k := range want {
					if !bytes.Equal(got[k], want[k]) {
						t.Errorf("%s: %s\n got %s\nwant %s", m.name, k, got[k], want[k])
					}
				}
			}
		})
	}
}

// comparable is an answer as the modes must agree on it: a zip's members
// in name order, without those that say when and by what they were made
// (manifest.json, summary.html, the signature).
func comparable(t *testing.T, body []byte) []byte {
	if !bytes.HasPrefix(body, []byte("PK")) {
		return body
	}
	files := unzipBody(t, body)
	names := make([]string, 0, len(files))
	for n := range files {
		switch n {
		case "manifest.json", "manifest.json.sig", "summary.html":
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "== %s\n%s\n", n, files[n])
	}
	return b.Bytes()
}
