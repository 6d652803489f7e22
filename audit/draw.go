package audit

import (
	"bytes"
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
unguard = lambda c: c[1:] if c.startswith("'") else c  # the leading ' added against formulas
with open("population.csv", newline="", encoding="utf-8") as f:
    subjects = sorted(unguard(row["subject"]) for row in csv.DictReader(f))
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
	d := newDrawer[Member](seed, n)
	for _, m := range population {
		if key, ok := d.consider(m.Subject); ok {
			d.add(key, m.Subject, m)
		}
	}
	es := d.result()
	out := make([]Member, len(es))
	for i, e := range es {
		out[i] = e.item
	}
	return out
}

// drawer is Draw over a population handed over one member at a time: it
// keeps the n members with the smallest keys seen so far (a max-heap on
// key, then subject), so a population of millions costs memory for n
// members only. Members are offered with consider, and added with add
// only when consider says they belong among the n so far.
type drawer[T any] struct {
	n      int
	prefix int    // len(seed + "\n")
	buf    []byte // seed + "\n" + the subject being keyed
	heap   []drawEntry[T]
}

// drawEntry is one member of the sample so far: its raw SHA-256 key (the
// byte order of a digest is the order of its lower-case hex), its subject
// and what the caller keeps of it.
type drawEntry[T any] struct {
	key     [32]byte
	subject string
	item    T
}

func newDrawer[T any](seed string, n int) *drawer[T] {
	buf := append([]byte(seed), '\n')
	return &drawer[T]{n: n, prefix: len(buf), buf: buf}
}

// before orders entries by key, then subject: the draw's order.
func before(ak *[32]byte, as string, bk *[32]byte, bs string) bool {
	if c := bytes.Compare(ak[:], bk[:]); c != 0 {
		return c < 0
	}
	return as < bs
}

// consider computes subject's key and says whether the member belongs
// among the n smallest so far.
func (d *drawer[T]) consider(subject string) ([32]byte, bool) {
	if d.n <= 0 {
		return [32]byte{}, false
	}
	d.buf = append(d.buf[:d.prefix], subject...)
	key := sha256.Sum256(d.buf)
	if len(d.heap) < d.n {
		return key, true
	}
	top := &d.heap[0]
	return key, before(&key, subject, &top.key, top.subject)
}

// add puts a member consider accepted among the n so far, evicting the
// largest when there are n already.
func (d *drawer[T]) add(key [32]byte, subject string, item T) {
	e := drawEntry[T]{key, subject, item}
	h := d.heap
	if len(h) < d.n {
		h = append(h, e)
		for i := len(h) - 1; i > 0; { // sift up
			parent := (i - 1) / 2
			if !before(&h[parent].key, h[parent].subject, &h[i].key, h[i].subject) {
				break
			}
			h[parent], h[i] = h[i], h[parent]
			i = parent
		}
		d.heap = h
		return
	}
	h[0] = e
	for i := 0; ; { // sift down
		largest, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && before(&h[largest].key, h[largest].subject, &h[l].key, h[l].subject) {
			largest = l
		}
		if r < len(h) && before(&h[largest].key, h[largest].subject, &h[r].key, h[r].subject) {
			largest = r
		}
		if largest == i {
			break
		}
		h[i], h[largest] = h[largest], h[i]
		i = largest
	}
}

// result returns the sample in subject order (byte order).
func (d *drawer[T]) result() []drawEntry[T] {
	out := append([]drawEntry[T](nil), d.heap...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].subject < out[j].subject })
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
