package alert

import (
	"time"

	"github.com/changeproof/changeproof/alert/outbox"
)

// The grace of a provisional direct-push fail is counted on the pipeline's
// processing clock, not the wall clock: an alert created at t with grace g
// (DueAt = t+g) goes out only once every event accepted before t+g has
// been stored and judged (Sender.Processed). The pull_request event that
// shows a push was a merge comes within the grace of the push; the push
// itself was accepted before t; so by then the event has been judged and
// the finding withdrawn, however far the pipeline lags behind the
// receiver. With nothing in the pipeline the processing clock is the wall
// clock, and the grace ends as it always did.

// processingClock is the clock graced alerts are due on.
func (s *Sender) processingClock() time.Time {
	now := s.now()
	if s.Processed == nil {
		return now
	}
	if p := s.Processed().UTC(); p.Before(now) {
		return p
	}
	return now
}

// waitsForPipeline reports whether a graced alert must still wait for the
// pipeline: its due time has passed on the wall clock but not on the
// processing clock.
func waitsForPipeline(a outbox.Alert, processed time.Time) bool {
	return graced(a) && a.DueAt.After(processed)
}
