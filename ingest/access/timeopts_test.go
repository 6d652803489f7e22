package access

import "testing"

func TestTimeOptions(t *testing.T) {
	loc, y, err := TimeOptions("", "", "")
	if err != nil || loc.String() != "UTC" || y != 0 {
		t.Errorf("defaults: %v %d %v", loc, y, err)
	}
	loc, y, err = TimeOptions("", "2019", "Europe/Berlin")
	if err != nil || loc.String() != "Europe/Berlin" || y != 2019 {
		t.Errorf("configured: %v %d %v", loc, y, err)
	}
	loc, _, err = TimeOptions("America/New_York", "", "Europe/Berlin")
	if err != nil || loc.String() != "America/New_York" {
		t.Errorf("parameter wins: %v %v", loc, err)
	}
	for _, c := range []struct{ tz, year, want string }{
		{"Mars/Olympus", "", `timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Berlin)`},
		{"", "19", `year: want a year from 1970 to 2299, got "19"`},
		{"", "last", `year: want a year from 1970 to 2299, got "last"`},
	} {
		if _, _, err := TimeOptions(c.tz, c.year, ""); err == nil || err.Error() != c.want {
			t.Errorf("%q %q: %v, want %q", c.tz, c.year, err, c.want)
		}
	}
}
