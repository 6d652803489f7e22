package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"reflect"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/changeproof/changeproof/store"
)

// Insert implements store.DB: one native-protocol batch, INSERT INTO table
// (the json-tagged columns, in struct order). The batch carries an
// insert_deduplication_token, a hash of its table, columns and values, so
// a retried identical batch is stored once by Replicated tables.
func (db *DB) Insert(ctx context.Context, table string, rows any) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Slice {
		return fmt.Errorf("insert into %s: rows must be a slice, got %T", table, rows)
	}
	if v.Len() == 0 {
		return nil
	}
	values, cols, token, err := encodeRows(table, v)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	query := insertQuery(table, cols)
	ctx = db.queryContext(ctx, nil, ch.Settings{"insert_deduplication_token": token})
	b, err := db.conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("insert into %s (%d rows): %w", table, len(values), err)
	}
	defer b.Close()
	targets := b.Columns()
	if len(targets) != len(cols) {
		targets = nil // unknown: leave the conversions to the driver
	}
	for i, row := range values {
		if targets != nil {
			if err := fitRow(row, targets); err != nil {
				b.Abort()
				return fmt.Errorf("insert into %s: row %d: %w", table, i, err)
			}
		}
		if err := b.Append(row...); err != nil {
			b.Abort()
			return fmt.Errorf("insert into %s: row %d: %w", table, i, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert into %s (%d rows): %w", table, len(values), err)
	}
	return nil
}

func insertQuery(table string, cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	return "INSERT INTO " + quoteIdent(table) + " (" + strings.Join(quoted, ", ") + ")"
}

// encodeRows turns a slice of structs (or pointers to them) into the
// values clickhouse-go appends, and hashes them.
func encodeRows(table string, v reflect.Value) (values [][]any, cols []string, token string, err error) {
	et := v.Type().Elem()
	ptr := et.Kind() == reflect.Pointer
	if ptr {
		et = et.Elem()
	}
	rt, err := rowTypeOf(et)
	if err != nil {
		return nil, nil, "", err
	}
	cols = make([]string, len(rt.fields))
	for i, f := range rt.fields {
		cols[i] = f.name
	}
	h := sha256.New()
	hashString(h, table)
	for _, c := range cols {
		hashString(h, c)
	}
	values = make([][]any, v.Len())
	for i := range values {
		rv := v.Index(i)
		if ptr {
			if rv.IsNil() {
				return nil, nil, "", fmt.Errorf("row %d is nil", i)
			}
			rv = rv.Elem()
		}
		row := make([]any, len(rt.fields))
		for j, f := range rt.fields {
			fv, err := rv.FieldByIndexErr(f.index)
			if err != nil {
				return nil, nil, "", fmt.Errorf("row %d column %s: %w", i, f.name, err)
			}
			row[j] = encodeValue(fv)
			hashValue(h, row[j])
		}
		values[i] = row
	}
	return values, cols, hex.EncodeToString(h.Sum(nil)), nil
}

// encodeValue is a field's value as clickhouse-go appends it: times (and
// store.Time) as UTC time.Time with zero as the Unix epoch, as store.Time's
// JSON form has it; defined string, bool and []string types as the plain
// ones; numbers as they are (fitRow sizes them to the column); nil
// pointers as nil.
func encodeValue(v reflect.Value) any {
	t := v.Type()
	switch {
	case isTime(t):
		tt := v.Convert(timeType).Interface().(time.Time)
		if tt.IsZero() {
			return epoch
		}
		return tt.UTC()
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return encodeValue(v.Elem())
	case t.Kind() == reflect.String:
		return v.String()
	case t.Kind() == reflect.Bool:
		return v.Bool()
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		if t.Elem() == reflect.TypeFor[string]() {
			s := v.Interface().([]string)
			if s == nil {
				return []string{}
			}
			return s
		}
		s := make([]string, v.Len())
		for i := range s {
			s[i] = v.Index(i).String()
		}
		return s
	}
	return v.Interface()
}

// fitRow converts each number to its column's Go type, refusing values
// the column cannot hold (clickhouse-go would wrap them around).
func fitRow(row []any, cols []column.Interface) error {
	for i, val := range row {
		st := cols[i].ScanType()
		if st == nil || !isNumber(st.Kind()) || val == nil {
			continue
		}
		rv := reflect.ValueOf(val)
		if !isNumber(rv.Kind()) || rv.Type() == st {
			continue
		}
		out, err := convertNumber(rv, st)
		if err != nil {
			return fmt.Errorf("column %s (%s): %w", cols[i].Name(), cols[i].Type(), err)
		}
		row[i] = out.Interface()
	}
	return nil
}

func isNumber(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// convertNumber converts a number to type t, failing when it does not fit.
func convertNumber(v reflect.Value, t reflect.Type) (reflect.Value, error) {
	out := reflect.New(t).Elem()
	switch {
	case v.CanInt():
		n := v.Int()
		switch {
		case out.CanInt():
			if out.OverflowInt(n) {
				return out, fmt.Errorf("%d overflows %s", n, t)
			}
			out.SetInt(n)
		case out.CanUint():
			if n < 0 || out.OverflowUint(uint64(n)) {
				return out, fmt.Errorf("%d overflows %s", n, t)
			}
			out.SetUint(uint64(n))
		case out.CanFloat():
			out.SetFloat(float64(n))
		}
	case v.CanUint():
		n := v.Uint()
		switch {
		case out.CanInt():
			if n > math.MaxInt64 || out.OverflowInt(int64(n)) {
				return out, fmt.Errorf("%d overflows %s", n, t)
			}
			out.SetInt(int64(n))
		case out.CanUint():
			if out.OverflowUint(n) {
				return out, fmt.Errorf("%d overflows %s", n, t)
			}
			out.SetUint(n)
		case out.CanFloat():
			out.SetFloat(float64(n))
		}
	case v.CanFloat():
		f := v.Float()
		switch {
		case out.CanFloat():
			out.SetFloat(f)
		case out.CanInt():
			if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 || out.OverflowInt(int64(f)) {
				return out, fmt.Errorf("%v does not fit %s", f, t)
			}
			out.SetInt(int64(f))
		case out.CanUint():
			if f != math.Trunc(f) || f < 0 || f >= math.MaxUint64 || out.OverflowUint(uint64(f)) {
				return out, fmt.Errorf("%v does not fit %s", f, t)
			}
			out.SetUint(uint64(f))
		}
	default:
		return out, fmt.Errorf("%s is not a number", v.Type())
	}
	return out, nil
}

// hashValue feeds one encoded value to the batch's hash, with its kind and
// length, so that different rows never hash alike by concatenation.
func hashValue(h hash.Hash, v any) {
	var buf [9]byte
	switch x := v.(type) {
	case nil:
		h.Write([]byte{0})
	case string:
		hashString(h, x)
	case bool:
		buf[0] = 2
		if x {
			buf[1] = 1
		}
		h.Write(buf[:2])
	case time.Time:
		buf[0] = 3
		binary.BigEndian.PutUint64(buf[1:], uint64(x.UnixNano()))
		h.Write(buf[:])
	case []string:
		buf[0] = 4
		binary.BigEndian.PutUint64(buf[1:], uint64(len(x)))
		h.Write(buf[:])
		for _, s := range x {
			hashString(h, s)
		}
	default:
		rv := reflect.ValueOf(v)
		buf[0] = 5
		switch {
		case rv.CanInt():
			binary.BigEndian.PutUint64(buf[1:], uint64(rv.Int()))
		case rv.CanUint():
			binary.BigEndian.PutUint64(buf[1:], rv.Uint())
		case rv.CanFloat():
			binary.BigEndian.PutUint64(buf[1:], math.Float64bits(rv.Float()))
		default:
			buf[0] = 6
			h.Write(buf[:1])
			hashString(h, fmt.Sprintf("%T:%#v", v, v))
			return
		}
		h.Write(buf[:])
	}
}

func hashString(h hash.Hash, s string) {
	var buf [9]byte
	buf[0] = 1
	binary.BigEndian.PutUint64(buf[1:], uint64(len(s)))
	h.Write(buf[:])
	io.WriteString(h, s)
}
