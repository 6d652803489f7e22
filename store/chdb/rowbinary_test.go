package chdb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// every column type the store's tables use, and the Go types its rows
// carry them in.
const kindsTable = `(
    k          String,
    lc         LowCardinality(String),
    u32        UInt32,
    i32        Int32,
    i64        Int64,
    u64        UInt64,
    flag       Bool,
    at         DateTime64(3, 'UTC'),
    at6        DateTime64(6, 'UTC'),
    plain      DateTime64(3, 'UTC'),
    list       Array(String),
    body       String CODEC(ZSTD(3))
) ENGINE = MergeTree ORDER BY k`

type kindsRow struct {
	K     string     `json:"k"`
	LC    string     `json:"lc"`
	U32   int        `json:"u32"`
	I32   int        `json:"i32"`
	I64   int64      `json:"i64"`
	U64   uint64     `json:"u64"`
	Flag  bool       `json:"flag"`
	At    store.Time `json:"at"`
	At6   store.Time `json:"at6"`
	Plain time.Time  `json:"plain"`
	List  []string   `json:"list"`
	Body  string     `json:"body"`
}

func kindsRows(n int) []kindsRow {
	base := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)
	rows := make([]kindsRow, n)
	for i := range rows {
		rows[i] = kindsRow{K: fmt.Sprintf("k%04d", i), LC: []string{"push", "pull_request"}[i%2], U32: 4_000_000_000 + i,
			I32: -i, I64: -1 << 40, U64: 1<<63 + uint64(i), Flag: i%3 == 0, At: store.Time(base.Add(time.Duration(i) * time.Second)),
			At6: store.Time(base), Plain: base, List: []string{"a\n\nb", `q"u'o\te`, ""}[:i%4%3],
			// Blank lines, quotes, tabs, NULs and 0x0a bytes: the inline
			// path's splitter and escapes must not matter.
			Body: fmt.Sprintf(`{"n":%d,"text":"x\n\n\ty\u0000z","raw":"%s"}`, i, strings.Repeat("\n\n\x00\"'\\", 10)) + strings.Repeat("0123456789", 400)}
		if i%5 == 0 {
			rows[i].At = store.Time{} // zero: the epoch
			rows[i].List = nil
		}
	}
	return rows
}

type kindsOut struct {
	K     string   `json:"k"`
	LC    string   `json:"lc"`
	U32   uint32   `json:"u32"`
	I32   int32    `json:"i32"`
	I64   int64    `json:"i64"`
	U64   uint64   `json:"u64"`
	Flag  bool     `json:"flag"`
	At    string   `json:"at"`
	At6   string   `json:"at6"`
	Plain string   `json:"plain"`
	List  []string `json:"list"`
	Body  string   `json:"body"`
}

// TestLargeInsertsMatchInline: rows inserted in one large insert (RowBinary
// through a memory file) read back exactly as the same rows inserted one
// by one (inline JSON).
func TestLargeInsertsMatchInline(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenDB(t)
	for _, tbl := range []string{"big", "small"} {
		if err := db.Exec(ctx, "CREATE TABLE "+tbl+" "+kindsTable, nil); err != nil {
			t.Fatal(err)
		}
	}
	rows := kindsRows(60) // ~250 KB
	ins, err := db.EncodeInsert(ctx, "big", rows)
	if err != nil {
		t.Fatal(err)
	}
	if !ins.ThroughFile() {
		t.Fatal("a 250 KB insert did not go through a memory file")
	}
	if err := db.ExecInsert(ctx, ins); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if ins, err := db.EncodeInsert(ctx, "small", rows[i:i+1]); err != nil || ins.ThroughFile() {
			t.Fatalf("row %d: %v, through file %v", i, err, ins != nil && ins.ThroughFile())
		}
		if err := db.Insert(ctx, "small", rows[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	read := func(tbl string) []kindsOut {
		var out []kindsOut
		if err := db.Query(ctx, "SELECT * FROM "+tbl+" ORDER BY k", nil, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	big, small := read("big"), read("small")
	if len(big) != len(rows) || !reflect.DeepEqual(big, small) {
		for i := range min(len(big), len(small)) {
			if !reflect.DeepEqual(big[i], small[i]) {
				t.Fatalf("row %d:\n file   %+v\n inline %+v", i, big[i], small[i])
			}
		}
		t.Fatalf("%d rows through the file, %d inline, %d inserted", len(big), len(small), len(rows))
	}
	if big[0].At != "1970-01-01T00:00:00.000Z" || big[1].At != "2026-03-04T05:06:08.891Z" || big[1].At6 != "2026-03-04T05:06:07.891234Z" {
		t.Errorf("times read back as %q, %q, %q", big[0].At, big[1].At, big[1].At6)
	}
	if big[0].U32 != 4_000_000_000 || big[3].I32 != -3 || big[3].U64 != 1<<63+3 || !big[3].Flag {
		t.Errorf("numbers read back as %+v", big[3])
	}
}

// A body that is not UTF-8 is stored byte for byte by a large insert: its
// SHA-256 in the raw log must keep matching it.
func TestLargeInsertKeepsBytes(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenDB(t)
	if err := db.Exec(ctx, "CREATE TABLE bytes_kept (k String, body String) ENGINE = MergeTree ORDER BY k", nil); err != nil {
		t.Fatal(err)
	}
	type row struct {
		K    string `json:"k"`
		Body string `json:"body"`
	}
	body := "\xff\xfe{\"a\":\"\xc3\x28\"}\n\n" + strings.Repeat("\x00\x0a\x0a", 30000)
	if err := db.Insert(ctx, "bytes_kept", []row{{"a", body}}); err != nil {
		t.Fatal(err)
	}
	var out []struct {
		H string `json:"h"`
	}
	if err := db.Query(ctx, "SELECT lower(hex(SHA256(body))) AS h FROM bytes_kept", nil, &out); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if len(out) != 1 || out[0].H != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored body hashes to %v, want %x", out, sum)
	}
}

// Rows the binary encoder cannot carry exactly (a zero time.Time, outside
// DateTime64's range; json options) still insert, inline.
func TestLargeInsertFallsBackToJSON(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenDB(t)
	rows := kindsRows(60)
	rows[7].Plain = time.Time{}
	ins, err := db.EncodeInsert(ctx, "t", rows)
	if err != nil || ins.ThroughFile() {
		t.Fatalf("%v, through file %v", err, ins != nil && ins.ThroughFile())
	}
	type opt struct {
		K string `json:"k,omitempty"`
		B string `json:"body"`
	}
	ins, err = db.EncodeInsert(ctx, "t", []opt{{"x", strings.Repeat("y", 100<<10)}})
	if err != nil || ins.ThroughFile() {
		t.Fatalf("%v, through file %v", err, ins != nil && ins.ThroughFile())
	}
}
