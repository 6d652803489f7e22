package clickhouse

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/store"
)

var (
	timeType      = reflect.TypeFor[time.Time]()
	storeTimeType = reflect.TypeFor[store.Time]()
	epoch         = time.Unix(0, 0).UTC()
)

// field is a struct field that maps to a column.
type field struct {
	name  string // column name: the json tag's, else the field's
	index []int  // reflect path, through embedded structs
	typ   reflect.Type
}

// rowType is how a struct maps to columns: its fields in declaration
// order, as encoding/json sees them (embedded structs flattened, "-"
// skipped, unexported skipped, a shallower field hiding a deeper one of the
// same name).
type rowType struct {
	fields []field
	byName map[string]int
}

var rowTypes sync.Map // reflect.Type -> *rowType

func rowTypeOf(t reflect.Type) (*rowType, error) {
	if rt, ok := rowTypes.Load(t); ok {
		return rt.(*rowType), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("rows must be structs, got %s", t)
	}
	type candidate struct {
		field
		depth  int
		tagged bool
	}
	var all []candidate
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" {
				continue
			}
			path := append(append([]int(nil), index...), i)
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct && f.Type != storeTimeType && f.Type != timeType {
				walk(f.Type, path, depth+1)
				continue
			}
			if !f.IsExported() {
				continue
			}
			name := tag
			if name == "" {
				name = f.Name
			}
			all = append(all, candidate{field{name, path, f.Type}, depth, tag != ""})
		}
	}
	walk(t, nil, 0)

	// Resolve names the way encoding/json does: the shallowest field wins,
	// then a tagged one; a tie hides both.
	best := map[string][]candidate{}
	for _, c := range all {
		cur := best[c.name]
		switch {
		case len(cur) == 0 || c.depth < cur[0].depth:
			best[c.name] = []candidate{c}
		case c.depth == cur[0].depth:
			best[c.name] = append(cur, c)
		}
	}
	rt := &rowType{byName: map[string]int{}}
	for _, c := range all {
		cs := best[c.name]
		if len(cs) > 1 {
			var tagged []candidate
			for _, x := range cs {
				if x.tagged {
					tagged = append(tagged, x)
				}
			}
			if len(tagged) != 1 {
				continue
			}
			cs = tagged
		}
		if !slices.Equal(cs[0].index, c.index) {
			continue
		}
		rt.byName[c.name] = len(rt.fields)
		rt.fields = append(rt.fields, c.field)
	}
	if len(rt.fields) == 0 {
		return nil, fmt.Errorf("%s has no exported fields to map to columns", t)
	}
	actual, _ := rowTypes.LoadOrStore(t, rt)
	return actual.(*rowType), nil
}

// lookup finds the field of a column: by exact name, else, as
// encoding/json does, case-insensitively.
func (rt *rowType) lookup(column string) (field, bool) {
	if i, ok := rt.byName[column]; ok {
		return rt.fields[i], true
	}
	for _, f := range rt.fields {
		if strings.EqualFold(f.name, column) {
			return f, true
		}
	}
	return field{}, false
}

// isTime reports whether t is time.Time or a type defined on it
// (store.Time).
func isTime(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.ConvertibleTo(timeType) && timeType.ConvertibleTo(t)
}
