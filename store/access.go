package store

import (
	"context"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/model"
)

// WriteAccess stores access events in one INSERT. A repeated event id
// replaces itself.
func (s *Store) WriteAccess(ctx context.Context, es []model.AccessEvent) error {
	rows := make([]accessRow, len(es))
	for i, e := range es {
		rows[i] = accessToRow(e)
	}
	if err := s.db.Insert(ctx, "access_events", rows); err != nil {
		return fmt.Errorf("store %d access events: %w", len(es), err)
	}
	return nil
}

// AccessSystems lists the systems with stored access events.
func (s *Store) AccessSystems(ctx context.Context) ([]string, error) {
	var rows []struct {
		System string `json:"system"`
	}
	if err := s.db.Query(ctx, "SELECT DISTINCT system FROM access_events ORDER BY system", nil, &rows); err != nil {
		return nil, fmt.Errorf("list access systems: %w", err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.System
	}
	return out, nil
}

// AccessEvents returns up to limit events of system with id > after, in id
// order: a cursor for walking a system's events in bounded memory.
func (s *Store) AccessEvents(ctx context.Context, system, after string, limit int) ([]model.AccessEvent, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, "SELECT * FROM access_events FINAL WHERE system = {system:String} AND id > {after:String} ORDER BY id LIMIT {n:UInt32}",
		Params{"system": system, "after": after, "n": fmt.Sprint(limit)}, &rows); err != nil {
		return nil, fmt.Errorf("read access events of %s: %w", system, err)
	}
	out := make([]model.AccessEvent, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// AccessBetween returns every access event whose time lies in [from, to).
func (s *Store) AccessBetween(ctx context.Context, from, to time.Time) ([]model.AccessEvent, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, `SELECT * FROM access_events FINAL
WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')} ORDER BY system, id`,
		periodParams(from, to), &rows); err != nil {
		return nil, fmt.Errorf("read access events: %w", err)
	}
	out := make([]model.AccessEvent, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// AccessEvent returns one stored access event.
func (s *Store) AccessEvent(ctx context.Context, system, id string) (model.AccessEvent, bool, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, "SELECT * FROM access_events FINAL WHERE system = {system:String} AND id = {id:String}",
		Params{"system": system, "id": id}, &rows); err != nil {
		return model.AccessEvent{}, false, fmt.Errorf("read access event %s:%s: %w", system, id, err)
	}
	if len(rows) == 0 {
		return model.AccessEvent{}, false, nil
	}
	return rows[0].model(), true, nil
}

// AccessReceivedSince returns up to limit access events stored after since
// (by receipt), oldest first, and the receipt time to continue from.
func (s *Store) AccessReceivedSince(ctx context.Context, since time.Time) ([]model.AccessEvent, time.Time, error) {
	var rows []accessRow
	if err := s.db.Query(ctx, `SELECT * FROM access_events FINAL WHERE received_at > {since:DateTime64(3, 'UTC')}
ORDER BY received_at, system, id LIMIT 20000`, Params{"since": chTime(since)}, &rows); err != nil {
		return nil, since, fmt.Errorf("read access events received since %s: %w", since.Format(time.RFC3339), err)
	}
	out := make([]model.AccessEvent, len(rows))
	last := since
	for i, r := range rows {
		out[i] = r.model()
		if r.ReceivedAt.T().After(last) {
			last = r.ReceivedAt.T()
		}
	}
	return out, last, nil
}
