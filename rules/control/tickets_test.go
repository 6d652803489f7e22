package control

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestFindTicketsIsRegexp(t *testing.T) {
	pattern := DefaultPolicy().TicketPattern
	if pattern.String() != defaultTicketPattern {
		t.Fatalf("the default pattern is %q, FindTickets matches %q by hand", pattern, defaultTicketPattern)
	}
	parts := []string{"A", "B", "Z", "a", "1", "9", "0", "-", "--", " ", "PAY-12", "AB1-", "-3", "é", "\xff", "X-", "_", ":"}
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 100000; i++ {
		var b strings.Builder
		for n := rng.IntN(10); n >= 0; n-- {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.String()
		if got, want := FindTickets(pattern, s), pattern.FindAllString(s, -1); !slices.Equal(got, want) {
			t.Fatalf("FindTickets(%q) = %q, regexp finds %q", s, got, want)
		}
	}
	other := regexp.MustCompile(`#[0-9]+`)
	if got := FindTickets(other, "fixes #12 and #3"); !slices.Equal(got, []string{"#12", "#3"}) {
		t.Errorf("another pattern: %q", got)
	}
}
