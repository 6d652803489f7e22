package chdb

import (
	"context"

	"github.com/changeproof/changeproof/store"
)

// QueryFormat runs a SELECT and returns the engine's answer in format
// (e.g. RowBinaryWithNamesAndTypes) unparsed: the store reads evidence of
// millions of rows this way, without JSON. The bytes are the caller's.
func (db *DB) QueryFormat(ctx context.Context, query string, params store.Params, format string) ([]byte, error) {
	return db.run(ctx, query, params, format)
}
