package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// fakeSource serves a fixed population and records what it was asked.
type fakeSource struct {
	members     []Member
	header      []string // HeaderSource answer (nil: default)
	gotPop      string
	gotFrom     time.Time
	gotTo       time.Time
	mu          sync.Mutex // Export asks for bundles concurrently
	bundleCalls []string
	bundleErr   error
}

func (f *fakeSource) Population(_ context.Context, pop string, from, to time.Time) ([]Member, error) {
	f.gotPop, f.gotFrom, f.gotTo = pop, from, to
	// Hand the members back in reverse order: Export must sort them.
	out := make([]Member, len(f.members))
	for i, m := range f.members {
		out[len(out)-1-i] = m
	}
	return out, nil
}

// testBundle mimics an evidence bundle: nested structs, a map, a list of
// findings, text that needs escaping.
type testBundle struct {
	Subject  string            `json:"subject"`
	InScope  bool              `json:"in_scope"`
	Change   map[string]any    `json:"change"`
	Findings []model.Finding   `json:"findings"`
	Labels   map[string]string `json:"labels"`
}

func (f *fakeSource) Bundle(_ context.Context, pop, subject string) (any, error) {
	f.mu.Lock()
	f.bundleCalls = append(f.bundleCalls, subject)
	f.mu.Unlock()
	if f.bundleErr != nil {
		return nil, f.bundleErr
	}
	for _, m := range f.members {
		if m.Subject != subject {
			continue
		}
		b := testBundle{Subject: subject, InScope: true,
			Change: map[string]any{"title": "Fix <b>bold</b> & \"quotes\"", "url": "https://github.com/" + subject, "number": 7,
				"body": "line one\nline two", "z": nil, "a": []string{"x", "y"}},
			Labels: map[string]string{"zeta": "1", "alpha": "2", "mid": "3"}}
		for _, c := range m.Columns {
			if ruleKey.MatchString(c.Name) && c.Value != "" {
				b.Findings = append(b.Findings, model.Finding{Rule: c.Name, Subject: subject, Outcome: model.Outcome(c.Value),
					Reason: "reason for " + c.Name, OccurredAt: m.OccurredAt, EvaluatedAt: m.OccurredAt.Add(time.Minute),
					Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{SHA: "1a2b3c"}, ReviewEvidence: model.ReviewEvidence{Reviews: []model.ReviewVerdict{{ReviewID: 1, Reviewer: "hubot", State: "approved", Counted: false, Why: "bot"}}}}})
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("no member %s", subject)
}

func (f *fakeSource) Header(string) []string { return f.header }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// changes builds n changes acme/api#1..#n, one per hour from t0, with
// outcomes that vary by number.
func changes(n int) []Member {
	cols, _ := ColumnNames(PopulationChanges)
	outcomes := []string{"pass", "fail", "pending", "waived", "not_applicable", "error"}
	ms := make([]Member, n)
	for i := range ms {
		num := i + 1
		subject := fmt.Sprintf("acme/api#%d", num)
		ms[i] = Member{Subject: subject, OccurredAt: t0.Add(time.Duration(i) * time.Hour),
			Columns: ColumnsFrom(cols, map[string]string{
				"kind": "pull_request", "repo": "acme/api", "sha": fmt.Sprintf("%040x", num), "actor": "octocat",
				"title": fmt.Sprintf("Change %d, with \"quotes\", commas\nand a newline", num), "url": "https://github.com/acme/api/pull/" + fmt.Sprint(num),
				"CM-1": "pass", "CM-2": outcomes[num%len(outcomes)], "CM-3": outcomes[(num/2)%len(outcomes)],
			})}
	}
	return ms
}

func period() (time.Time, time.Time) {
	return t0, time.Date(2026, 6, 30, 23, 59, 59, 999_000_000, time.UTC)
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// export runs Export into a fresh directory and returns it.
func export(t *testing.T, src Source, req Request) (string, *Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	m, err := Export(context.Background(), src, req, dir)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return dir, m
}

func readFile(t *testing.T, dir, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listFiles returns every file under dir, "/"-separated and relative.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
