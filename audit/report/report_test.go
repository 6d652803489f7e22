package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

var (
	jan = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mar = time.Date(2026, 3, 31, 23, 59, 59, 999e6, time.UTC)
)

func defs() []control.Definition {
	return []control.Definition{
		{ID: "X-1", Name: "first", Question: "Was it reviewed?", Remediation: "Review it."},
		{ID: "X-2", Name: "second", Question: "Was it ticketed?"},
	}
}

func finding(rule, subject string, o model.Outcome, at time.Time, reason string) Finding {
	return Finding{Finding: model.Finding{Rule: rule, Subject: subject, Outcome: o, Reason: reason, Repo: "acme/api",
		OccurredAt: at, EvaluatedAt: at.Add(time.Minute)}}
}

func input() Input {
	waived := finding("X-1", "acme/api#3", model.Waived, jan.AddDate(0, 1, 4), "no approval")
	waived.Waiver = &model.Waiver{Rule: "X-1", Subject: "acme/api#3", Reason: "incident INC-7", ApprovedBy: "cto",
		Expires: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
	fixed := finding("X-1", "acme/api#4", model.Pass, jan.AddDate(0, 2, 1), "approved by bob")
	fixed.History = []model.Finding{{Rule: "X-1", Subject: "acme/api#4", Outcome: model.Fail, Reason: "=no approval"}, fixed.Finding}
	merged := finding("X-1", "acme/api@"+strings.Repeat("c", 40), model.NotApplicable, jan.AddDate(0, 2, 3), "merge of acme/api#4")
	merged.History = []model.Finding{{Rule: "X-1", Outcome: model.Fail, Reason: "direct push"}, merged.Finding}
	return Input{From: jan, To: mar, Controls: defs(), GeneratedAt: time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC), ToolVersion: "t",
		Findings: []Finding{
			finding("X-1", "acme/api#1", model.Pass, jan.AddDate(0, 0, 3), "approved by bob"),
			finding("X-1", "acme/api#2", model.Fail, jan.AddDate(0, 0, 9), "no approval: alice approved her own change"),
			waived, fixed, merged,
			finding("X-1", "acme/api#5", model.NotApplicable, jan.AddDate(0, 2, 2), "bot"),
			finding("X-2", "acme/api#1", model.Pass, jan.AddDate(0, 0, 3), "ACME-1"),
			finding("Z-9", "acme/api#1", model.Error, jan.AddDate(0, 0, 3), "could not read"),
		},
		ChainHeads: []ChainHead{{Chain: "", Seq: 9, Hash: strings.Repeat("ab", 32)}}}
}

func TestBuildCounts(t *testing.T) {
	r := Build(input())
	if len(r.Controls) != 3 || r.Controls[0].ID != "X-1" || r.Controls[1].ID != "X-2" || r.Controls[2].ID != "Z-9" {
		t.Fatalf("controls = %+v", r.Controls)
	}
	c := r.Controls[0]
	if c.Population != 6 || c.Tested != 4 || c.Exceptions != 2 || c.ExceptionRate != 0.5 || c.Remediated != 1 ||
		c.Outcomes[model.Pass] != 2 || c.Outcomes[model.Fail] != 1 || c.Outcomes[model.Waived] != 1 || c.Outcomes[model.NotApplicable] != 2 {
		t.Fatalf("X-1 counts = %+v", c.Counts)
	}
	if len(c.Months) != 3 || c.Months[0].Month != "2026-01" || c.Months[0].Population != 2 || c.Months[0].ExceptionRate != 0.5 ||
		c.Months[1].Exceptions != 1 || c.Months[2].Population != 3 || c.Months[2].Tested != 1 || c.Months[2].ExceptionRate != 0 {
		t.Fatalf("X-1 months = %+v", c.Months)
	}
	if r.Controls[1].Population != 1 || r.Controls[1].Exceptions != 0 || r.Controls[2].Outcomes[model.Error] != 1 {
		t.Fatalf("X-2, Z-9 = %+v %+v", r.Controls[1].Counts, r.Controls[2].Counts)
	}
	var got []string
	for _, e := range r.Exceptions {
		got = append(got, e.Subject+" "+e.Status)
	}
	if want := "acme/api#2 open|acme/api#3 waived|acme/api#4 remediated|acme/api@" + strings.Repeat("c", 40) + " withdrawn"; strings.Join(got, "|") != want {
		t.Fatalf("exceptions = %q, want %q", strings.Join(got, "|"), want)
	}
	if r.Exceptions[2].FailReason != "=no approval" || r.Exceptions[0].Remediation != "Review it." {
		t.Fatalf("exceptions = %+v", r.Exceptions)
	}
}

// TestFilesAreReproducible renders the same data at two times: every file
// is the same bytes once the generation time is taken out.
func TestFilesAreReproducible(t *testing.T) {
	a, b := input(), input()
	b.GeneratedAt = a.GeneratedAt.Add(36*time.Hour + 7*time.Second)
	// The same findings in another order make the same report.
	b.Findings[0], b.Findings[5] = b.Findings[5], b.Findings[0]
	fa, err := Files(Build(a), FormatHTML, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := Files(Build(b), FormatHTML, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fa) != len(fb) || len(fa) != 4 {
		t.Fatalf("%d and %d files", len(fa), len(fb))
	}
	strip := func(data []byte, at time.Time) []byte {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04 UTC"} {
			data = bytes.ReplaceAll(data, []byte(at.UTC().Format(layout)), []byte("GENERATED"))
		}
		return data
	}
	for i := range fa {
		if fa[i].Name != fb[i].Name {
			t.Fatalf("file %d: %s vs %s", i, fa[i].Name, fb[i].Name)
		}
		if fa[i].Name == "manifest.json" {
			continue // lists the other files' hashes, which carry the time
		}
		if !bytes.Equal(strip(fa[i].Data, a.GeneratedAt), strip(fb[i].Data, b.GeneratedAt)) {
			t.Errorf("%s differs beyond the generation time", fa[i].Name)
		}
		if fa[i].Name == "exceptions.csv" && !bytes.Equal(fa[i].Data, fb[i].Data) {
			t.Errorf("exceptions.csv differs")
		}
	}
}

func TestExceptionsCSV(t *testing.T) {
	data, err := ExceptionsCSV(Build(input()))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "rule" || rows[2][9] != "incident INC-7" || rows[2][10] != "cto" || rows[2][11] != "2026-12-31T00:00:00Z" {
		t.Fatalf("rows = %q", rows)
	}
	// A reason that a spreadsheet would run as a formula is neutralised.
	if rows[3][8] != "'=no approval" {
		t.Fatalf("fail_reason = %q, want the formula neutralised", rows[3][8])
	}
}

func TestHTML(t *testing.T) {
	r := Build(input())
	r.System.Repositories = []string{"acme/api"}
	r.System.Policy = map[string]any{"min_approvals": 1}
	html, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	for _, want := range []string{"<svg", "Was it reviewed?", "no approval: alice approved her own change", "incident INC-7",
		"min_approvals", "@media print", strings.Repeat("ab", 32), `id="control-X-2"`, "2026-02"} {
		if !strings.Contains(s, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Self-contained: no script, nothing loaded from elsewhere.
	for _, bad := range []string{"<script", "src=", "<link", "@import"} {
		if strings.Contains(s, bad) {
			t.Errorf("report.html has %q: it must be self-contained", bad)
		}
	}
}

func TestMonths(t *testing.T) {
	got := Months(time.Date(2025, 11, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	if strings.Join(got, ",") != "2025-11,2025-12,2026-01,2026-02" {
		t.Fatalf("Months = %v", got)
	}
	if Percent(0.125) != "12.5%" || Percent(0) != "0%" || Percent(1) != "100%" {
		t.Fatalf("Percent: %s %s %s", Percent(0.125), Percent(0), Percent(1))
	}
}
