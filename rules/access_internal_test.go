package rules

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCompareSubjectIsStringsCompare(t *testing.T) {
	parts := []string{"", "db", "db-2", "d", "db:", ":", "a1", "a10", "a2", "\xff", "9"}
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func() string { return parts[rng.IntN(len(parts))] + parts[rng.IntN(len(parts))] }
	for i := 0; i < 50000; i++ {
		subject, system, id := pick(), pick(), pick()
		if got, want := compareSubject(subject, system, id), strings.Compare(subject, system+":"+id); got != want {
			t.Fatalf("compareSubject(%q, %q, %q) = %d, want %d", subject, system, id, got, want)
		}
	}
}
