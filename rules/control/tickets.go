package control

import "regexp"

// defaultTicketPattern is policy.ticket_pattern's default, as
// DefaultPolicy compiles it.
const defaultTicketPattern = `[A-Z][A-Z0-9]+-[0-9]+`

// FindTickets is pattern.FindAllString(s, -1): every ticket key in s, in
// order. The default pattern is matched by hand, because CM-4 searches
// three texts of every change and regexp is most of what that costs; what
// it finds is what regexp finds (leftmost, longest runs, no overlap).
func FindTickets(pattern *regexp.Regexp, s string) []string {
	if pattern.String() != defaultTicketPattern {
		return pattern.FindAllString(s, -1)
	}
	var out []string
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(s); i++ {
		if !upper(s[i]) {
			continue
		}
		// [A-Z0-9]+ cannot take a '-', so its longest run is the only one
		// a '-' can follow; a shorter run is followed by [A-Z0-9].
		j := i + 1
		for j < len(s) && (upper(s[j]) || digit(s[j])) {
			j++
		}
		if j == i+1 || j == len(s) || s[j] != '-' {
			continue
		}
		k := j + 1
		for k < len(s) && digit(s[k]) {
			k++
		}
		if k == j+1 {
			continue
		}
		out = append(out, s[i:k])
		i = k - 1
	}
	return out
}
