package ingest

import (
	"context"

	"github.com/changeproof/changeproof/model"
)

// Sink takes accepted deliveries.
//
// Accept blocks until every delivery in ds is durable (stored, or
// acknowledged by Kafka) and returns nil, or returns an error and none of
// them may be acknowledged to its sender (a retry is safe: a delivery
// accepted twice has one effect). Implementations must be safe for
// concurrent use.
type Sink interface {
	Accept(ctx context.Context, ds []model.Delivery) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, ds []model.Delivery) error

// Accept implements Sink.
func (f SinkFunc) Accept(ctx context.Context, ds []model.Delivery) error { return f(ctx, ds) }
