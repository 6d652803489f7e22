package model

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// The times evidence may carry: what the store's DateTime64(3, 'UTC')
// columns hold without clamping, cut to whole years so the rule is easy to
// state. A time outside is a bad value of its line, never clamped and never
// a reason to fail the rest of a batch.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2299, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// TimeRangeError is a time outside [MinTime, MaxTime]. Its message names
// the field: "started_at: 0000-01-01T00:00:00Z is out of range (1970-01-01
// .. 2299-12-31 UTC)".
type TimeRangeError struct {
	Field string
	Time  time.Time
}

func (e *TimeRangeError) Error() string {
	return fmt.Sprintf("%s: %s is out of range (1970-01-01 .. 2299-12-31 UTC)", e.Field, e.Time.UTC().Format(time.RFC3339Nano))
}

// CheckTime returns a *TimeRangeError naming field when t is non-zero and
// outside [MinTime, MaxTime]. The zero time means "absent" and passes.
func CheckTime(field string, t time.Time) error {
	if t.IsZero() || (!t.Before(MinTime) && !t.After(MaxTime)) {
		return nil
	}
	return &TimeRangeError{Field: field, Time: t}
}

var timeType = reflect.TypeFor[time.Time]()

// CheckTimes checks every time of every record in b (each slice of
// records, each time.Time field, named by its json tag) with CheckTime and
// returns the first out of range. Reflection, so that a record type added
// later is held to the range without anyone remembering to; the fields are
// looked up once per record type (timeFieldsOf), and empty slices skipped:
// looking them up on every call was a quarter of deriving a webhook
// delivery in the loader (docs/performance.md, session 7).
func (b *Batch) CheckTimes() error {
	v := reflect.ValueOf(b).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Slice || f.Len() == 0 || f.Type().Elem().Kind() != reflect.Struct {
			continue
		}
		for _, tf := range timeFieldsOf(f.Type().Elem()) {
			for r := 0; r < f.Len(); r++ {
				if err := CheckTime(tf.name, *f.Index(r).Field(tf.index).Addr().Interface().(*time.Time)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// timeField is a time.Time field of a record type: its index and its name
// as errors give it (the json tag, else the Go name).
type timeField struct {
	index int
	name  string
}

var timeFields sync.Map // reflect.Type -> []timeField

// timeFieldsOf returns the time.Time fields of the struct type t.
func timeFieldsOf(t reflect.Type) []timeField {
	if fs, ok := timeFields.Load(t); ok {
		return fs.([]timeField)
	}
	var fs []timeField
	for j := 0; j < t.NumField(); j++ {
		sf := t.Field(j)
		if sf.Type != timeType {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			name = sf.Name
		}
		fs = append(fs, timeField{j, name})
	}
	timeFields.Store(t, fs)
	return fs
}
