package chdb

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/model"
)

// timeField is a row type's time column: its field index and column name.
type timeField struct {
	index int
	name  string
}

var timeFieldsOf sync.Map // reflect.Type -> []timeField

// timeFields lists the top-level time.Time and store.Time fields of a row
// struct type.
func timeFields(t reflect.Type) []timeField {
	if fs, ok := timeFieldsOf.Load(t); ok {
		return fs.([]timeField)
	}
	var fs []timeField
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Type != storeTimeType && f.Type != timeType {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			fs = append(fs, timeField{i, name})
		}
	}
	timeFieldsOf.Store(t, fs)
	return fs
}

// checkTimes refuses rows holding a time outside the evidence range
// (model.CheckTime): the engine would silently clamp it to its own range,
// and stored evidence would then say something that was never received.
// Parsers reject such times per line, so an error here is a bug upstream,
// reported loudly instead of hidden. The zero time (absent) passes.
func checkTimes(table string, rows reflect.Value) error {
	fs := timeFields(rows.Type().Elem())
	if len(fs) == 0 {
		return nil
	}
	for r := 0; r < rows.Len(); r++ {
		row := rows.Index(r)
		for _, f := range fs {
			t := *(*time.Time)(row.Field(f.index).Addr().UnsafePointer())
			if err := model.CheckTime(f.name, t); err != nil {
				return fmt.Errorf("insert into %s: row %d: %w; not stored rather than clamped", table, r, err)
			}
		}
	}
	return nil
}
