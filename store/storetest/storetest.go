// Package storetest gives tests a fresh database on the real embedded
// engine. The engine holds one data dir per process, so tests share one
// temporary data dir and are isolated by database instead.
package storetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/chdb"
	"github.com/changeproof/changeproof/store/internal/dbaccess"
)

var (
	once    sync.Once
	dataDir string
	dirErr  error
	seq     atomic.Int64
)

// DataDir is the process-wide data dir tests share, with the engine
// started on it. One connection stays open for the life of the test
// process: without it the engine stops whenever the last test's
// connections close and starts again, reloading every earlier test's
// database, on the next Open; a start racing the previous stop failed in
// the engine ("recursive_mutex lock failed") and chdb_connect returned
// NULL (CI, 2026-12-07).
func DataDir() (string, error) {
	once.Do(func() {
		if dataDir, dirErr = os.MkdirTemp("", "changeproof-test-"); dirErr != nil {
			return
		}
		if _, err := chdb.Open(chdb.Options{DataDir: dataDir, Database: "storetest_keep", Conns: 1}); err != nil {
			dirErr = fmt.Errorf("open embedded engine (run `make setup`): %w", err)
		}
	})
	return dataDir, dirErr
}

// Open returns a migrated store in a new database named after the test.
// It fails the test (never skips) when the engine cannot be loaded: run
// `make setup` first.
func Open(t testing.TB) *store.Store {
	t.Helper()
	db := OpenDB(t)
	if err := store.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return store.New(db)
}

// OpenDB returns an unmigrated connection to a new database.
func OpenDB(t testing.TB) *chdb.DB {
	t.Helper()
	dir, err := DataDir()
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	name = fmt.Sprintf("t%d_%s", seq.Add(1), name)
	if len(name) > 60 {
		name = name[:60]
	}
	db, err := chdb.Open(chdb.Options{DataDir: dir, Database: name, Conns: 2})
	if err != nil {
		t.Fatalf("open embedded engine (run `make setup`): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// DB returns the database s wraps, for tests that inspect or break it
// beneath the store (raw rows, mutations, a closed connection). The store's
// own API does not hand it out: nothing in the serving path may reach past
// the store to the engine.
func DB(s *store.Store) store.DB { return dbaccess.Of(s).(store.DB) }
