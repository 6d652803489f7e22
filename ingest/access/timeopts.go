package access

import (
	"fmt"
	"strconv"
	"time"

	"github.com/changeproof/changeproof/model"
)

// TimeOptions reads the ?timezone= and ?year= values (or the CLI's
// --timezone and --year) for Options.Location and Options.Year. An empty
// timezone falls back to configured (access.systems.<system>.timezone),
// then UTC; an empty year is 0 (the latest year not in the future). Errors
// name the parameter.
func TimeOptions(timezone, year, configured string) (*time.Location, int, error) {
	name := timezone
	if name == "" {
		name = configured
	}
	loc := time.UTC
	if name != "" {
		l, err := time.LoadLocation(name)
		if err != nil {
			return nil, 0, fmt.Errorf("timezone: unknown time zone %q (want an IANA name such as Europe/Berlin)", name)
		}
		loc = l
	}
	if year == "" {
		return loc, 0, nil
	}
	y, err := strconv.Atoi(year)
	if err != nil || y < model.MinTime.Year() || y > model.MaxTime.Year() {
		return nil, 0, fmt.Errorf("year: want a year from %d to %d, got %q", model.MinTime.Year(), model.MaxTime.Year(), year)
	}
	return loc, y, nil
}
