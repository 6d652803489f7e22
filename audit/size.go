package audit

import (
	"fmt"
	"strconv"
	"strings"
)

// Frequencies lists the control frequencies SizeFor knows, most frequent
// last, with the range of the practitioner table each one stands for.
var Frequencies = []struct {
	Name  string
	Range string // the table's range, e.g. "20-40"
	Size  int    // the upper bound, which SizeFor returns
}{
	{"annual", "1", 1},
	{"quarterly", "2", 2},
	{"monthly", "2-5", 5},
	{"weekly", "5-15", 15},
	{"daily", "20-40", 40},
	{"recurring", "25-60", 60}, // several times a day
}

// SizeCitation is the manifest's statement of where SizeFor's sizes come
// from.
const SizeCitation = "Sample-size table for tests of operating effectiveness of controls, by how often the control operates: " +
	"annual 1; quarterly 2; monthly 2-5; weekly 5-15; daily 20-40; recurring (several times a day) 25-60. " +
	"The upper bound of the range is used. This table is common practitioner guidance used by audit firms, " +
	"not an AICPA rule or requirement; the service auditor decides the sample size."

// SizeFor returns the sample size for a control that operates at the given
// frequency (case-insensitive): the upper bound of the practitioner table.
func SizeFor(frequency string) (int, error) {
	f := strings.ToLower(strings.TrimSpace(frequency))
	for _, fr := range Frequencies {
		if fr.Name == f {
			return fr.Size, nil
		}
	}
	return 0, fmt.Errorf("unknown frequency %q: valid values are %s", frequency, frequencyNames())
}

func frequencyNames() string {
	names := make([]string, len(Frequencies))
	for i, f := range Frequencies {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// ParseSize parses a --size flag: a positive number, or "auto" (returned as
// 0: the size then comes from Request.Frequency).
func ParseSize(s string) (int, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: give a positive number, or auto with a frequency (%s)", s, frequencyNames())
	}
	return n, nil
}
