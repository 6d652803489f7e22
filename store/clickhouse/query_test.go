package clickhouse

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/changeproof/changeproof/store"
)

type resultRow struct {
	Repo      string     `json:"repo"`
	Number    int        `json:"number"`
	ReviewID  int64      `json:"review_id"`
	Merged    bool       `json:"merged"`
	MergedAt  store.Time `json:"merged_at"`
	SentAt    store.Time `json:"sent_at"`
	Applied   time.Time  `json:"applied_at"`
	Labels    []string   `json:"labels"`
	N         uint64     `json:"n"`
	State     outcome    `json:"state"`
	Waiver    string     `json:"waiver"`
	IsDefault bool       `json:"is_default"`
	Numbers   []int      `json:"numbers"`
	Missing   string     `json:"missing"`
}

var resultColumns = []string{
	"repo String", "number UInt32", "review_id Int64", "merged Bool", "merged_at DateTime64(3, 'UTC')",
	"sent_at DateTime64(6, 'UTC')", "applied_at DateTime64(3, 'UTC')", "labels Array(String)", "n UInt64",
	"state LowCardinality(String)", "waiver Nullable(String)", "is_default UInt8", "numbers Array(UInt32)",
	"unmapped String",
}

func TestQueryMapsColumnsByJSONTag(t *testing.T) {
	w := "cto"
	c := &fakeConn{}
	c.result = func(string) (*proto.Block, error) {
		return resultBlock(t, resultColumns,
			[]any{"acme/api", uint32(7), int64(-5), true, t0, t0, epochTime, []string{"a", "b"}, uint64(1 << 40),
				"queued", &w, uint8(1), []uint32{1, 2}, "skip me"},
			[]any{"acme/web", uint32(8), int64(0), false, epochTime, epochTime.Add(-time.Second), t0, []string{}, uint64(0),
				"sent", nil, uint8(0), []uint32{}, ""},
		), nil
	}
	db := newTestDB(c)
	dest := []resultRow{{Repo: "already here"}}
	q := "SELECT * FROM t WHERE repo = {repo:String} AND n IN {ids:Array(String)}"
	params := store.Params{"repo": "acme/api", "ids": "['a','b']"}
	if err := db.Query(context.Background(), q, params, &dest); err != nil {
		t.Fatal(err)
	}
	if len(c.queries) != 1 || c.queries[0].query != q {
		t.Fatalf("queries = %+v", c.queries)
	}
	if got := c.queries[0].params; len(got) != 2 || got["repo"] != "acme/api" || got["ids"] != "['a','b']" {
		t.Fatalf("parameters = %v, want %v", got, params)
	}
	if len(dest) != 3 || dest[0].Repo != "already here" {
		t.Fatalf("dest = %+v, want the two rows appended", dest)
	}
	a, b := dest[1], dest[2]
	if a.Repo != "acme/api" || a.Number != 7 || a.ReviewID != -5 || !a.Merged || a.N != 1<<40 || a.State != "queued" ||
		a.Waiver != "cto" || !a.IsDefault || len(a.Numbers) != 2 || a.Numbers[1] != 2 || a.Missing != "" {
		t.Errorf("row 1 = %+v", a)
	}
	if !a.MergedAt.T().Equal(t0) || a.MergedAt.T().Location() != time.UTC || !a.SentAt.T().Equal(t0) {
		t.Errorf("row 1 times = %v, %v", a.MergedAt.T(), a.SentAt.T())
	}
	if strings.Join(a.Labels, ",") != "a,b" {
		t.Errorf("labels = %v", a.Labels)
	}
	// store.Time: the epoch (and before) is zero; time.Time keeps it, as
	// JSON decoding does.
	if !a.Applied.Equal(epochTime) {
		t.Errorf("time.Time applied_at = %v, want the epoch", a.Applied)
	}
	if !b.MergedAt.T().IsZero() || !b.SentAt.T().IsZero() {
		t.Errorf("epoch store.Time = %v, %v, want zero", b.MergedAt.T(), b.SentAt.T())
	}
	if b.Waiver != "" || b.IsDefault || b.Labels == nil || len(b.Labels) != 0 || b.Numbers == nil {
		t.Errorf("row 2 = %+v", b)
	}
}

func TestQueryIntoPointersAndNoRows(t *testing.T) {
	c := &fakeConn{}
	c.result = func(q string) (*proto.Block, error) {
		if strings.Contains(q, "empty") {
			return resultBlock(t, []string{"n UInt64"}), nil
		}
		return resultBlock(t, []string{"n UInt64"}, []any{uint64(3)}), nil
	}
	db := newTestDB(c)
	var ptrs []*struct {
		N int `json:"n"`
	}
	if err := db.Query(context.Background(), "SELECT count() AS n", nil, &ptrs); err != nil {
		t.Fatal(err)
	}
	if len(ptrs) != 1 || ptrs[0].N != 3 {
		t.Fatalf("ptrs = %+v", ptrs)
	}
	if c.queries[0].params != nil {
		t.Errorf("no parameters given, got %v", c.queries[0].params)
	}
	var none []struct {
		N int `json:"n"`
	}
	if err := db.Query(context.Background(), "SELECT empty", nil, &none); err != nil || len(none) != 0 {
		t.Fatalf("empty result: %v, %v", none, err)
	}
}

func TestQueryErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("Code: 60. DB::Exception: Unknown table")
	c := &fakeConn{}
	c.result = func(q string) (*proto.Block, error) {
		switch q {
		case "fail":
			return nil, boom
		case "overflow":
			return resultBlock(t, []string{"n Int64"}, []any{int64(-1)}), nil
		}
		return resultBlock(t, []string{"n String"}, []any{"x"}), nil
	}
	db := newTestDB(c)
	var rows []struct {
		N uint32 `json:"n"`
	}
	if err := db.Query(ctx, "fail", nil, &rows); !errors.Is(err, boom) {
		t.Errorf("engine error: %v", err)
	}
	if err := db.Query(ctx, "string into number", nil, &rows); err == nil || !strings.Contains(err.Error(), "column n") {
		t.Errorf("type mismatch: err = %v, want one naming column n", err)
	}
	if err := db.Query(ctx, "overflow", nil, &rows); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("overflow: err = %v", err)
	}
	if err := db.Query(ctx, "x", nil, rows); err == nil || !strings.Contains(err.Error(), "pointer to a slice") {
		t.Errorf("non-pointer destination: err = %v", err)
	}
	var ints []int
	if err := db.Query(ctx, "x", nil, &ints); err == nil || !strings.Contains(err.Error(), "structs") {
		t.Errorf("slice of ints: err = %v", err)
	}
	db.Close()
	if err := db.Query(ctx, "x", nil, &rows); !errors.Is(err, store.ErrClosed) {
		t.Errorf("after Close: err = %v", err)
	}
}

func TestRowTypeFollowsJSONNaming(t *testing.T) {
	type inner struct {
		A string `json:"a"`
		B string `json:"b"`
	}
	type row struct {
		inner
		B string `json:"b"` // hides inner.B
		C string // no tag: the field's name
		D string `json:"-"`
		e string
	}
	rt, err := rowTypeOf(reflect.TypeFor[row]())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range rt.fields {
		names = append(names, f.name)
	}
	if got := strings.Join(names, ","); got != "a,b,C" {
		t.Fatalf("columns = %s, want a,b,C", got)
	}
	if f, ok := rt.lookup("c"); !ok || f.name != "C" {
		t.Errorf("case-insensitive lookup of c: %v %v", f, ok)
	}
	if f, _ := rt.lookup("b"); len(f.index) != 1 {
		t.Errorf("b resolved to the embedded field %v", f.index)
	}
}
