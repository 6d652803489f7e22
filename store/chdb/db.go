// Package chdb runs the store on the embedded ClickHouse engine: libchdb.so,
// opened at run time so that a binary built without it still serves a
// ClickHouse server. The engine holds one data path per process; DB values
// are connections into it, each with its own current database.
package chdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"

	"github.com/changeproof/changeproof/store"
)

var (
	procMu   sync.Mutex
	procLib  string
	procPath string
	// fileInserts says whether the engine reads inserts from memory files
	// (memfile.go); probed once per process.
	fileInserts, fileInsertsProbed bool
)

// ErrNotExact is returned by Insert for rows holding bytes that are not
// UTF-8 where the engine cannot read memory files (not Linux): the only
// other way in, JSON, would replace those bytes.
var ErrNotExact = errors.New("rows hold bytes that are not UTF-8 and memory-file inserts are unavailable: refusing to store them altered")

// Options say where the engine lives.
type Options struct {
	// Library is the path of libchdb.so; empty = FindLibrary().
	Library string
	// DataDir is the engine's storage directory (--data-dir); created if missing.
	DataDir string
	// Database is created if missing and made current (clickhouse.database).
	Database string
	// Conns is the number of engine connections; queries beyond it wait.
	// Zero means 4.
	Conns int
	// BackgroundNice, 1 to 19, is the nice value of the engine's work for
	// calls made with a Background context and of the engine's own
	// threads (priority.go): a process that receives webhooks sets it so
	// the kernel gives the receivers the CPU first. 0 leaves every thread
	// at the process's priority. The first DB opened with it decides for
	// the process; where raising the nice value fails, Open carries on
	// without it.
	BackgroundNice int
}

// DB is a pool of connections into the process's engine, all using one
// database. Safe for concurrent use.
type DB struct {
	database string
	pool     chan *engine
	all      []*engine
	closeMu  sync.Mutex
	closed   bool
	// busy counts the connections taken from the pool (or waited for)
	// and not yet returned: Close waits for them.
	busy  sync.WaitGroup
	files memFiles
}

var _ store.DB = (*DB)(nil)

// Open starts the engine on opts.DataDir (first call in the process) or
// connects to it (later calls with the same DataDir). A different DataDir in
// the same process is an error: the engine cannot hold two.
func Open(opts Options) (*DB, error) {
	if opts.Database == "" {
		opts.Database = "changeproof"
	}
	if opts.Conns <= 0 {
		opts.Conns = 4
	}
	abs, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", opts.DataDir, err)
	}
	// Only this user reads the evidence store.
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	procMu.Lock()
	defer procMu.Unlock()
	if procPath != "" && procPath != abs {
		return nil, fmt.Errorf("embedded engine already runs on %s; one data dir per process (asked for %s)", procPath, abs)
	}
	if dirLock == nil {
		if err := lockDataDir(abs); err != nil {
			return nil, err
		}
	}
	if procLib == "" {
		lib := opts.Library
		if lib == "" {
			if lib, err = FindLibrary(); err != nil {
				return nil, err
			}
		}
		if err := loadLibrary(lib); err != nil {
			return nil, fmt.Errorf("%w; run `make setup` to fetch a working copy, or set CHANGEPROOF_CHDB_LIB", err)
		}
		procLib = lib
	}
	db := &DB{database: opts.Database, pool: make(chan *engine, opts.Conns)}
	for i := 0; i < opts.Conns; i++ {
		e, err := connect([]string{"changeproof", "--path=" + abs})
		if err != nil {
			db.Close()
			return nil, err
		}
		db.all = append(db.all, e)
		if i == 0 {
			if _, _, err := e.query([]byte("CREATE DATABASE IF NOT EXISTS "+quoteIdent(opts.Database)), "TabSeparated"); err != nil {
				db.Close()
				return nil, fmt.Errorf("create database %s: %w", opts.Database, err)
			}
		}
		// Sessions carry these, so every statement reads and writes times the
		// way Go's encoding/json does (RFC 3339, UTC) and integers as numbers.
		for _, s := range []string{
			"USE " + quoteIdent(opts.Database),
			"SET date_time_output_format='iso', date_time_input_format='best_effort', output_format_json_quote_64bit_integers=0, input_format_skip_unknown_fields=0",
		} {
			if _, _, err := e.query([]byte(s), "TabSeparated"); err != nil {
				db.Close()
				return nil, fmt.Errorf("prepare session (%s): %w", s, err)
			}
		}
		db.pool <- e
	}
	if !fileInsertsProbed {
		fileInserts, fileInsertsProbed = probeFileInserts(db.all[0]), true
	}
	procPath = abs
	if opts.BackgroundNice > 0 {
		startLane(min(opts.BackgroundNice, 19))
	}
	return db, nil
}

func quoteIdent(s string) string {
	return "`" + string(bytes.ReplaceAll([]byte(s), []byte("`"), []byte("\\`"))) + "`"
}

// get takes a connection from the pool, waiting for one; every get that
// succeeds is followed by put. After Close it returns store.ErrClosed.
func (db *DB) get(ctx context.Context) (*engine, error) {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil, store.ErrClosed
	}
	db.busy.Add(1)
	db.closeMu.Unlock()
	select {
	case e := <-db.pool:
		return e, nil
	case <-ctx.Done():
		db.busy.Done()
		return nil, ctx.Err()
	}
}

func (db *DB) put(e *engine) {
	db.pool <- e
	db.busy.Done()
}

// Exec implements store.DB.
func (db *DB) Exec(ctx context.Context, query string, params store.Params) error {
	_, err := db.run(ctx, query, params, "TabSeparated")
	return err
}

func (db *DB) run(ctx context.Context, query string, params store.Params, format string) ([]byte, error) {
	e, err := db.get(ctx)
	if err != nil {
		return nil, err
	}
	defer db.put(e)
	var out []byte
	if len(params) == 0 {
		call(ctx, func() { out, _, err = e.query([]byte(query), format) })
		return out, err
	}
	params = store.LiteralParams(query, params)
	names, values := sortedParams(params)
	call(ctx, func() { out, err = e.queryParams(query, format, names, values) })
	return out, err
}

// Insert implements store.DB: one INSERT statement. Rows of plain structs
// (strings, numbers, bools, times, string lists) amounting to
// fileInsertMin or more go as RowBinary through a memory file (see
// memfile.go); others as inline JSONEachRow.
func (db *DB) Insert(ctx context.Context, table string, rows any) error {
	ins, err := db.EncodeInsert(ctx, table, rows)
	if err != nil || ins == nil {
		return err
	}
	defer ins.release()
	return db.ExecInsert(ctx, ins)
}

// EncodedInsert is an insert rendered by EncodeInsert, ready to run.
type EncodedInsert struct {
	table string
	rows  int
	sql   []byte // inline statement; or, with data, the statement up to the file's path
	tail  string // after the path
	data  []byte // RowBinary for the memory file; nil: inline
}

// Rows is the number of rows the insert holds.
func (ins *EncodedInsert) Rows() int { return ins.rows }

// ThroughFile says whether the rows go through a memory file as RowBinary.
func (ins *EncodedInsert) ThroughFile() bool { return ins.data != nil }

// Table is the table it inserts into.
func (ins *EncodedInsert) Table() string { return ins.table }

// insertBuffers keeps RowBinary buffers between inserts: a pipeline batch
// is megabytes, and a fresh allocation of that size costs page faults and
// zeroing every time.
var insertBuffers sync.Pool // *[]byte

func insertBuffer(n int) []byte {
	if p, _ := insertBuffers.Get().(*[]byte); p != nil && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

func putInsertBuffer(b []byte) {
	if cap(b) > 0 && cap(b) <= 64<<20 {
		b = b[:0]
		insertBuffers.Put(&b)
	}
}

// release returns the insert's buffer for reuse; the insert must not be
// run again.
func (ins *EncodedInsert) release() {
	putInsertBuffer(ins.data)
	ins.data = nil
}

// EncodeInsert renders Insert's statement for rows without running it (nil
// for no rows). With ExecInsert it splits an insert into its Go-side and
// engine-side costs.
func (db *DB) EncodeInsert(ctx context.Context, table string, rows any) (*EncodedInsert, error) {
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("insert into %s: rows must be a slice, got %T", table, rows)
	}
	if v.Len() == 0 {
		return nil, nil
	}
	if err := checkTimes(table, v); err != nil {
		return nil, err
	}
	if fileInserts {
		if p := planOf(v.Type().Elem()); p != nil {
			data, ok := p.encode(insertBuffer(p.size(v)), v)
			// Rows holding bytes that are not UTF-8 go as RowBinary
			// whatever their size: JSON would replace those bytes, and a
			// raw event must be stored exactly as it arrived.
			if ok && (len(data) >= fileInsertMin || p.hasInvalidUTF8(v)) {
				sql := "INSERT INTO " + quoteIdent(table) + " " + p.columns + " SELECT * FROM file('"
				return &EncodedInsert{table: table, rows: v.Len(), sql: []byte(sql),
					tail: "', 'RowBinary', '" + p.structure + "')", data: data}, nil
			}
			putInsertBuffer(data)
		}
	}
	if p := planOf(v.Type().Elem()); p != nil && p.hasInvalidUTF8(v) {
		return nil, fmt.Errorf("insert into %s: %w", table, ErrNotExact)
	}
	var buf bytes.Buffer
	buf.Grow(64 + v.Len()*256)
	buf.WriteString("INSERT INTO ")
	buf.WriteString(quoteIdent(table))
	buf.WriteString(" FORMAT JSONEachRow\n")
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := 0; i < v.Len(); i++ {
		if err := enc.Encode(v.Index(i).Interface()); err != nil {
			return nil, fmt.Errorf("insert into %s: encode row %d: %w", table, i, err)
		}
	}
	return &EncodedInsert{table: table, rows: v.Len(), sql: buf.Bytes()}, nil
}

// ExecInsert runs an insert EncodeInsert rendered.
func (db *DB) ExecInsert(ctx context.Context, ins *EncodedInsert) error {
	e, err := db.get(ctx)
	if err != nil {
		return err
	}
	defer db.put(e)
	sql := ins.sql
	if ins.data != nil {
		f, err := db.files.get()
		if err != nil {
			return fmt.Errorf("insert into %s (%d rows): %w", ins.table, ins.rows, err)
		}
		defer db.files.put(f)
		if err := f.set(ins.data); err != nil {
			return fmt.Errorf("insert into %s (%d rows): %w", ins.table, ins.rows, err)
		}
		sql = append(append(append(make([]byte, 0, len(ins.sql)+len(f.path)+len(ins.tail)), ins.sql...), f.path...), ins.tail...)
	}
	call(ctx, func() { _, _, err = e.query(sql, "TabSeparated") })
	if err != nil {
		return fmt.Errorf("insert into %s (%d rows): %w", ins.table, ins.rows, err)
	}
	return nil
}

// Query implements store.DB.
func (db *DB) Query(ctx context.Context, query string, params store.Params, dest any) error {
	out, err := db.run(ctx, query, params, "JSONEachRow")
	if err != nil {
		return err
	}
	return decodeRows(out, dest)
}

func decodeRows(out []byte, dest any) error {
	dv := reflect.ValueOf(dest)
	if dv.Kind() != reflect.Pointer || dv.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("query destination must be a pointer to a slice, got %T", dest)
	}
	sl := dv.Elem()
	et := sl.Type().Elem()
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		el := reflect.New(et)
		if err := dec.Decode(el.Interface()); err != nil {
			return fmt.Errorf("decode row %d: %w", sl.Len(), err)
		}
		sl = reflect.Append(sl, el.Elem())
	}
	dv.Elem().Set(sl)
	return nil
}

// Close implements store.DB. It refuses new statements (store.ErrClosed),
// waits for those under way to end, and closes the connections: closing
// a connection beneath a running statement crashes the engine (a
// background evaluation still querying while a command exits did). The
// engine itself stays up for the process: it cannot be restarted on
// another path anyway. Safe to call more than once and concurrently.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	db.closeMu.Unlock()
	db.busy.Wait()
	for _, e := range db.all {
		e.close()
	}
	db.files.closeAll()
	return nil
}

// probeFileInserts checks that the engine reads a memory file through
// /proc/self/fd (Linux with memfd and procfs); elsewhere every insert
// stays inline.
func probeFileInserts(e *engine) bool {
	f, err := newMemFile()
	if err != nil {
		return false
	}
	defer f.close()
	if f.set([]byte{42}) != nil {
		return false
	}
	out, _, err := e.query([]byte("SELECT sum(x) FROM file('"+f.path+"', 'RowBinary', 'x UInt8')"), "TabSeparated")
	return err == nil && string(bytes.TrimSpace(out)) == "42"
}

// sortedParams lists params' names in order and their values alongside,
// as libchdb's parameterised query calls take them.
func sortedParams(params store.Params) (names, values []string) {
	names = make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	values = make([]string, len(names))
	for i, k := range names {
		values[i] = params[k]
	}
	return names, values
}
