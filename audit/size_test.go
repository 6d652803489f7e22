package audit

import (
	"strings"
	"testing"
)

func TestSizeFor(t *testing.T) {
	want := map[string]int{"annual": 1, "quarterly": 2, "monthly": 5, "weekly": 15, "daily": 40, "recurring": 60, " Daily ": 40}
	for f, n := range want {
		got, err := SizeFor(f)
		if err != nil || got != n {
			t.Errorf("SizeFor(%q) = %d, %v; want %d", f, got, err, n)
		}
	}
	_, err := SizeFor("hourly")
	if err == nil {
		t.Fatal("SizeFor(hourly) succeeded")
	}
	for _, name := range []string{"hourly", "annual", "quarterly", "monthly", "weekly", "daily", "recurring"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"25": 25, "auto": 0, "AUTO": 0, " 3 ": 3} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-2", "x", ""} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}
