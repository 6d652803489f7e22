package ingest

import (
	"context"

	"github.com/changeproof/changeproof/model"
)

// Log takes accepted events of every source on their way into the
// evidence log (pipeline.Intake implements it over the spool or Kafka).
//
// Append blocks until every record of ds is durable and returns a nil
// error, or returns an error and none of them may be reported accepted (a
// retry is safe: a record appended twice has one effect). refused[i]
// non-nil says ds[i] was kept only as evidence of an attempt, not as
// evidence, and why (a *model.ConflictError: its id holds other bytes);
// the sender must be told that record was refused. refused is nil or
// len(ds) long. Safe for concurrent use.
type Log interface {
	Append(ctx context.Context, ds []model.Delivery) (refused []error, err error)
}
