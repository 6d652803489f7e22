package model

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheckTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, ""},
		{MinTime, ""},
		{MaxTime, ""},
		{time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), ""},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Second), "started_at: 0000-01-01T00:00:01Z is out of range (1970-01-01 .. 2299-12-31 UTC)"},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), "started_at: 1969-12-31T23:59:59Z is out of range (1970-01-01 .. 2299-12-31 UTC)"},
		{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), "started_at: 2300-01-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)"},
	} {
		err := CheckTime("started_at", tc.t)
		got := ""
		if err != nil {
			got = err.Error()
			var tre *TimeRangeError
			if !errors.As(err, &tre) || tre.Field != "started_at" {
				t.Errorf("%v: not a *TimeRangeError naming the field: %#v", tc.t, err)
			}
		}
		if got != tc.want {
			t.Errorf("CheckTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// Every time of every record type a Batch holds is checked, in any record
// of its slice, and the error names the field; a batch of valid times
// passes, as it does a second time (the fields are looked up once).
func TestCheckTimesCoversEveryRecordTime(t *testing.T) {
	bad := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	good := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	bt := reflect.TypeFor[Batch]()
	checked := 0
	for i := 0; i < bt.NumField(); i++ {
		st := bt.Field(i).Type
		if st.Kind() != reflect.Slice || st.Elem().Kind() != reflect.Struct {
			continue
		}
		for j := 0; j < st.Elem().NumField(); j++ {
			sf := st.Elem().Field(j)
			if sf.Type != reflect.TypeFor[time.Time]() {
				continue
			}
			checked++
			var b Batch
			recs := reflect.MakeSlice(st, 2, 2) // the second record is the bad one
			recs.Index(0).Field(j).Set(reflect.ValueOf(good))
			recs.Index(1).Field(j).Set(reflect.ValueOf(bad))
			reflect.ValueOf(&b).Elem().Field(i).Set(recs)
			err := b.CheckTimes()
			var tre *TimeRangeError
			if !errors.As(err, &tre) || !tre.Time.Equal(bad) {
				t.Errorf("%s.%s at %v: CheckTimes = %v, want a *TimeRangeError", bt.Field(i).Name, sf.Name, bad, err)
				continue
			}
			if name, _, _ := strings.Cut(sf.Tag.Get("json"), ","); name != "" && tre.Field != name {
				t.Errorf("%s.%s: error names %q, want %q", bt.Field(i).Name, sf.Name, tre.Field, name)
			}
			recs.Index(1).Field(j).Set(reflect.ValueOf(good))
			for range 2 {
				if err := b.CheckTimes(); err != nil {
					t.Errorf("%s.%s at %v: %v", bt.Field(i).Name, sf.Name, good, err)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("found %d time fields in Batch's records; the walk above is broken", checked)
	}
}
