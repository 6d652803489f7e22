package chdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// A time outside 1970 .. 2299 never reaches the engine, which would clamp
// it: the insert fails, naming the row and column, on both write paths.
func TestOutOfRangeTimesFailTheInsert(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenDB(t)
	if err := db.Exec(ctx, "CREATE TABLE t "+kindsTable, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		rows int
		at   time.Time
		want string
	}{
		{"inline, 1850", 3, time.Date(1850, 6, 1, 0, 0, 0, 0, time.UTC), "insert into t: row 2: at: 1850-06-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)"},
		{"through file, 2350", 60, time.Date(2350, 1, 1, 0, 0, 0, 0, time.UTC), "insert into t: row 2: at: 2350-01-01T00:00:00Z is out of range (1970-01-01 .. 2299-12-31 UTC)"},
		{"year 0", 3, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "insert into t: row 2: at: 0000-01-01T00:00:00Z is out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := kindsRows(c.rows)
			rows[2].At = store.Time(c.at)
			err := db.Insert(ctx, "t", rows)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("insert: %v, want %q", err, c.want)
			}
		})
	}
	var n []struct {
		N int `json:"n"`
	}
	if err := db.Query(ctx, "SELECT count() AS n FROM t", nil, &n); err != nil || n[0].N != 0 {
		t.Fatalf("rows stored after refused inserts: %v %v", n, err)
	}
}
