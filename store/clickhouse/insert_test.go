package clickhouse

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/store"
)

// prRow mirrors store's pull_requests row (store/rows.go).
type prRow struct {
	Repo           string     `json:"repo"`
	Number         int        `json:"number"`
	DeliveryID     string     `json:"delivery_id"`
	Action         string     `json:"action"`
	State          string     `json:"state"`
	Merged         bool       `json:"merged"`
	MergedAt       store.Time `json:"merged_at"`
	MergeCommitSHA string     `json:"merge_commit_sha"`
	HeadSHA        string     `json:"head_sha"`
	HeadRef        string     `json:"head_ref"`
	BaseRef        string     `json:"base_ref"`
	DefaultBranch  string     `json:"default_branch"`
	Author         string     `json:"author"`
	MergedBy       string     `json:"merged_by"`
	Title          string     `json:"title"`
	Body           string     `json:"body"`
	URL            string     `json:"url"`
	Labels         []string   `json:"labels"`
	UpdatedAt      store.Time `json:"updated_at"`
	ReceivedAt     store.Time `json:"received_at"`
}

// rawRow mirrors store's raw_deliveries row, with the 005 columns.
type rawRow struct {
	Source     string     `json:"source"`
	Event      string     `json:"event"`
	DeliveryID string     `json:"delivery_id"`
	ReceivedAt store.Time `json:"received_at"`
	SHA256     string     `json:"sha256"`
	Body       string     `json:"body"`
	Seq        uint64     `json:"seq"`
	PrevHash   string     `json:"prev_hash"`
	Hash       string     `json:"hash"`
}

var (
	t0        = time.Date(2026, 3, 1, 10, 0, 0, 123_000_000, time.UTC)
	epochTime = time.Unix(0, 0).UTC()
)

func newInsertFake(t *testing.T) (*fakeConn, *DB) {
	c := &fakeConn{tables: migrationTables(t)}
	return c, newTestDB(c)
}

func TestInsertMapsColumnsInStructOrder(t *testing.T) {
	c, db := newInsertFake(t)
	berlin := time.FixedZone("CET", 3600)
	rows := []prRow{
		{Repo: "acme/api", Number: 7, DeliveryID: "d1", Action: "closed", State: "closed", Merged: true,
			MergedAt: store.Time(t0.In(berlin)), MergeCommitSHA: "abc", Labels: []string{"hotfix", "db"},
			UpdatedAt: store.Time(t0), ReceivedAt: store.Time(t0)},
		{Repo: "acme/web", Number: 1, DeliveryID: "d2", Action: "opened", State: "open"}, // zero times, nil labels
	}
	if err := db.Insert(context.Background(), "pull_requests", rows); err != nil {
		t.Fatal(err)
	}
	if len(c.batches) != 1 {
		t.Fatalf("%d batches, want 1", len(c.batches))
	}
	b := c.batches[0]
	want := "INSERT INTO `pull_requests` (`repo`, `number`, `delivery_id`, `action`, `state`, `merged`, `merged_at`, " +
		"`merge_commit_sha`, `head_sha`, `head_ref`, `base_ref`, `default_branch`, `author`, `merged_by`, `title`, " +
		"`body`, `url`, `labels`, `updated_at`, `received_at`)"
	if b.call.query != want {
		t.Fatalf("insert query\n got: %s\nwant: %s", b.call.query, want)
	}
	if !b.sent || b.Rows() != 2 {
		t.Fatalf("sent = %v, rows = %d", b.sent, b.Rows())
	}
	checks := []struct {
		col  string
		row  int
		want any
	}{
		{"repo", 0, "acme/api"},
		{"number", 0, uint32(7)},
		{"merged", 0, true},
		{"merged", 1, false},
		{"merged_at", 0, t0},
		{"merged_at", 1, epochTime},
		{"updated_at", 1, epochTime},
		{"labels", 0, []string{"hotfix", "db"}},
		{"labels", 1, []string{}},
		{"delivery_id", 1, "d2"},
	}
	for _, ck := range checks {
		got := b.value(t, ck.col, ck.row)
		switch w := ck.want.(type) {
		case time.Time:
			if g, ok := got.(time.Time); !ok || !g.Equal(w) {
				t.Errorf("%s row %d = %v, want %v", ck.col, ck.row, got, w)
			}
		case []string:
			if g, ok := got.([]string); !ok || strings.Join(g, ",") != strings.Join(w, ",") || len(g) != len(w) {
				t.Errorf("%s row %d = %#v, want %#v", ck.col, ck.row, got, w)
			}
		default:
			if got != ck.want {
				t.Errorf("%s row %d = %#v, want %#v", ck.col, ck.row, got, ck.want)
			}
		}
	}
	if len(b.call.params) != 0 {
		t.Errorf("insert carried parameters %v", b.call.params)
	}
}

var tokenRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func insertToken(t *testing.T, table string, rows any) string {
	t.Helper()
	c, db := newInsertFake(t)
	if err := db.Insert(context.Background(), table, rows); err != nil {
		t.Fatal(err)
	}
	tok, _ := c.batches[0].call.settings["insert_deduplication_token"].(string)
	if !tokenRe.MatchString(tok) {
		t.Fatalf("insert_deduplication_token = %q", tok)
	}
	return tok
}

func TestInsertDeduplicationToken(t *testing.T) {
	base := []rawRow{{Source: "github", Event: "push", DeliveryID: "d1", ReceivedAt: store.Time(t0), SHA256: "s", Body: "{}", Seq: 1, PrevHash: "", Hash: "h1"}}
	tok := insertToken(t, "raw_deliveries", base)
	if again := insertToken(t, "raw_deliveries", []rawRow{base[0]}); again != tok {
		t.Fatalf("a retried identical batch got another token: %s vs %s", again, tok)
	}
	variants := map[string][]rawRow{}
	v := base[0]
	v.Body = "{ }"
	variants["other body"] = []rawRow{v}
	v = base[0]
	v.ReceivedAt = store.Time(t0.Add(time.Millisecond))
	variants["other time"] = []rawRow{v}
	v = base[0]
	v.Seq = 2
	variants["other seq"] = []rawRow{v}
	v = base[0]
	v.Source, v.Event = "githu", "bpush" // same concatenation
	variants["shifted string"] = []rawRow{v}
	variants["two rows"] = []rawRow{base[0], base[0]}
	for name, rows := range variants {
		if got := insertToken(t, "raw_deliveries", rows); got == tok {
			t.Errorf("%s: same token as the base batch", name)
		}
	}
	type other struct {
		Source string `json:"source"`
	}
	c := &fakeConn{tables: map[string][]columnDef{"a": {{"source", "String"}}, "b": {{"source", "String"}}}}
	db := newTestDB(c)
	for _, table := range []string{"a", "b"} {
		if err := db.Insert(context.Background(), table, []other{{"x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if c.batches[0].call.settings["insert_deduplication_token"] == c.batches[1].call.settings["insert_deduplication_token"] {
		t.Error("the same rows in two tables share a token")
	}
}

func TestInsertEmptyIsNoop(t *testing.T) {
	c, db := newInsertFake(t)
	if err := db.Insert(context.Background(), "pull_requests", []prRow{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(context.Background(), "pull_requests", []prRow(nil)); err != nil {
		t.Fatal(err)
	}
	if len(c.batches) != 0 {
		t.Fatalf("empty insert prepared %d batches", len(c.batches))
	}
}

func TestInsertRefusesValuesTheColumnCannotHold(t *testing.T) {
	c, db := newInsertFake(t)
	err := db.Insert(context.Background(), "pull_requests", []prRow{{Repo: "acme/api", Number: -1}})
	if err == nil || !strings.Contains(err.Error(), "number") || !strings.Contains(err.Error(), "UInt32") {
		t.Fatalf("err = %v, want an overflow of column number (UInt32)", err)
	}
	if b := c.batches[0]; b.sent || !b.aborted {
		t.Fatalf("batch sent = %v, aborted = %v; want aborted", b.sent, b.aborted)
	}
}

type outcome string

type embedded struct {
	Rule    string  `json:"rule"`
	Outcome outcome `json:"outcome"`
}

type findingLike struct {
	embedded
	Subject     string     `json:"subject"`
	Ignored     string     `json:"-"`
	internal    string     // unexported: no column
	Tags        []outcome  `json:"tags"`
	EvaluatedAt time.Time  `json:"evaluated_at"`
	Waiver      *string    `json:"waiver"`
	Due         *time.Time `json:"due"`
}

func TestInsertFlattensEmbeddedAndConvertsDefinedTypes(t *testing.T) {
	c := &fakeConn{tables: map[string][]columnDef{"f": {
		{"rule", "LowCardinality(String)"}, {"outcome", "LowCardinality(String)"}, {"subject", "String"},
		{"tags", "Array(String)"}, {"evaluated_at", "DateTime64(6, 'UTC')"}, {"waiver", "Nullable(String)"},
		{"due", "Nullable(DateTime64(3, 'UTC'))"},
	}}}
	db := newTestDB(c)
	w := "cto"
	rows := []*findingLike{
		{embedded: embedded{"CM-2", "fail"}, Subject: "acme/api#7", Ignored: "x", internal: "y", Tags: []outcome{"a"}, Waiver: &w},
		{embedded: embedded{"CM-3", "pass"}, Subject: "acme/api#8", EvaluatedAt: t0, Due: &t0},
	}
	if err := db.Insert(context.Background(), "f", rows); err != nil {
		t.Fatal(err)
	}
	b := c.batches[0]
	if want := "INSERT INTO `f` (`rule`, `outcome`, `subject`, `tags`, `evaluated_at`, `waiver`, `due`)"; b.call.query != want {
		t.Fatalf("query = %s, want %s", b.call.query, want)
	}
	if got := b.value(t, "outcome", 0); got != "fail" {
		t.Errorf("outcome = %#v", got)
	}
	if got := b.value(t, "tags", 0).([]string); len(got) != 1 || got[0] != "a" {
		t.Errorf("tags = %#v", got)
	}
	if got := b.value(t, "evaluated_at", 0).(time.Time); !got.Equal(epochTime) {
		t.Errorf("zero time.Time stored as %v, want the epoch", got)
	}
	if got := b.value(t, "waiver", 0).(*string); got == nil || *got != "cto" {
		t.Errorf("waiver = %v", got)
	}
	if got := b.value(t, "waiver", 1).(*string); got != nil {
		t.Errorf("nil waiver = %v, want NULL", *got)
	}
	if got := b.value(t, "due", 1).(*time.Time); got == nil || !got.Equal(t0) {
		t.Errorf("due = %v", got)
	}
}

func TestInsertErrors(t *testing.T) {
	ctx := context.Background()
	c, db := newInsertFake(t)
	if err := db.Insert(ctx, "pull_requests", prRow{}); err == nil || !strings.Contains(err.Error(), "must be a slice") {
		t.Errorf("non-slice: err = %v", err)
	}
	if err := db.Insert(ctx, "pull_requests", []int{1}); err == nil || !strings.Contains(err.Error(), "structs") {
		t.Errorf("slice of ints: err = %v", err)
	}
	if err := db.Insert(ctx, "pull_requests", []*prRow{nil}); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("nil row: err = %v", err)
	}
	if err := db.Insert(ctx, "nope", []prRow{{}}); err == nil || !strings.Contains(err.Error(), "insert into nope") {
		t.Errorf("unknown table: err = %v", err)
	}
	if len(c.batches) != 0 {
		t.Errorf("%d batches prepared for bad input", len(c.batches))
	}
	db.Close()
	if err := db.Insert(ctx, "pull_requests", []prRow{{}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

func TestConvertNumber(t *testing.T) {
	tests := []struct {
		in   any
		to   any
		want any // nil: an error
	}{
		{7, uint32(0), uint32(7)},
		{-1, uint32(0), nil},
		{1 << 32, uint32(0), nil},
		{int64(-5), int8(0), int8(-5)},
		{300, int8(0), nil},
		{uint64(1 << 63), int64(0), nil},
		{uint64(1 << 62), int64(0), int64(1 << 62)},
		{uint32(9), uint64(0), uint64(9)},
		{uint16(300), uint8(0), nil},
		{3, float64(0), float64(3)},
		{uint8(3), float32(0), float32(3)},
		{2.0, int(0), int(2)},
		{2.5, int(0), nil},
		{-1.0, uint(0), nil},
		{1e300, int64(0), nil},
		{float32(1.5), float64(0), float64(1.5)},
	}
	for _, tt := range tests {
		got, err := convertNumber(reflect.ValueOf(tt.in), reflect.TypeOf(tt.to))
		switch {
		case tt.want == nil && err == nil:
			t.Errorf("%T(%v) -> %T = %v, want an error", tt.in, tt.in, tt.to, got)
		case tt.want != nil && (err != nil || got.Interface() != tt.want):
			t.Errorf("%T(%v) -> %T = %v, %v; want %v", tt.in, tt.in, tt.to, got, err, tt.want)
		}
	}
	if _, err := convertNumber(reflect.ValueOf("1"), reflect.TypeOf(0)); err == nil {
		t.Error("a string converted to a number")
	}
}
