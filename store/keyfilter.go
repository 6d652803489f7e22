package store

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// keyFilter is a Bloom filter of the raw log's keys (source, id): "no"
// is certain, "maybe" needs the store. A store that is the only writer of
// its raw log (the embedded engine, locked to one process) keeps one, so
// that checking a new event's id (every webhook, every upload batch, every
// load) costs no query: almost every id is new. It grows by adding
// filters twice the size of the last, so it never needs the keys again.
//
// Hashes are XXH64 of "source\x00id", the engine's xxHash64, so the
// filter is filled at start from the engine's hashes without moving the
// keys. Not safe for concurrent use: Store guards it.
type keyFilter struct {
	parts []bloom
}

type bloom struct {
	bits []uint64
	k    uint64 // hash functions
	n, c int    // keys added, capacity at a 1% false-positive rate
}

func newBloom(capacity int) bloom {
	// m = -c ln p / (ln 2)^2 bits, k = m/c ln 2, p = 0.01.
	m := int(math.Ceil(-float64(capacity) * math.Log(0.01) / (math.Ln2 * math.Ln2)))
	return bloom{bits: make([]uint64, (m+63)/64), k: 7, c: capacity}
}

func keyHash(source, id string) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(source)
	_, _ = d.Write([]byte{0})
	_, _ = d.WriteString(id)
	return d.Sum64()
}

// positions are derived from one 64-bit hash by double hashing.
func (b *bloom) each(h uint64, fn func(word int, bit uint64) bool) bool {
	h1, h2 := h&0xffffffff, h>>32|1
	m := uint64(len(b.bits) * 64)
	for i := uint64(0); i < b.k; i++ {
		p := (h1 + i*h2) % m
		if !fn(int(p/64), 1<<(p%64)) {
			return false
		}
	}
	return true
}

func (f *keyFilter) add(h uint64) {
	if len(f.parts) == 0 || f.parts[len(f.parts)-1].n >= f.parts[len(f.parts)-1].c {
		c := 1 << 20
		if len(f.parts) > 0 {
			c = 2 * f.parts[len(f.parts)-1].c
		}
		f.parts = append(f.parts, newBloom(c))
	}
	b := &f.parts[len(f.parts)-1]
	b.each(h, func(w int, bit uint64) bool { b.bits[w] |= bit; return true })
	b.n++
}

func (f *keyFilter) maybe(h uint64) bool {
	for i := range f.parts {
		b := &f.parts[i]
		if b.each(h, func(w int, bit uint64) bool { return b.bits[w]&bit != 0 }) {
			return true
		}
	}
	return false
}

// keyFilterPage is how many keys EnableKeyFilter reads per query.
var keyFilterPage = 1_000_000

// EnableKeyFilter reads every key of the raw log into an in-memory filter
// and keeps it up to date with this Store's writes, so KnownSHA asks the
// engine only about ids that may be stored. Call it once, before any
// write, and only where this Store is the raw log's only writer (another
// writer's keys would be missed and its records taken for new).
func (s *Store) EnableKeyFilter(ctx context.Context) error {
	f := &keyFilter{}
	page := keyFilterPage
	// Paged by key, not by offset: each page is a range of the table's
	// sort key, so a large log is read once.
	var lastSource, lastID string
	for first := true; ; first = false {
		var rows []struct {
			Source string `json:"source"`
			ID     string `json:"delivery_id"`
			H      string `json:"h"` // text: JSON output quotes 64-bit integers anyway
		}
		if err := s.db.Query(ctx, `SELECT source, delivery_id, toString(xxHash64(concat(source, '\0', delivery_id))) AS h FROM raw_deliveries
WHERE {first:Bool} OR (source, delivery_id) > ({source:String}, {id:String})
ORDER BY source, delivery_id LIMIT {n:UInt32}`, Params{"first": strconv.FormatBool(first), "source": lastSource, "id": lastID, "n": strconv.Itoa(page)}, &rows); err != nil {
			return fmt.Errorf("read the raw log's keys: %w", err)
		}
		for _, r := range rows {
			h, err := strconv.ParseUint(r.H, 10, 64)
			if err != nil {
				return fmt.Errorf("read the raw log's keys: %w", err)
			}
			f.add(h)
		}
		if len(rows) < page {
			break
		}
		lastSource, lastID = rows[len(rows)-1].Source, rows[len(rows)-1].ID
	}
	s.keysMu.Lock()
	s.keys = f
	s.keysMu.Unlock()
	return nil
}
