package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	chproto "github.com/ClickHouse/ch-go/proto"
	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/changeproof/changeproof/store"
)

// The fakes stand in for a server with clickhouse-go's own column types:
// a batch appends into a real proto.Block (so values go through the
// driver's AppendRow conversions), and result rows scan out of one (through
// ScanRow), as the driver's batch and rows do.

// call is one statement the fake received, with what its context carried.
type call struct {
	query    string
	params   store.Params
	settings ch.Settings
}

type optsKey struct{}

type attached struct {
	params   store.Params
	settings ch.Settings
}

// newTestDB is a DB over c whose statements' parameters and settings the
// fake can see: clickhouse-go keeps them in the context unexported.
func newTestDB(c *fakeConn) *DB {
	db := newDB(c, "db", "")
	db.queryContext = func(ctx context.Context, p store.Params, s ch.Settings) context.Context {
		return context.WithValue(withQuery(ctx, p, s), optsKey{}, attached{p, s})
	}
	return db
}

func callOf(ctx context.Context, query string) call {
	a, _ := ctx.Value(optsKey{}).(attached)
	return call{query, a.params, a.settings}
}

type fakeConn struct {
	mu       sync.Mutex
	tables   map[string][]columnDef // table -> columns, for batches
	execs    []call
	queries  []call
	batches  []*fakeBatch
	result   func(query string) (*proto.Block, error)
	execErr  error
	pingErr  error
	pings    int
	closed   bool
	database string // the database the fake was dialled with
}

type columnDef struct{ name, typ string }

func (c *fakeConn) Exec(ctx context.Context, query string, args ...any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(args) > 0 {
		return errors.New("fake: DB must not bind arguments client-side")
	}
	c.execs = append(c.execs, callOf(ctx, query))
	return c.execErr
}

func (c *fakeConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(args) > 0 {
		return nil, errors.New("fake: DB must not bind arguments client-side")
	}
	c.queries = append(c.queries, callOf(ctx, query))
	if c.result == nil {
		return &fakeRows{block: proto.NewBlock()}, nil
	}
	b, err := c.result(query)
	if err != nil {
		return nil, err
	}
	return &fakeRows{block: b}, nil
}

var insertRe = regexp.MustCompile("^INSERT INTO `([^`]+)` \\((.*)\\)$")

func (c *fakeConn) PrepareBatch(ctx context.Context, query string, _ ...driver.PrepareBatchOption) (driver.Batch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := insertRe.FindStringSubmatch(query)
	if m == nil {
		return nil, fmt.Errorf("fake: unexpected insert %q", query)
	}
	defs, ok := c.tables[m[1]]
	if !ok {
		return nil, fmt.Errorf("fake: no table %s", m[1])
	}
	block := proto.NewBlock()
	for _, q := range strings.Split(m[2], ", ") {
		name := strings.Trim(q, "`")
		var typ string
		for _, d := range defs {
			if d.name == name {
				typ = d.typ
			}
		}
		if typ == "" {
			return nil, fmt.Errorf("fake: no column %s in %s", name, m[1])
		}
		if err := block.AddColumn(name, column.Type(typ)); err != nil {
			return nil, fmt.Errorf("fake: column %s %s: %w", name, typ, err)
		}
	}
	b := &fakeBatch{call: callOf(ctx, query), table: m[1], block: block}
	c.batches = append(c.batches, b)
	return b, nil
}

func (c *fakeConn) Ping(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pings++
	return c.pingErr
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// fakeBatch buffers rows in a real block. Methods DB does not use are the
// embedded nil interface's (they panic).
type fakeBatch struct {
	driver.Batch
	call    call
	table   string
	block   *proto.Block
	sent    bool
	aborted bool

	sentBlock *proto.Block // block, encoded and decoded
}

func (b *fakeBatch) Append(v ...any) error {
	if b.sent || b.aborted {
		return errors.New("fake: batch already finished")
	}
	return b.block.Append(v...)
}

func (b *fakeBatch) Columns() []column.Interface { return b.block.Columns }

func (b *fakeBatch) Send() error {
	if b.sent || b.aborted {
		return errors.New("fake: batch already finished")
	}
	b.sent = true
	return nil
}

func (b *fakeBatch) Abort() error { b.aborted = true; return nil }

func (b *fakeBatch) Close() error { return nil }

func (b *fakeBatch) IsSent() bool { return b.sent || b.aborted }

func (b *fakeBatch) Rows() int { return b.block.Rows() }

// value reads back row i of column name as the server would receive it:
// the block encoded as Send does, decoded, and scanned into the column's
// scan type.
func (b *fakeBatch) value(t *testing.T, name string, row int) any {
	t.Helper()
	if b.sentBlock == nil {
		b.sentBlock = roundTrip(t, b.block)
	}
	for _, c := range b.sentBlock.Columns {
		if c.Name() == name {
			p := reflect.New(c.ScanType())
			if err := c.ScanRow(p.Interface(), row); err != nil {
				t.Fatalf("scan %s row %d: %v", name, row, err)
			}
			return p.Elem().Interface()
		}
	}
	t.Fatalf("batch has no column %s", name)
	return nil
}

// fakeRows reads a block the way the driver's rows do.
type fakeRows struct {
	block  *proto.Block
	row    int
	err    error
	closed bool
}

func (r *fakeRows) Next() bool {
	if r.row >= r.block.Rows() {
		return false
	}
	r.row++
	return true
}

func (r *fakeRows) Scan(dest ...any) error {
	if len(dest) != len(r.block.Columns) {
		return fmt.Errorf("expected %d destination arguments in Scan, not %d", len(r.block.Columns), len(dest))
	}
	for i, d := range dest {
		if err := r.block.Columns[i].ScanRow(d, r.row-1); err != nil {
			return err
		}
	}
	return nil
}

func (r *fakeRows) ScanStruct(any) error { return errors.New("fake: ScanStruct unused") }
func (r *fakeRows) Totals(...any) error  { return errors.New("fake: Totals unused") }
func (r *fakeRows) Columns() []string    { return r.block.ColumnsNames() }
func (r *fakeRows) Close() error         { r.closed = true; return nil }
func (r *fakeRows) Err() error           { return r.err }
func (r *fakeRows) HasData() bool        { return r.block.Rows() > 0 }
func (r *fakeRows) ColumnTypes() []driver.ColumnType {
	out := make([]driver.ColumnType, len(r.block.Columns))
	for i, c := range r.block.Columns {
		out[i] = fakeColumnType{c}
	}
	return out
}

type fakeColumnType struct{ c column.Interface }

func (t fakeColumnType) Name() string             { return t.c.Name() }
func (t fakeColumnType) Nullable() bool           { _, ok := t.c.(*column.Nullable); return ok }
func (t fakeColumnType) ScanType() reflect.Type   { return t.c.ScanType() }
func (t fakeColumnType) DatabaseTypeName() string { return string(t.c.Type()) }

// resultBlock builds a result: columns as "name Type" pairs, then rows.
func resultBlock(t *testing.T, columns []string, rows ...[]any) *proto.Block {
	t.Helper()
	b := proto.NewBlock()
	for _, c := range columns {
		name, typ, _ := strings.Cut(c, " ")
		if err := b.AddColumn(name, column.Type(typ)); err != nil {
			t.Fatalf("column %s: %v", c, err)
		}
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			t.Fatalf("row %v: %v", r, err)
		}
	}
	return roundTrip(t, b)
}

// roundTrip encodes a block for the wire and decodes it, as a block
// travels between driver and server.
func roundTrip(t *testing.T, b *proto.Block) *proto.Block {
	t.Helper()
	var buf chproto.Buffer
	if err := b.Encode(&buf, 0); err != nil {
		t.Fatalf("encode block: %v", err)
	}
	out := proto.NewBlock()
	if err := out.Decode(chproto.NewReader(bytes.NewReader(buf.Buf)), 0); err != nil {
		t.Fatalf("decode block: %v", err)
	}
	return out
}

var (
	createRe = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+) \((.*)\) ENGINE`)
	alterRe  = regexp.MustCompile(`^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) (.+?)(?: DEFAULT .*)?$`)
)

// migrationTables returns the store's tables and their column types, as
// the migrations (and Migrate itself) create them.
func migrationTables(t *testing.T) map[string][]columnDef {
	t.Helper()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][]columnDef{
		"schema_migrations": {{"version", "UInt32"}, {"name", "String"}, {"applied_at", "DateTime64(3, 'UTC')"}},
	}
	for _, m := range ms {
		for _, s := range m.Statements {
			if c := createRe.FindStringSubmatch(s); c != nil {
				for _, line := range strings.Split(c[2], "\n") {
					line = strings.TrimSuffix(strings.TrimSpace(line), ",")
					if line == "" {
						continue
					}
					name, typ, _ := strings.Cut(line, " ")
					typ = strings.TrimSpace(typ)
					if i := strings.Index(typ, " CODEC("); i >= 0 {
						typ = typ[:i]
					}
					tables[c[1]] = append(tables[c[1]], columnDef{name, typ})
				}
			}
			if a := alterRe.FindStringSubmatch(s); a != nil {
				tables[a[1]] = append(tables[a[1]], columnDef{a[2], a[3]})
			}
		}
	}
	return tables
}
