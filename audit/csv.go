package audit

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/internal/csvsafe"
)

// sampleCSV renders sample.csv (cells neutralised by csvsafe.Cell): the population's columns, then
// sample_number, draw_key and evidence_file.
func sampleCSV(hdr []string, drawn []drawnMember) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := append(append([]string{"subject", "occurred_at"}, hdr...), "sample_number", "draw_key", "evidence_file")
	if err := w.Write(csvsafe.Row(head)); err != nil {
		return nil, err
	}
	for _, d := range drawn {
		rec := append(append([]string{d.Subject, csvTime(d.OccurredAt)}, d.Values...), strconv.Itoa(d.N), d.Key, d.Path)
		if err := w.Write(csvsafe.Row(rec)); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func csvTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
