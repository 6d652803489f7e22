package store

import (
	"context"
	"errors"
	"sync"
	"unsafe"

	"github.com/changeproof/changeproof/model"
)

// Write stores a batch: derived rows first (one INSERT per table, run
// concurrently: each costs mostly the engine's part creation), the raw
// deliveries last. A crash in between leaves derived rows whose deliveries
// are not yet known; the sender retries (it got no 2xx), and the replayed
// derived rows replace themselves by key, so nothing is lost or doubled.
func (s *Store) Write(ctx context.Context, b model.Batch) error {
	var inserts []func() error
	if len(b.PullRequests) > 0 {
		rows := make([]prRow, len(b.PullRequests))
		for i, p := range b.PullRequests {
			rows[i] = prToRow(p)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "pull_requests", rows) })
	}
	if len(b.Reviews) > 0 {
		rows := make([]reviewRow, len(b.Reviews))
		for i, r := range b.Reviews {
			rows[i] = reviewToRow(r)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "reviews", rows) })
	}
	if len(b.Pushes) > 0 {
		rows := make([]pushRow, len(b.Pushes))
		for i, p := range b.Pushes {
			rows[i] = pushToRow(p)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "pushes", rows) })
	}
	if len(b.Protections) > 0 {
		rows := make([]protectionRow, len(b.Protections))
		for i, p := range b.Protections {
			rows[i] = protectionToRow(p)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "protection_events", rows) })
	}
	if len(b.Deploys) > 0 {
		rows := make([]deployRow, len(b.Deploys))
		for i, d := range b.Deploys {
			rows[i] = deployToRow(d)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "deploys", rows) })
	}
	if len(b.Contributions) > 0 {
		rows := rowsOf(b.Contributions, contributionToRow)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "contributions", rows) })
	}
	if len(b.Checks) > 0 {
		rows := rowsOf(b.Checks, checkToRow)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "check_results", rows) })
	}
	if len(b.Rulesets) > 0 {
		rows := rowsOf(b.Rulesets, rulesetToRow)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "ruleset_events", rows) })
	}
	if len(b.DeadLetters) > 0 {
		rows := make([]DeadLetter, len(b.DeadLetters))
		for i, d := range b.DeadLetters {
			rows[i] = DeadLetter{d.Source, d.Event, d.DeliveryID, Time(d.ReceivedAt), d.Reason, bodyString(d.Body)}
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "dead_letters", rows) })
	}
	if len(b.Access) > 0 {
		rows := make([]accessRow, len(b.Access))
		for i, e := range b.Access {
			rows[i] = accessToRow(e)
		}
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "access_events", rows) })
	}
	if len(b.Conflicts) > 0 {
		rows := conflictRows(b.Conflicts)
		inserts = append(inserts, func() error { return s.db.Insert(ctx, "conflicts", rows) })
	}
	if err := parallel(inserts); err != nil {
		return err
	}
	if len(b.Deliveries) > 0 {
		rows := make([]rawRow, len(b.Deliveries))
		for i, d := range b.Deliveries {
			rows[i] = rawRow{Source: d.Source, Event: d.Event, DeliveryID: d.DeliveryID, ReceivedAt: Time(d.ReceivedAt),
				SHA256: d.SHA256, Body: bodyString(d.Body)}
		}
		s.chainMu.Lock()
		defer s.chainMu.Unlock()
		if err := s.link(ctx, rows, b.Deliveries); err != nil {
			return err
		}
		if err := s.db.Insert(ctx, "raw_deliveries", rows); err != nil {
			// The head did not move; the next write links from it again.
			return err
		}
		s.chainSeq, s.chainHash = rows[len(rows)-1].Seq, rows[len(rows)-1].Hash
		s.keysMu.Lock()
		if s.keys != nil {
			for _, d := range b.Deliveries {
				s.keys.add(keyHash(d.Source, d.DeliveryID))
			}
		}
		s.keysMu.Unlock()
	}
	return nil
}

// bodyString views a delivery body as a string without copying it: bodies
// are 5-30 KB and a batch holds hundreds, and nothing writes to a body once
// it was received. The string lives only as long as the insert.
func bodyString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parallel runs fns concurrently and returns the first error.
func parallel(fns []func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
