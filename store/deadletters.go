package store

import (
	"context"
	"fmt"
)

// DeadLetter is a stored dead letter.
type DeadLetter struct {
	Source     string `json:"source"`
	Event      string `json:"event"`
	DeliveryID string `json:"delivery_id"`
	ReceivedAt Time   `json:"received_at"`
	Reason     string `json:"reason"`
	Body       string `json:"body"`
}

// DeadLetters lists dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	var rows []DeadLetter
	if err := s.db.Query(ctx, "SELECT * FROM dead_letters FINAL ORDER BY received_at DESC LIMIT {n:UInt32}",
		Params{"n": fmt.Sprint(limit)}, &rows); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return rows, nil
}
