package store

import (
	"fmt"
	"testing"
)

func TestKeyFilterNoFalseNegatives(t *testing.T) {
	var f keyFilter
	for i := 0; i < 3<<20; i++ { // past the first part's capacity: it grows
		f.add(keyHash("access", fmt.Sprint("sys:", i)))
	}
	if len(f.parts) < 2 {
		t.Fatalf("filter did not grow: %d parts", len(f.parts))
	}
	for i := 0; i < 3<<20; i += 997 {
		if !f.maybe(keyHash("access", fmt.Sprint("sys:", i))) {
			t.Fatalf("key %d added but not found", i)
		}
	}
	fp := 0
	for i := 0; i < 100_000; i++ {
		if f.maybe(keyHash("github", fmt.Sprint("new-", i))) {
			fp++
		}
	}
	if fp > 3000 { // 1% per part, three parts at most
		t.Errorf("%d false positives in 100k", fp)
	}
}
