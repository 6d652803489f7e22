package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

func subjects(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}

func named(names ...string) []Member {
	ms := make([]Member, len(names))
	for i, n := range names {
		ms[i] = Member{Subject: n, OccurredAt: t0}
	}
	return ms
}

// TestDrawFixedVector pins the algorithm to values computed outside Go
// (Python 3, hashlib), so that a change to it cannot go unnoticed.
func TestDrawFixedVector(t *testing.T) {
	var pop []Member
	for i := 10; i >= 1; i-- {
		pop = append(pop, Member{Subject: fmt.Sprintf("acme/api#%d", i)})
	}
	got := subjects(Draw(pop, 3, "abc"))
	want := []string{"acme/api#10", "acme/api#5", "acme/api#9"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Draw(acme/api#1..#10, 3, abc) = %v, want %v", got, want)
	}
	if k := DrawKey("abc", "acme/api#10"); k != "05ef938183e0ad177de0d155a6fa4efa959423789d1e8e942061413a380d2a11" {
		t.Fatalf("DrawKey(abc, acme/api#10) = %s", k)
	}
}

// naiveDraw re-implements the documented algorithm in the plainest way:
// repeatedly pick the remaining member with the smallest key.
func naiveDraw(subjects []string, n int, seed string) []string {
	left := append([]string(nil), subjects...)
	var picked []string
	for len(picked) < n && len(left) > 0 {
		best := 0
		bestKey := ""
		for i, s := range left {
			sum := sha256.Sum256([]byte(seed + "\n" + s))
			k := hex.EncodeToString(sum[:])
			if i == 0 || k < bestKey || k == bestKey && s < left[best] {
				best, bestKey = i, k
			}
		}
		picked = append(picked, left[best])
		left = append(left[:best], left[best+1:]...)
	}
	sort.Strings(picked)
	if picked == nil {
		picked = []string{}
	}
	return picked
}

func TestDrawMatchesReimplementation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		size := r.IntN(60)
		var names []string
		seen := map[string]bool{}
		for len(names) < size {
			s := fmt.Sprintf("org%d/repo-%d#%d", r.IntN(3), r.IntN(4), r.IntN(500))
			if r.IntN(4) == 0 {
				s = fmt.Sprintf("org/r@%040x", r.Uint64())
			}
			if r.IntN(10) == 0 {
				s = fmt.Sprintf("ünïcødé/%d ☃", r.IntN(100))
			}
			if !seen[s] {
				seen[s] = true
				names = append(names, s)
			}
		}
		n := r.IntN(size + 5)
		seed := fmt.Sprintf("seed-%d", r.Uint32())
		got := subjects(Draw(named(names...), n, seed))
		want := naiveDraw(names, n, seed)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d: Draw(%d of %d, %q) = %v, want %v", trial, n, size, seed, got, want)
		}
	}
}

func TestDrawEdges(t *testing.T) {
	pop := named("c", "a", "b")
	before := subjects(pop)
	if got := Draw(pop, 0, "s"); len(got) != 0 {
		t.Errorf("n=0 drew %v", subjects(got))
	}
	if got := Draw(pop, -1, "s"); len(got) != 0 {
		t.Errorf("n=-1 drew %v", subjects(got))
	}
	if got := subjects(Draw(pop, 10, "s")); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("n > population drew %v, want all in subject order", got)
	}
	if got := Draw(nil, 3, "s"); len(got) != 0 {
		t.Errorf("empty population drew %v", subjects(got))
	}
	if !reflect.DeepEqual(subjects(pop), before) {
		t.Errorf("Draw reordered its input: %v", subjects(pop))
	}
	// Byte order, not locale order: upper case sorts before lower case.
	if got := subjects(Draw(named("b", "B", "a", "A"), 4, "s")); !reflect.DeepEqual(got, []string{"A", "B", "a", "b"}) {
		t.Errorf("order = %v, want byte order", got)
	}
}

func TestDrawSeedsDiffer(t *testing.T) {
	pop := changes(200)
	a := subjects(Draw(pop, 25, "seed-one"))
	b := subjects(Draw(pop, 25, "seed-two"))
	if len(a) != 25 || len(b) != 25 {
		t.Fatalf("sizes %d, %d, want 25", len(a), len(b))
	}
	if reflect.DeepEqual(a, b) {
		t.Fatalf("two seeds drew the same sample %v", a)
	}
	if again := subjects(Draw(pop, 25, "seed-one")); !reflect.DeepEqual(a, again) {
		t.Fatalf("same seed drew %v, then %v", a, again)
	}
}

// TestDrawUniform checks, loosely, that every member is about equally likely
// to be drawn over many seeds (a biased key order would favour some).
func TestDrawUniform(t *testing.T) {
	pop := changes(20)
	counts := map[string]int{}
	const trials = 4000
	for i := 0; i < trials; i++ {
		for _, m := range Draw(pop, 5, fmt.Sprint(i)) {
			counts[m.Subject]++
		}
	}
	// Expected 1000 each (5/20 of 4000); standard deviation about 27.
	for _, m := range pop {
		if c := counts[m.Subject]; c < 850 || c > 1150 {
			t.Errorf("%s drawn %d times of %d, expected about 1000", m.Subject, c, trials)
		}
	}
}

func TestNewSeed(t *testing.T) {
	a, err := NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSeed()
	if len(a) != 32 || a == b {
		t.Fatalf("seeds %q, %q: want two different 32-hex strings", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Fatalf("seed %q is not hex", a)
	}
}
