package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/changeproof/changeproof/store"
)

// conn is the part of clickhouse-go's driver.Conn that DB uses, so that
// tests can stand in for a server.
type conn interface {
	Exec(ctx context.Context, query string, args ...any) error
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
	PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error)
	Ping(ctx context.Context) error
	Close() error
}

var _ conn = driver.Conn(nil)

// dial opens a connection pool; a variable for tests.
var dial = func(o *ch.Options) (conn, error) { return ch.Open(o) }

// withQuery attaches server-side parameters and settings to a statement's
// context, the way clickhouse-go reads them.
func withQuery(ctx context.Context, params store.Params, settings ch.Settings) context.Context {
	var opts []ch.QueryOption
	if len(params) > 0 {
		p := make(ch.Parameters, len(params))
		for k, v := range params {
			p[k] = v
		}
		opts = append(opts, ch.WithParameters(p))
	}
	if len(settings) > 0 {
		opts = append(opts, ch.WithSettings(settings))
	}
	if len(opts) == 0 {
		return ctx
	}
	return ch.Context(ctx, opts...)
}

// DB is a pool of connections to a server, all using one database. Safe
// for concurrent use. It implements store.DB.
type DB struct {
	conn     conn
	database string
	cluster  string
	closed   atomic.Bool

	// queryContext is withQuery; tests observe what is attached.
	queryContext func(context.Context, store.Params, ch.Settings) context.Context
}

var _ store.DB = (*DB)(nil)

// Open connects to the server, creates the database if missing (ON CLUSTER
// in cluster mode) and checks that it answers.
func Open(ctx context.Context, o Options) (*DB, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	database := o.database()

	// The database may not exist yet, and a connection to a missing
	// database fails: create it over a connection to the default one.
	boot, err := dial(o.driverOptions(""))
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse %s: %w", o.Addr, err)
	}
	create := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(database)
	if o.Cluster != "" {
		create += " ON CLUSTER " + quoteIdent(o.Cluster)
	}
	err = boot.Ping(ctx)
	if err == nil {
		if err = boot.Exec(ctx, create); err != nil {
			err = fmt.Errorf("create database %s: %w", database, err)
		}
	} else {
		err = fmt.Errorf("connect to clickhouse %s: %w", o.Addr, err)
	}
	boot.Close()
	if err != nil {
		return nil, err
	}

	c, err := dial(o.driverOptions(database))
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse %s: %w", o.Addr, err)
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to clickhouse %s database %s: %w", o.Addr, database, err)
	}
	return newDB(c, database, o.Cluster), nil
}

func newDB(c conn, database, cluster string) *DB {
	return &DB{conn: c, database: database, cluster: cluster, queryContext: withQuery}
}

// Database is the database the tables live in.
func (db *DB) Database() string { return db.database }

// Cluster is the cluster the tables are replicated across; "" for one
// server.
func (db *DB) Cluster() string { return db.cluster }

// Ping checks that the server answers (for readiness).
func (db *DB) Ping(ctx context.Context) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	return db.conn.Ping(ctx)
}

// Exec implements store.DB.
func (db *DB) Exec(ctx context.Context, query string, params store.Params) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	return db.conn.Exec(db.queryContext(ctx, store.LiteralParams(query, params), nil), query)
}

// Close implements store.DB.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	return db.conn.Close()
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
