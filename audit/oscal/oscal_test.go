package oscal

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/changeproof/changeproof/audit/report"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
)

// schemaFile is NIST's published OSCAL 1.1.3 JSON schema (testdata/README.md).
const schemaFile = "testdata/oscal_complete_schema-1.1.3.json"

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("oscal.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("oscal.json")
	if err != nil {
		t.Fatalf("compile the OSCAL schema: %v", err)
	}
	return s
}

func sampleReport() *report.Report {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 6, 30, 23, 59, 59, 999e6, time.UTC)
	cat := rules.Catalogue()
	var fs []report.Finding
	add := func(rule, subject string, o model.Outcome, day int, reason, url string) {
		at := from.AddDate(0, 0, day)
		fs = append(fs, report.Finding{Finding: model.Finding{Rule: rule, Subject: subject, Outcome: o, Reason: reason,
			Repo: "acme/api", OccurredAt: at, EvaluatedAt: at.Add(time.Second), Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{URL: url}}}})
	}
	a, b := cat[0].ID, cat[1].ID
	add(a, "acme/api#1", model.Pass, 3, "merged through a pull request", "https://github.com/acme/api/pull/1")
	add(a, "acme/api@0123456789abcdef0123456789abcdef01234567", model.Fail, 40, "direct push to main by alice\nnot through a pull request", "")
	add(b, "acme/api#1", model.Fail, 3, "  no qualifying approval  ", "https://github.com/acme/api/pull/1")
	add(b, "acme/api#2", model.Waived, 90, "no qualifying approval", "")
	add(b, "acme/api#3", model.Error, 91, "", "")
	return report.Build(report.Input{From: from, To: to, Controls: cat, Findings: fs, ToolVersion: "test",
		GeneratedAt: time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC),
		ChainHeads:  []report.ChainHead{{Seq: 12, Hash: strings.Repeat("0f", 32)}}})
}

// TestAssessmentResultsValidate checks the document against NIST's schema,
// and that it says what the package promises.
func TestAssessmentResultsValidate(t *testing.T) {
	schema := compile(t)
	r := sampleReport()
	data, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("assessment-results.json is not valid OSCAL:\n%v\n%s", err, data)
	}

	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	res := doc.AssessmentResults.Results[0]
	if res.Start != "2026-01-01T00:00:00Z" || res.End != "2026-06-30T23:59:59.999Z" {
		t.Fatalf("start/end = %s %s", res.Start, res.End)
	}
	if len(res.Observations) != 5 {
		t.Fatalf("%d observations, want one per finding (5)", len(res.Observations))
	}
	if len(res.Findings) != 2 {
		t.Fatalf("%d findings, want one per failed control (2)", len(res.Findings))
	}
	obs := map[string]Observation{}
	for _, o := range res.Observations {
		obs[o.UUID] = o
	}
	for _, f := range res.Findings {
		if f.Target.Status.State != "not-satisfied" || len(f.RelatedObservations) != 1 {
			t.Errorf("finding %s: %+v", f.Target.TargetID, f)
		}
		o, ok := obs[f.RelatedObservations[0].ObservationUUID]
		if !ok || !strings.HasPrefix(o.Title, f.Target.TargetID+" ") || !strings.HasSuffix(o.Title, ": fail") {
			t.Errorf("finding %s relates to %+v", f.Target.TargetID, o)
		}
	}

	// A document that breaks the schema is refused: the test can fail.
	doc.AssessmentResults.Results[0].Start = "January"
	bad, _ := json.Marshal(doc)
	inst, _ = jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if err := schema.Validate(inst); err == nil {
		t.Fatal("a result starting \"January\" validated: the schema check proves nothing")
	}
}

// TestAssessmentResultsReproducible: the same data gives the same document
// but for metadata.last-modified.
func TestAssessmentResultsReproducible(t *testing.T) {
	a, b := sampleReport(), sampleReport()
	b.GeneratedAt = b.GeneratedAt.Add(time.Hour)
	da, _ := Render(a)
	db, _ := Render(b)
	db = bytes.Replace(db, []byte(b.GeneratedAt.Format(time.RFC3339Nano)), []byte(a.GeneratedAt.Format(time.RFC3339Nano)), 1)
	if !bytes.Equal(da, db) {
		t.Fatal("assessment-results.json differs beyond last-modified")
	}
}
