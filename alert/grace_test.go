package alert_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
)

// TestGraceWaitsForTheProcessingClock: a direct push's grace ends when the
// pipeline's processing clock, not the wall clock, passes it; meanwhile
// the alerts behind it still go out, and the withdrawn one is cancelled
// once the late pull_request event is judged.
func TestGraceWaitsForTheProcessingClock(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	processed := t0 // the pipeline is stuck behind a backlog accepted at t0
	f.sender.Processed = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return processed
	}
	f.feed(t, f.sender, pushFinding(sha1, model.Fail), pushFinding(sha2, model.Fail))
	f.clock.Advance(10 * time.Minute) // five graces on the wall clock
	f.feed(t, f.sender, prFinding("CM-2", 9, model.Fail, "self-approved"))
	f.flush(t, f.sender)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#9"}) {
		t.Fatalf("with the pipeline behind, delivered %v; want only the alert that waits for nothing", got)
	}

	// The pipeline catches up to just before the grace's end: still held.
	mu.Lock()
	processed = t0.Add(2*time.Minute - time.Second)
	mu.Unlock()
	f.flush(t, f.sender)
	if n := len(f.slack.Requests()); n != 1 {
		t.Fatalf("%d messages before the processing clock passed the grace", n)
	}

	// The late pull_request event was judged: sha1 was a merge.
	withdrawn := pushFinding(sha1, model.NotApplicable)
	withdrawn.Reason, withdrawn.Evidence.MergeOf = "merge of acme/pay#7", "acme/pay#7"
	f.feed(t, f.sender, withdrawn)
	mu.Lock()
	processed = t0.Add(2 * time.Minute)
	mu.Unlock()
	f.flush(t, f.sender)
	if got := subjectsOf(f.slack.Texts()); !reflect.DeepEqual(got, []string{"acme/pay#9", "acme/pay@" + sha2}) {
		t.Errorf("after the processing clock passed the grace, delivered %v", got)
	}
}
