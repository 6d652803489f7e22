package chdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/chdb"
	"github.com/changeproof/changeproof/store/storetest"
)

// Close waits for statements under way, on the caller's thread or on the
// background lane, instead of closing their connections beneath them
// (which crashed the process with SIGSEGV inside the engine), and refuses
// statements after it.
func TestCloseWaitsForStatementsUnderWay(t *testing.T) {
	dir, err := storetest.DataDir()
	if err != nil {
		t.Fatal(err)
	}
	db, err := chdb.Open(chdb.Options{DataDir: dir, Database: "close_waits", Conns: 2, BackgroundNice: 10})
	if err != nil {
		t.Fatal(err)
	}
	const long = "SELECT count() AS N FROM numbers(400000000) WHERE number % 7 = 3"
	done := make(chan error, 2)
	for _, ctx := range []context.Context{context.Background(), chdb.Background(context.Background())} {
		go func() {
			var rows []struct{ N uint64 }
			err := db.Query(ctx, long, nil, &rows)
			if err == nil && (len(rows) != 1 || rows[0].N == 0) {
				err = errors.New("no count")
			}
			done <- err
		}()
	}
	// And statements that keep starting, foreground and background, race
	// Close for a connection: each either runs whole or gets ErrClosed.
	loops := make(chan error, 8)
	for i := range 8 {
		ctx := context.Background()
		if i%2 == 1 {
			ctx = chdb.Background(ctx)
		}
		go func() {
			for {
				var rows []struct{ N uint64 }
				if err := db.Query(ctx, "SELECT count() AS N FROM numbers(1000)", nil, &rows); err != nil {
					loops <- err
					return
				}
			}
		}()
	}
	time.Sleep(150 * time.Millisecond) // both statements are under way
	start := time.Now()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close waited %s", time.Since(start))
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("a statement under way at Close: %v", err)
			}
		default:
			t.Error("Close returned before a statement under way ended")
		}
	}
	for range 8 {
		if err := <-loops; !errors.Is(err, store.ErrClosed) {
			t.Errorf("a statement racing Close: %v, want store.ErrClosed", err)
		}
	}
	var rows []struct{ N uint64 }
	if err := db.Query(context.Background(), "SELECT 1 AS N", nil, &rows); !errors.Is(err, store.ErrClosed) {
		t.Errorf("a statement after Close: %v, want store.ErrClosed", err)
	}
}
