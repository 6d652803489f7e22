package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/store/storetest"
)

// Findings that share their evidence store it once, each verdict row names
// it by key and none holds it inline, and the findings read back whole.
// A row whose key names no stored evidence is an error, not a finding
// without evidence.
func TestFindingEvidenceStoredOnce(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t)
	db := storetest.DB(s)
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	shared := model.Evidence{PrincipalEvidence: model.PrincipalEvidence{Principal: "alice", System: "ssh"}}
	other := model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: "https://github.com/acme/api/pull/7", Author: "bob"}}
	var fs []model.Finding
	for _, sub := range []string{"ssh:e1", "ssh:e2", "ssh:e3"} {
		fs = append(fs, model.Finding{Rule: "AC-1", Subject: sub, Outcome: model.Pass, Reason: "authorized",
			OccurredAt: at, EvaluatedAt: at, Evidence: shared})
	}
	fs = append(fs, model.Finding{Rule: "CM-1", Subject: "acme/api#7", Outcome: model.Fail, Reason: "pushed",
		Repo: "acme/api", OccurredAt: at, EvaluatedAt: at, Evidence: other})
	if err := s.AppendFindings(ctx, fs); err != nil {
		t.Fatal(err)
	}
	var n []struct {
		Evidences uint64 `json:"evidences"`
		Inline    uint64 `json:"inline"`
		Keys      uint64 `json:"keys"`
	}
	if err := db.Query(ctx, `SELECT (SELECT count() FROM finding_evidence) AS evidences,
    (SELECT countIf(evidence != '') FROM findings) AS inline, (SELECT uniqExact(evidence_key) FROM findings) AS keys`,
		nil, &n); err != nil {
		t.Fatal(err)
	}
	if len(n) != 1 || n[0].Evidences != 2 || n[0].Inline != 0 || n[0].Keys != 2 {
		t.Fatalf("stored %+v, want 2 evidences, no inline evidence, 2 keys", n)
	}
	got, err := s.FindingsFor(ctx, []string{"ssh:e1", "ssh:e2", "ssh:e3", "acme/api#7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fs) {
		t.Fatalf("read %d findings, want %d", len(got), len(fs))
	}
	for _, g := range got {
		want := shared
		if g.Rule == "CM-1" {
			want = other
		}
		if !reflect.DeepEqual(g.Evidence, want) {
			t.Errorf("%s %s: evidence %+v, want %+v", g.Rule, g.Subject, g.Evidence, want)
		}
	}

	// A verdict naming evidence that is not there.
	if err := db.Exec(ctx, `INSERT INTO findings (rule, subject, outcome, reason, repo, occurred_at, evaluated_at,
    evidence, waiver, evidence_key) VALUES ('AC-1', 'ssh:e9', 'pass', '', '', now64(3), now64(6), '', '', 'deadbeef')`,
		nil); err != nil {
		t.Fatal(err)
	}
	if fs, err := s.FindingsFor(ctx, []string{"ssh:e9"}); err == nil {
		t.Fatalf("a key without its evidence read as %+v", fs)
	}
}
