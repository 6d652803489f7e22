package enrich_test

import (
	"errors"
	"testing"
	"time"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/internal/fixture"
	"github.com/changeproof/changeproof/model"
)

// A GitHub delivery carrying a time outside 1970 .. 2299 derives nothing:
// it is malformed (a dead letter) and leaves the batch as it was.
func TestOutOfRangeTimesAreMalformed(t *testing.T) {
	repo := fixture.Repo{FullName: "acme/api", DefaultBranch: "main"}
	good := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var b model.Batch
	ok := fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("a"), After: fixture.SHA("b"), PushedAt: good,
		Commits: []fixture.Commit{{SHA: fixture.SHA("b"), Message: "x", Author: "dave", Timestamp: good}}})
	if err := enrich.ParseGitHub(model.Delivery{Event: "push", DeliveryID: "d-ok", Body: ok}, &b); err != nil || len(b.Pushes) != 1 {
		t.Fatalf("good push: %v, %d pushes", err, len(b.Pushes))
	}
	old := time.Date(1850, 6, 1, 0, 0, 0, 0, time.UTC)
	repo.PushedAt = old
	bad := fixture.Push(fixture.PushEvent{Repo: repo, Before: fixture.SHA("b"), After: fixture.SHA("c"), PushedAt: old,
		Commits: []fixture.Commit{{SHA: fixture.SHA("c"), Message: "y", Author: "dave", Timestamp: old}}})
	err := enrich.ParseGitHub(model.Delivery{Event: "push", DeliveryID: "d-1850", Body: bad}, &b)
	want := "push delivery d-1850: malformed payload: push time (repository.pushed_at or head_commit.timestamp): 1850-06-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)"
	if err == nil || err.Error() != want || !errors.Is(err, enrich.ErrMalformed) {
		t.Errorf("push of 1850: %v\nwant %s", err, want)
	}
	if len(b.Pushes) != 1 {
		t.Errorf("the refused delivery left %d pushes in the batch, want the 1 before it", len(b.Pushes))
	}
}
