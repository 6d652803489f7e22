package access

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

var testNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// readAll runs Read over input and returns every emitted event.
func readAll(t *testing.T, input string, o Options, batchSize int) ([]model.AccessEvent, Result) {
	t.Helper()
	var evs []model.AccessEvent
	res, err := Read(strings.NewReader(input), o, batchSize, func(b []model.AccessEvent) error {
		if len(b) > batchSize && batchSize > 0 {
			t.Errorf("batch of %d, max %d", len(b), batchSize)
		}
		evs = append(evs, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != len(evs) {
		t.Errorf("Accepted = %d, emitted %d", res.Accepted, len(evs))
	}
	// Every event names the input line it came from (answers about it,
	// such as a conflict, cite that line): the line that is its raw bytes,
	// or, for a record of a JSON document, the line the document starts on,
	// which its raw bytes follow. The tests compare the rest.
	lines := strings.Split(input, "\n")
	for i := range evs {
		n := evs[i].Line
		ok := n >= 1 && n <= len(lines)
		if ok && strings.TrimPrefix(strings.TrimRight(lines[n-1], "\r"), "\ufeff") != evs[i].Raw {
			ok = strings.Contains(strings.Join(lines[n-1:], "\n"), evs[i].Raw)
		}
		if !ok {
			t.Errorf("event %d: Line %d does not hold its raw bytes %q", i, n, evs[i].Raw)
		}
		evs[i].Line = 0
	}
	return evs, res
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineOf returns line n (1-based) of s.
func lineOf(s string, n int) string { return strings.Split(s, "\n")[n-1] }
