package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// Deploy times outside 1970 .. 2299 are that line's error: the good lines
// of the upload are stored, nothing is clamped, and the batch never fails.
func TestDeployTimesOutOfRangeRejectedPerLine(t *testing.T) {
	e := startOps(t, "ops_timerange", aliceIdentity)
	good := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	lines := []string{deployLine("ok-1", "production", fixture.SHA("x"), "success", good)}
	var want []string
	for i, year := range []string{"0000", "0001", "0999", "1850", "1969", "2350", "9999"} {
		lines = append(lines, fmt.Sprintf(`{"id":"y%s","service":"payments-api","environment":"production","sha":%q,"status":"in_progress","actor":"ci","started_at":"%s-06-01T00:00:00Z"}`,
			year, fixture.SHA("y"+year), year))
		want = append(want, fmt.Sprintf("%d: started_at: %s-06-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)", i+2, year))
	}
	lines = append(lines, fmt.Sprintf(`{"id":"f9999","service":"payments-api","environment":"production","sha":%q,"status":"success","actor":"ci","started_at":"2026-02-03T00:00:00Z","finished_at":"9999-12-31T23:59:59Z"}`, fixture.SHA("f")))
	want = append(want, fmt.Sprintf("%d: finished_at: 9999-12-31T23:59:59Z is out of range (1970-01-01 .. 2299-12-31 UTC)", len(lines)))
	lines = append(lines, deployLine("ok-2", "production", fixture.SHA("z"), "success", good.Add(time.Hour)))
	code, rep := e.post(t, "/v1/deploys", []byte(strings.Join(lines, "\n")+"\n"))
	if code != http.StatusAccepted || rep.Accepted != 2 {
		t.Fatalf("%d %+v", code, rep)
	}
	var got []string
	for _, r := range rep.Rejected {
		got = append(got, fmt.Sprintf("%d: %s", r.Line, r.Error))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rejected:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.settle(t) // stored by the pipeline once the log has them
	if n, _ := e.a.store.Count(context.Background(), "deploys"); n != 2 {
		t.Fatalf("deploys stored = %d, want 2", n)
	}
}
