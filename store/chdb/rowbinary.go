package chdb

import (
	"encoding/binary"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/changeproof/changeproof/store"
)

// binaryPlan is how rows of one struct type are written as RowBinary: each
// field, in declaration order, as the ClickHouse type named in structure.
// The engine casts each to its column's type on insert (Int64 to UInt32,
// String to LowCardinality(String), DateTime64(6) to DateTime64(3)), as it
// does when it parses the same values from JSON.
type binaryPlan struct {
	fields    []binaryField
	columns   string // "(`a`, `b`)"
	structure string // "`a` String, `b` Int64", quoted for a SQL string literal
}

type binaryKind uint8

const (
	binString binaryKind = iota
	binBool
	binInt
	binUint
	binStoreTime // store.Time: zero travels as the Unix epoch
	binTime      // time.Time
	binStrings
)

type binaryField struct {
	index int
	kind  binaryKind
}

var (
	binaryPlans   sync.Map // reflect.Type -> *binaryPlan (nil: not supported)
	storeTimeType = reflect.TypeFor[store.Time]()
	timeType      = reflect.TypeFor[time.Time]()
	stringsType   = reflect.TypeFor[[]string]()
)

// planOf returns the RowBinary plan of a row type, or nil when its rows go
// as JSON: fields this encoder does not know, embedded structs, or json
// options (omitempty would leave a column to its default, which RowBinary
// cannot say).
func planOf(t reflect.Type) *binaryPlan {
	if p, ok := binaryPlans.Load(t); ok {
		return p.(*binaryPlan)
	}
	p := makePlan(t)
	binaryPlans.Store(t, p)
	return p
}

func makePlan(t reflect.Type) *binaryPlan {
	if t.Kind() != reflect.Struct {
		return nil
	}
	p := &binaryPlan{}
	var cols, structure []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous || !f.IsExported() || tag == "-" || strings.Contains(tag, ",") {
			return nil
		}
		name := tag
		if name == "" {
			name = f.Name
		}
		var kind binaryKind
		var typ string
		switch {
		case f.Type == storeTimeType:
			kind, typ = binStoreTime, `DateTime64(6, \'UTC\')`
		case f.Type == timeType:
			kind, typ = binTime, `DateTime64(6, \'UTC\')`
		case f.Type == stringsType:
			kind, typ = binStrings, "Array(String)"
		case f.Type.Kind() == reflect.String:
			kind, typ = binString, "String"
		case f.Type.Kind() == reflect.Bool:
			kind, typ = binBool, "Bool"
		case f.Type.Kind() >= reflect.Int && f.Type.Kind() <= reflect.Int64:
			kind, typ = binInt, "Int64"
		case f.Type.Kind() >= reflect.Uint && f.Type.Kind() <= reflect.Uint64:
			kind, typ = binUint, "UInt64"
		default:
			return nil
		}
		p.fields = append(p.fields, binaryField{i, kind})
		cols = append(cols, quoteIdent(name))
		structure = append(structure, strings.ReplaceAll(quoteIdent(name), `\`, `\\`)+" "+typ)
	}
	if len(p.fields) == 0 {
		return nil
	}
	p.columns = "(" + strings.Join(cols, ", ") + ")"
	p.structure = strings.Join(structure, ", ")
	return p
}

// DateTime64's range; a time outside it goes as JSON, whose parser decides.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
)

// hasInvalidUTF8 reports whether a string value of rows is not UTF-8.
func (p *binaryPlan) hasInvalidUTF8(rows reflect.Value) bool {
	for r := 0; r < rows.Len(); r++ {
		row := rows.Index(r)
		for _, f := range p.fields {
			switch f.kind {
			case binString:
				if !utf8.ValidString(row.Field(f.index).String()) {
					return true
				}
			case binStrings:
				v := row.Field(f.index)
				for i := 0; i < v.Len(); i++ {
					if !utf8.ValidString(v.Index(i).String()) {
						return true
					}
				}
			}
		}
	}
	return false
}

// size is an upper bound of the RowBinary size of rows, so that encode
// writes into one allocation.
func (p *binaryPlan) size(rows reflect.Value) int {
	n := 0
	for r := 0; r < rows.Len(); r++ {
		row := rows.Index(r)
		for _, f := range p.fields {
			switch f.kind {
			case binString:
				n += binary.MaxVarintLen64 + row.Field(f.index).Len()
			case binStrings:
				v := row.Field(f.index)
				n += binary.MaxVarintLen64
				for i := 0; i < v.Len(); i++ {
					n += binary.MaxVarintLen64 + v.Index(i).Len()
				}
			default:
				n += 8
			}
		}
	}
	return n
}

// encode appends rows (a slice of the plan's type) as RowBinary. It
// returns false when a value cannot be written exactly.
func (p *binaryPlan) encode(buf []byte, rows reflect.Value) ([]byte, bool) {
	for r := 0; r < rows.Len(); r++ {
		row := rows.Index(r)
		for _, f := range p.fields {
			v := row.Field(f.index)
			switch f.kind {
			case binString:
				s := v.String()
				buf = binary.AppendUvarint(buf, uint64(len(s)))
				buf = append(buf, s...)
			case binBool:
				if v.Bool() {
					buf = append(buf, 1)
				} else {
					buf = append(buf, 0)
				}
			case binInt:
				buf = binary.LittleEndian.AppendUint64(buf, uint64(v.Int()))
			case binUint:
				buf = binary.LittleEndian.AppendUint64(buf, v.Uint())
			case binStoreTime, binTime:
				// Both are a time.Time in memory (store.Time is defined
				// as one); rows come from a slice, so fields are addressable.
				t := *(*time.Time)(v.Addr().UnsafePointer())
				if f.kind == binStoreTime && t.IsZero() {
					t = time.Unix(0, 0)
				}
				if t.Before(minTime) || !t.Before(maxTime) {
					return buf, false
				}
				buf = binary.LittleEndian.AppendUint64(buf, uint64(t.UnixMicro()))
			case binStrings:
				n := v.Len()
				buf = binary.AppendUvarint(buf, uint64(n))
				for i := 0; i < n; i++ {
					s := v.Index(i).String()
					buf = binary.AppendUvarint(buf, uint64(len(s)))
					buf = append(buf, s...)
				}
			}
		}
	}
	return buf, true
}
