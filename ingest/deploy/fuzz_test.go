package deploy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// deploySeeds are the lines the table tests use, valid and not.
func deploySeeds() []string {
	seeds := []string{
		deployJSON(nil),
		deployJSON(map[string]string{"status": `"in_progress"`, "finished_at": "-"}),
		deployJSON(map[string]string{"repo": `"acme/payments"`, "pipeline": `"gha"`, "url": `"https://ci.example/1"`, "version": `"1.2.3"`}),
		deployJSON(map[string]string{"service": `"web"`, "repo": `"ACME/Web"`}),
		deployJSON(map[string]string{"started_at": `"0000-01-01T00:00:00Z"`}),
		deployJSON(map[string]string{"started_at": `"0001-01-01T00:00:00Z"`}),
		deployJSON(map[string]string{"finished_at": `"9999-12-31T23:59:59.999999999+14:00"`}),
		deployJSON(map[string]string{"sha": `"` + strings.ToUpper(goodSHA) + `"`}),
		deployJSON(map[string]string{"id": `"d-\u0000\n"`}),
		`{"id": "d-1",`, `deploy d-1 ok`, `[{"id":"a"}]`, `null`, `{}`, `{"id":"a","id":"b"}`,
		"{\n  \"id\": \"pretty\",\n  \"service\": \"payments\"\n}",
	}
	return seeds
}

// Parse never panics; what it accepts is a JSON object encoding/json reads
// too, with every required field set and every time in the evidence range.
func FuzzParse(f *testing.F) {
	for _, s := range deploySeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		d, err := Parse(line, testOptions())
		if err != nil {
			if d != (model.Deploy{}) {
				t.Fatalf("rejected %q but returned %+v", line, d)
			}
			return
		}
		var obj map[string]any
		if jerr := json.Unmarshal(line, &obj); jerr != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", line, jerr)
		}
		if d.ID == "" || d.Service == "" || d.Environment == "" || d.Actor == "" || len(d.SHA) != 40 || d.StartedAt.IsZero() {
			t.Fatalf("accepted %q with a required field empty: %+v", line, d)
		}
		if err := model.CheckTime("started_at", d.StartedAt); err != nil {
			t.Fatalf("accepted %q: %v", line, err)
		}
		if err := model.CheckTime("finished_at", d.FinishedAt); err != nil {
			t.Fatalf("accepted %q: %v", line, err)
		}
		if d.Status != model.DeploySuccess && d.Status != model.DeployFailure && d.Status != model.DeployInProgress {
			t.Fatalf("accepted %q with status %q", line, d.Status)
		}
	})
}

// Read never panics, and every line is either emitted or rejected with a
// line number inside the upload.
func FuzzRead(f *testing.F) {
	seeds := deploySeeds()
	f.Add([]byte(strings.Join(seeds, "\n")))
	f.Add([]byte(strings.Join(seeds[:4], "\r\n") + "\n\n"))
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		emitted := 0
		n, rej, err := Read(strings.NewReader(string(body)), testOptions(), 3, func(ds []model.Deploy) error {
			emitted += len(ds)
			return nil
		})
		if err != nil {
			return // a read error of the upload as a whole (too large a line)
		}
		if n != emitted {
			t.Fatalf("accepted %d, emitted %d", n, emitted)
		}
		lines := strings.Count(string(body), "\n") + 1
		for _, r := range rej {
			if r.Line < 1 || r.Line > lines || r.Error == "" {
				t.Fatalf("rejection %+v outside the %d lines of %q", r, lines, body)
			}
		}
	})
}
