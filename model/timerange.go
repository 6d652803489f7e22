package model

import (
	"fmt"
	"reflect"
	"strings"
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
// later is held to the range without anyone remembering to.
func (b *Batch) CheckTimes() error {
	v := reflect.ValueOf(b).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Struct {
			continue
		}
		et := f.Type().Elem()
		for j := 0; j < et.NumField(); j++ {
			sf := et.Field(j)
			if sf.Type != timeType {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				name = sf.Name
			}
			for r := 0; r < f.Len(); r++ {
				if err := CheckTime(name, f.Index(r).Field(j).Interface().(time.Time)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
