package model

import (
	"errors"
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
