package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// formatQuerier is a DB that can hand over a SELECT's answer unparsed, in
// an output format of the engine's (the embedded engine does). Evidence is
// then read as RowBinary: lengths and fixed-width numbers, no JSON to scan,
// no time strings to parse. Other DBs are read through Query.
type formatQuerier interface {
	QueryFormat(ctx context.Context, query string, params Params, format string) ([]byte, error)
}

// binaryFormat carries a header with every column's name and type, so a
// schema that is not what the reader expects is an error, never a misread.
const binaryFormat = "RowBinaryWithNamesAndTypes"

type colKind uint8

const (
	kString colKind = iota + 1
	kUInt32
	kInt32
	kInt64
	kBool
	kTimeMilli // DateTime64(3, 'UTC')
	kTimeMicro // DateTime64(6, 'UTC')
	kStrings   // Array(String)
)

// column is one column a reader expects, in SELECT order.
type column struct {
	name string
	kind colKind
}

// columnList renders cols as a SELECT list.
func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func kindAccepts(k colKind, typ string) bool {
	switch k {
	case kString:
		return typ == "String" || typ == "LowCardinality(String)"
	case kUInt32:
		return typ == "UInt32"
	case kInt32:
		return typ == "Int32"
	case kInt64:
		return typ == "Int64"
	case kBool:
		return typ == "Bool"
	case kTimeMilli:
		return typ == "DateTime64(3, 'UTC')"
	case kTimeMicro:
		return typ == "DateTime64(6, 'UTC')"
	case kStrings:
		return typ == "Array(String)" || typ == "Array(LowCardinality(String))"
	}
	return false
}

var errShortRow = errors.New("row ends early")

// binReader walks a RowBinaryWithNamesAndTypes answer row by row; the
// caller reads each row's columns in the order given to newBinReader.
//
// Strings share the answer's memory instead of being copied: the answer is
// a Go slice the engine's bytes were copied into, and nothing writes to it
// afterwards, so the strings stay valid for as long as they are referenced.
type binReader struct {
	buf []byte
	at  int
	err error
}

func newBinReader(buf []byte, cols []column) (*binReader, error) {
	r := &binReader{buf: buf}
	if len(buf) == 0 {
		return r, nil // no rows: the engine sends no header either
	}
	n := r.uvarint()
	if r.err == nil && n != uint64(len(cols)) {
		return nil, fmt.Errorf("answer has %d columns, expected %d (%s)", n, len(cols), columnList(cols))
	}
	for _, c := range cols {
		if name := r.str(); r.err == nil && name != c.name {
			return nil, fmt.Errorf("answer column %q, expected %q", name, c.name)
		}
	}
	for _, c := range cols {
		if typ := r.str(); r.err == nil && !kindAccepts(c.kind, typ) {
			return nil, fmt.Errorf("column %s is %s, not what the reader expects", c.name, typ)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("answer header: %w", r.err)
	}
	return r, nil
}

// next reports whether another row follows; after the last, Err says
// whether the answer was whole.
func (r *binReader) next() bool { return r.err == nil && r.at < len(r.buf) }

func (r *binReader) Err() error {
	if r.err != nil {
		return fmt.Errorf("decode row at byte %d: %w", r.at, r.err)
	}
	return nil
}

func (r *binReader) fail() { r.err, r.at = errShortRow, len(r.buf) }

func (r *binReader) uvarint() uint64 {
	x, n := binary.Uvarint(r.buf[r.at:])
	if n <= 0 {
		r.fail()
		return 0
	}
	r.at += n
	return x
}

// bytes returns the next String's bytes without copying.
func (r *binReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || uint64(len(r.buf)-r.at) < n {
		r.fail()
		return nil
	}
	b := r.buf[r.at : r.at+int(n) : r.at+int(n)]
	r.at += int(n)
	return b
}

func (r *binReader) str() string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (r *binReader) fixed(n int) []byte {
	if len(r.buf)-r.at < n {
		r.fail()
		return make([]byte, n)
	}
	b := r.buf[r.at : r.at+n]
	r.at += n
	return b
}

func (r *binReader) u32() uint32 { return binary.LittleEndian.Uint32(r.fixed(4)) }
func (r *binReader) i32() int32  { return int32(binary.LittleEndian.Uint32(r.fixed(4))) }
func (r *binReader) i64() int64  { return int64(binary.LittleEndian.Uint64(r.fixed(8))) }
func (r *binReader) boolean() bool {
	return r.fixed(1)[0] != 0
}

// timeMilli reads a DateTime64(3) as Time's JSON decoding gives it: UTC,
// and zero for the epoch or earlier (the engine's stand-in for "none").
func (r *binReader) timeMilli() Time {
	ms := r.i64()
	if ms <= 0 {
		return Time{}
	}
	return Time(time.UnixMilli(ms).UTC())
}

func (r *binReader) timeMicro() Time {
	us := r.i64()
	if us <= 0 {
		return Time{}
	}
	return Time(time.UnixMicro(us).UTC())
}

// strs reads an Array(String); an empty array is an empty, non-nil slice,
// as JSON decoding gives it.
func (r *binReader) strs() []string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.buf)-r.at) {
		r.fail()
		return []string{}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// queryBinary runs query on a formatQuerier and returns a reader over its
// rows; ok is false when the DB cannot answer in RowBinary.
func (s *Store) queryBinary(ctx context.Context, query string, p Params, cols []column) (r *binReader, ok bool, err error) {
	fq, isFQ := s.db.(formatQuerier)
	if !isFQ {
		return nil, false, nil
	}
	out, err := fq.QueryFormat(ctx, query, p, binaryFormat)
	if err != nil {
		return nil, true, err
	}
	r, err = newBinReader(out, cols)
	return r, true, err
}
