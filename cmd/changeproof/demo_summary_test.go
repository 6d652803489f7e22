package main

import (
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// The demo's summary has a row per control of the catalogue, CM-7 among
// them, with its outcome counts.
func TestDemoSummaryShowsCM7(t *testing.T) {
	var b strings.Builder
	printSummary(&b, []model.Finding{{Rule: "CM-7", Outcome: model.Fail}, {Rule: "CM-7", Outcome: model.Pass}, {Rule: "CM-7", Outcome: model.Pass}})
	for _, line := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "CM-7" {
			if f[1] != "checks-passed" || f[2] != "2" || f[3] != "1" {
				t.Errorf("CM-7 row %q, want 2 pass 1 fail", line)
			}
			return
		}
	}
	t.Errorf("no CM-7 row in\n%s", b.String())
}
