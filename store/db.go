package store

import (
	"context"
	"errors"
)

// Params are values for {name:Type} placeholders, bound by the engine (never
// interpolated into SQL). Values are in ClickHouse's text form, e.g. arrays as
// ['a','b'].
type Params map[string]string

// DB is a connection to a ClickHouse-compatible engine.
//
// Implementations are safe for concurrent use. Every method blocks until the
// engine has answered; an insert that returned nil is durable (written to the
// table's parts on disk). Errors are engine errors, wrapped with the
// statement's purpose; ErrClosed after Close.
type DB interface {
	// Exec runs one statement that returns no rows (DDL, INSERT ... SELECT).
	Exec(ctx context.Context, query string, params Params) error
	// Insert writes rows, a slice of structs whose json tags name the
	// table's columns, in one INSERT. An empty slice is a no-op.
	Insert(ctx context.Context, table string, rows any) error
	// Query runs a SELECT and appends one decoded element per row to dest,
	// a pointer to a slice of structs whose json tags name the columns.
	Query(ctx context.Context, query string, params Params, dest any) error
	// Close releases the connection; the engine's data stays on disk.
	Close() error
}

// ErrClosed is returned by a DB used after Close.
var ErrClosed = errors.New("store: database closed")
