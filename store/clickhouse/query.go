package clickhouse

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/changeproof/changeproof/store"
)

// Query implements store.DB: each result row becomes one element appended
// to dest, its columns set into the fields their json tags name (columns
// without a field are skipped, as JSON decoding skips unknown keys).
// DateTime64 columns set store.Time fields with the Unix epoch as zero.
func (db *DB) Query(ctx context.Context, query string, params store.Params, dest any) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	dv := reflect.ValueOf(dest)
	if dv.Kind() != reflect.Pointer || dv.IsNil() || dv.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("query destination must be a pointer to a slice, got %T", dest)
	}
	sl := dv.Elem()
	et := sl.Type().Elem()
	ptr := et.Kind() == reflect.Pointer
	if ptr {
		et = et.Elem()
	}
	rt, err := rowTypeOf(et)
	if err != nil {
		return fmt.Errorf("query destination: %w", err)
	}
	rows, err := db.conn.Query(db.queryContext(ctx, store.LiteralParams(query, params), nil), query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := planColumns(rows.ColumnTypes(), rt)
	if err != nil {
		return err
	}
	scan := make([]any, len(cols))
	for i, c := range cols {
		scan[i] = c.buf.Addr().Interface()
	}
	for rows.Next() {
		if err := rows.Scan(scan...); err != nil {
			return fmt.Errorf("read row %d: %w", sl.Len(), err)
		}
		el := reflect.New(et).Elem()
		for _, c := range cols {
			if c.field == nil {
				continue
			}
			if err := c.set(el.FieldByIndex(c.field.index), c.buf); err != nil {
				return fmt.Errorf("read row %d: column %s into %s: %w", sl.Len(), c.name, c.field.typ, err)
			}
		}
		if ptr {
			el = el.Addr()
		}
		sl = reflect.Append(sl, el)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	dv.Elem().Set(sl)
	return nil
}

// resultColumn is how one result column is read: scanned into buf (of the
// driver's scan type), then set into field.
type resultColumn struct {
	name  string
	buf   reflect.Value
	field *field
	set   func(dst, src reflect.Value) error
}

func planColumns(types []driver.ColumnType, rt *rowType) ([]resultColumn, error) {
	cols := make([]resultColumn, len(types))
	for i, t := range types {
		st := t.ScanType()
		if st == nil {
			return nil, fmt.Errorf("column %s (%s): no Go type to scan into", t.Name(), t.DatabaseTypeName())
		}
		cols[i] = resultColumn{name: t.Name(), buf: reflect.New(st).Elem()}
		f, ok := rt.lookup(t.Name())
		if !ok {
			continue
		}
		set, err := setter(f.typ, st)
		if err != nil {
			return nil, fmt.Errorf("column %s (%s) into field %s (%s): %w", t.Name(), t.DatabaseTypeName(), f.name, f.typ, err)
		}
		cols[i].field, cols[i].set = &f, set
	}
	return cols, nil
}

// setter returns how a value of the driver's scan type src is stored into
// a field of type dst, or why it cannot be.
func setter(dst, src reflect.Type) (func(dst, src reflect.Value) error, error) {
	// Nullable columns scan into pointers; NULL leaves the zero value.
	if src.Kind() == reflect.Pointer && dst.Kind() != reflect.Pointer {
		inner, err := setter(dst, src.Elem())
		if err != nil {
			return nil, err
		}
		return func(d, s reflect.Value) error {
			if s.IsNil() {
				d.SetZero()
				return nil
			}
			return inner(d, s.Elem())
		}, nil
	}
	if dst.Kind() == reflect.Pointer && src.Kind() != reflect.Pointer {
		inner, err := setter(dst.Elem(), src)
		if err != nil {
			return nil, err
		}
		return func(d, s reflect.Value) error {
			p := reflect.New(dst.Elem())
			if err := inner(p.Elem(), s); err != nil {
				return err
			}
			d.Set(p)
			return nil
		}, nil
	}
	switch {
	case isTime(dst) && src == timeType:
		zeroEpoch := dst == storeTimeType
		return func(d, s reflect.Value) error {
			t := s.Interface().(time.Time)
			if zeroEpoch && !t.After(epoch) {
				// store.Time's zero is stored as the epoch (store/rows.go).
				t = time.Time{}
			} else {
				t = t.UTC()
			}
			d.Set(reflect.ValueOf(t).Convert(dst))
			return nil
		}, nil
	case isNumber(dst.Kind()) && isNumber(src.Kind()):
		return func(d, s reflect.Value) error {
			out, err := convertNumber(s, dst)
			if err != nil {
				return err
			}
			d.Set(out)
			return nil
		}, nil
	case dst.Kind() == reflect.Bool && src.Kind() == reflect.Bool:
		return func(d, s reflect.Value) error { d.SetBool(s.Bool()); return nil }, nil
	case dst.Kind() == reflect.Bool && (src.Kind() >= reflect.Int && src.Kind() <= reflect.Uint64):
		// UInt8 results of comparisons.
		return func(d, s reflect.Value) error { d.SetBool(!s.IsZero()); return nil }, nil
	case dst.Kind() == reflect.String && src.Kind() == reflect.String:
		return func(d, s reflect.Value) error { d.SetString(s.String()); return nil }, nil
	case dst.Kind() == reflect.String && src.Kind() == reflect.Slice && src.Elem().Kind() == reflect.Uint8:
		return func(d, s reflect.Value) error { d.SetString(string(s.Bytes())); return nil }, nil
	case dst.Kind() == reflect.String && src.Implements(reflect.TypeFor[fmt.Stringer]()):
		// UUID, IPv4, IPv6: their text form.
		return func(d, s reflect.Value) error {
			d.SetString(s.Interface().(fmt.Stringer).String())
			return nil
		}, nil
	case dst.Kind() == reflect.Slice && src.Kind() == reflect.Slice && !src.AssignableTo(dst):
		elem, err := setter(dst.Elem(), src.Elem())
		if err != nil {
			return nil, err
		}
		return func(d, s reflect.Value) error {
			if s.IsNil() {
				d.SetZero()
				return nil
			}
			out := reflect.MakeSlice(dst, s.Len(), s.Len())
			for i := 0; i < s.Len(); i++ {
				if err := elem(out.Index(i), s.Index(i)); err != nil {
					return fmt.Errorf("element %d: %w", i, err)
				}
			}
			d.Set(out)
			return nil
		}, nil
	case src.AssignableTo(dst):
		return func(d, s reflect.Value) error { d.Set(s); return nil }, nil
	case src.ConvertibleTo(dst) && src.Kind() == dst.Kind():
		return func(d, s reflect.Value) error { d.Set(s.Convert(dst)); return nil }, nil
	}
	return nil, fmt.Errorf("cannot store %s in %s", src, dst)
}
