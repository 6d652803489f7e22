package store

import (
	"sync"

	"github.com/changeproof/changeproof/store/internal/dbaccess"
)

// Store is changeproof's evidence store over any DB. Safe for concurrent use.
type Store struct {
	db DB

	// The raw log's chain head, loaded on first write. Writers are
	// serialised on chainMu so links are numbered without gaps.
	chainMu     sync.Mutex
	chain       string
	chainLoaded bool
	chainSeq    uint64
	chainHash   string

	// keys, when not nil, holds every key of the raw log (EnableKeyFilter).
	keysMu sync.Mutex
	keys   *keyFilter
}

// New wraps db. Call Migrate first.
func New(db DB) *Store { return &Store{db: db} }

// The database a store wraps is not part of its API: tests reach it through
// storetest.DB.
func init() { dbaccess.Of = func(s any) any { return s.(*Store).db } }

// Close closes the store's database.
func (s *Store) Close() error { return s.db.Close() }
