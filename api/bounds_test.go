package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/api"
)

func TestParseBound(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		in    string
		upper bool
		want  time.Time
	}{
		{"", false, time.Time{}},
		{"", true, time.Time{}},
		{"2026-03-01", false, utc("2026-03-01T00:00:00Z")},
		{"2026-03-01", true, utc("2026-03-01T23:59:59.999Z")},
		{"2026-12-31", true, utc("2026-12-31T23:59:59.999Z")},
		{"2024-02-29", true, utc("2024-02-29T23:59:59.999Z")},
		{"2026-03-01T10:00:00Z", false, utc("2026-03-01T10:00:00Z")},
		{"2026-03-01T10:00:00Z", true, utc("2026-03-01T10:00:00Z")},
		{"2026-03-01T10:00:00.25+02:00", true, utc("2026-03-01T08:00:00.25Z")},
		{"2026-03-01T22:00:00-05:00", false, utc("2026-03-02T03:00:00Z")},
	} {
		got, err := api.ParseBound(c.in, c.upper)
		if err != nil {
			t.Errorf("ParseBound(%q, %v): %v", c.in, c.upper, err)
			continue
		}
		if !got.Equal(c.want) || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("ParseBound(%q, %v) = %v, want %v in UTC", c.in, c.upper, got, c.want)
		}
	}
	for _, in := range []string{"2026-02-30", "2026-3-1", "2026/03/01", "2026-03-01T10:00:00", "2026-03-01 10:00:00Z", "today", "1772359200"} {
		_, err := api.ParseBound(in, false)
		if err == nil || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseBound(%q) error %v, want one quoting the input", in, err)
		}
	}
}
