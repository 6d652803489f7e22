package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// PythonSnippet re-derives the sample of an export from its population.csv
// and manifest.json, run in the export's directory with Python 3. It is
// quoted in the package documentation and in the manifest's method.
const PythonSnippet = `import csv, hashlib, json
m = json.load(open("manifest.json", encoding="utf-8"))
seed, n = m["seed"], m["sample_size_drawn"]
with open("population.csv", newline="", encoding="utf-8") as f:
    subjects = sorted(row["subject"] for row in csv.DictReader(f))
key = lambda s: hashlib.sha256((seed + "\n" + s).encode("utf-8")).hexdigest()
sample = sorted(sorted(subjects, key=key)[:n])
print("\n".join(sample))
`

// DrawKey is a member's sort key in the draw: the lower-case hex SHA-256 of
// seed + "\n" + subject.
func DrawKey(seed, subject string) string {
	sum := sha256.Sum256([]byte(seed + "\n" + subject))
	return hex.EncodeToString(sum[:])
}

// Draw returns a uniform random sample of n members of population, without
// replacement, deterministically from seed: the n members with the smallest
// DrawKey (equal keys broken by subject), listed in subject order (byte
// order). n at or above the population's size takes every member; n <= 0
// takes none. population is not modified.
func Draw(population []Member, n int, seed string) []Member {
	if n <= 0 {
		return []Member{}
	}
	type keyed struct {
		key string
		m   Member
	}
	ks := make([]keyed, len(population))
	for i, m := range population {
		ks[i] = keyed{DrawKey(seed, m.Subject), m}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].key != ks[j].key {
			return ks[i].key < ks[j].key
		}
		return ks[i].m.Subject < ks[j].m.Subject
	})
	if n > len(ks) {
		n = len(ks)
	}
	out := make([]Member, n)
	for i := range out {
		out[i] = ks[i].m
	}
	sortBySubject(out)
	return out
}

// sortBySubject sorts members by subject, byte order (Go compares strings
// bytewise, which for UTF-8 is code point order, as Python sorts).
func sortBySubject(ms []Member) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Subject < ms[j].Subject })
}

// NewSeed returns a fresh seed: 16 random bytes from the operating system's
// CSPRNG, as lower-case hex.
func NewSeed() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate seed: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// checkSeed rejects seeds that would not survive being copied from the
// manifest into a command line or a script: control characters and
// surrounding white space.
func checkSeed(s string) error {
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("seed %q: leading or trailing white space", s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("seed %q: control character %U", s, r)
		}
	}
	return nil
}
