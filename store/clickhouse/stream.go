package clickhouse

import (
	"context"
	"fmt"
	"reflect"

	"github.com/changeproof/changeproof/store"
)

var _ store.RowStreamer = (*DB)(nil)

// StreamRows implements store.RowStreamer: each row is scanned and handed
// to fn as the server's blocks arrive, so a population of millions is
// never held whole.
func (db *DB) StreamRows(ctx context.Context, query string, params store.Params, fn func(row []string) error) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	rows, err := db.conn.Query(db.queryContext(ctx, store.LiteralParams(query, params), nil), query)
	if err != nil {
		return err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	row := make([]string, len(types))
	dest := make([]any, len(types))
	for i, t := range types {
		if st := t.ScanType(); st == nil || st.Kind() != reflect.String {
			return fmt.Errorf("column %s is %s; StreamRows reads String columns only", t.Name(), t.DatabaseTypeName())
		}
		dest[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}
