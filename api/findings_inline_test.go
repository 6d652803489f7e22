package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

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
// the evidence of each verdict) and the population.
func TestFindingsInlineAndKeyedReadAlike(t *testing.T) {
	modes := []struct {
		name   string
		inline func(i int) bool
	}{
		{"keyed", nil},
		{"inline", func(int) bool { return true }},
		{"mixed", func(i int) bool { return i%2 == 0 }},
	}
	type scenario struct {
		name  string
		seed  func(t *testing.T, e *env)
		paths []string
		// marker is part of a fixture's evidence that paths[0] shows.
		marker string
	}
	scenarios := []scenario{
		{"findings", seedFindings, []string{"/v1/findings", "/v1/findings?history=true", "/v1/findings?rule=CM-1&repo=acme/api",
			"/v1/findings?outcome=fail"}, `"merge_commit_sha":"` + sha('b') + `"`},
		{"bundles", func(t *testing.T, e *env) { seedBundles(t, e) }, []string{"/v1/changes/acme/api/7",
			"/v1/changes/acme/api/commit/" + sha('d'), "/v1/changes?repo=acme/api", "/v1/findings?history=true"},
			`"review_id": 102`},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var want map[string][]byte
			for _, m := range modes {
				e := newEnv(t)
				e.inline = m.inline
				sc.seed(t, e)
				got := map[string][]byte{}
				for _, p := range sc.paths {
					code, _, body := e.get(t, p, tokAuditor)
					if code != http.StatusOK {
						t.Fatalf("%s: GET %s = %d %s", m.name, p, code, body)
					}
					got[p] = body
				}
				if want == nil {
					want = got
					// The evidence is there at all: the fixture's.
					if !bytes.Contains(got[sc.paths[0]], []byte(sc.marker)) {
						t.Fatalf("no %s in %s", sc.marker, got[sc.paths[0]])
					}
					continue
				}
				for _, p := range sc.paths {
					if !bytes.Equal(got[p], want[p]) {
						t.Errorf("%s: GET %s\n got %s\nwant %s", m.name, p, got[p], want[p])
					}
				}
			}
		})
	}
}
