package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/changeproof/changeproof/store"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string // substrings of the error; none = valid
	}{
		{"minimal", Options{Addr: "localhost:9000"}, nil},
		{"full", Options{Addr: "ch1:9440, ch2:9440", Database: "change-proof_1", User: "u", Password: "p",
			TLS: &tls.Config{}, Cluster: "prod_eu", DialTimeout: time.Second}, nil},
		{"no addr", Options{}, []string{"clickhouse addr: required"}},
		{"no port", Options{Addr: "localhost"}, []string{`clickhouse addr: "localhost" is not host:port`}},
		{"second addr bad", Options{Addr: "a:9000,b"}, []string{`"b" is not host:port`}},
		{"bad database", Options{Addr: "a:9000", Database: "x;drop"}, []string{`clickhouse database: "x;drop"`}},
		{"bad cluster", Options{Addr: "a:9000", Cluster: "my cluster"}, []string{`clickhouse cluster: "my cluster"`}},
		{"negative timeout", Options{Addr: "a:9000", DialTimeout: -time.Second}, []string{"clickhouse dial timeout: -1s is negative"}},
		{"several", Options{Database: "a.b", DialTimeout: -1}, []string{"clickhouse addr", "clickhouse database", "clickhouse dial timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestDriverOptions(t *testing.T) {
	cfg := &tls.Config{ServerName: "ch"}
	o := Options{Addr: "ch1:9440, ch2:9440", User: "u", Password: "p", TLS: cfg, DialTimeout: 3 * time.Second}
	d := o.driverOptions("changeproof")
	if d.Protocol != ch.Native || strings.Join(d.Addr, "|") != "ch1:9440|ch2:9440" || d.Auth.Database != "changeproof" ||
		d.Auth.Username != "u" || d.Auth.Password != "p" || d.TLS != cfg || d.DialTimeout != 3*time.Second {
		t.Fatalf("driver options = %+v", d)
	}
	if len(d.Settings) != 0 {
		t.Errorf("one server: settings %v, want none", d.Settings)
	}
	o.Cluster = "prod"
	d = o.driverOptions("changeproof")
	if d.Settings["insert_distributed_sync"] != 1 || d.Settings["load_balancing"] != "in_order" {
		t.Errorf("cluster settings = %v", d.Settings)
	}
	d.Settings["x"] = 1
	if _, ok := clusterSettings["x"]; ok {
		t.Error("driverOptions shares its settings map")
	}
}

// fakeDial replaces dial with fakes, returning the options each dial got
// and the conns it made.
func fakeDial(t *testing.T, setup func(i int, c *fakeConn)) (*[]*ch.Options, *[]*fakeConn) {
	var opts []*ch.Options
	var conns []*fakeConn
	old := dial
	dial = func(o *ch.Options) (conn, error) {
		c := &fakeConn{database: o.Auth.Database}
		if setup != nil {
			setup(len(conns), c)
		}
		opts, conns = append(opts, o), append(conns, c)
		return c, nil
	}
	t.Cleanup(func() { dial = old })
	return &opts, &conns
}

func TestOpenCreatesDatabase(t *testing.T) {
	for _, tt := range []struct {
		cluster, database, want string
	}{
		{"", "", "CREATE DATABASE IF NOT EXISTS `changeproof`"},
		{"prod", "evidence", "CREATE DATABASE IF NOT EXISTS `evidence` ON CLUSTER `prod`"},
	} {
		opts, conns := fakeDial(t, nil)
		db, err := Open(context.Background(), Options{Addr: "ch:9000", Database: tt.database, Cluster: tt.cluster})
		if err != nil {
			t.Fatal(err)
		}
		if len(*conns) != 2 {
			t.Fatalf("%d dials, want 2 (bootstrap, then the database)", len(*conns))
		}
		boot, main := (*conns)[0], (*conns)[1]
		if boot.database != "" || len(boot.execs) != 1 || boot.execs[0].query != tt.want || !boot.closed || boot.pings != 1 {
			t.Fatalf("bootstrap conn: database %q, execs %+v, closed %v", boot.database, boot.execs, boot.closed)
		}
		wantDB := tt.database
		if wantDB == "" {
			wantDB = DefaultDatabase
		}
		if main.database != wantDB || main.pings != 1 || main.closed {
			t.Fatalf("conn: database %q, pings %d, closed %v", main.database, main.pings, main.closed)
		}
		if (*opts)[1].Settings["insert_distributed_sync"] != nil != (tt.cluster != "") {
			t.Errorf("cluster %q: settings %v", tt.cluster, (*opts)[1].Settings)
		}
		if db.Database() != wantDB || db.Cluster() != tt.cluster {
			t.Errorf("Database() = %q, Cluster() = %q", db.Database(), db.Cluster())
		}
		if err := db.Close(); err != nil || !main.closed {
			t.Fatalf("Close: %v, closed %v", err, main.closed)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func TestOpenFailures(t *testing.T) {
	_, conns := fakeDial(t, nil)
	if _, err := Open(context.Background(), Options{}); err == nil || len(*conns) != 0 {
		t.Fatalf("invalid options: err = %v, %d dials", err, len(*conns))
	}

	refused := errors.New("connection refused")
	_, conns = fakeDial(t, func(i int, c *fakeConn) { c.pingErr = refused })
	if _, err := Open(context.Background(), Options{Addr: "ch:9000"}); !errors.Is(err, refused) || !strings.Contains(err.Error(), "ch:9000") {
		t.Fatalf("unreachable server: err = %v", err)
	}
	if len(*conns) != 1 || !(*conns)[0].closed {
		t.Fatalf("bootstrap conn not closed after failure")
	}

	denied := errors.New("Code: 497. Not enough privileges")
	_, conns = fakeDial(t, func(i int, c *fakeConn) { c.execErr = denied })
	if _, err := Open(context.Background(), Options{Addr: "ch:9000", Database: "x"}); !errors.Is(err, denied) || !strings.Contains(err.Error(), "create database x") {
		t.Fatalf("create database denied: err = %v", err)
	}

	_, conns = fakeDial(t, func(i int, c *fakeConn) {
		if i == 1 {
			c.pingErr = refused
		}
	})
	if _, err := Open(context.Background(), Options{Addr: "ch:9000"}); !errors.Is(err, refused) {
		t.Fatalf("database conn fails: err = %v", err)
	}
	if len(*conns) != 2 || !(*conns)[1].closed {
		t.Fatal("database conn not closed after failure")
	}
}

func TestExecPassesParameters(t *testing.T) {
	c := &fakeConn{}
	db := newTestDB(c)
	ctx := context.Background()
	q := "ALTER TABLE alerts DELETE WHERE id = {id:String}"
	if err := db.Exec(ctx, q, store.Params{"id": "CM-2|acme/api#7|fail"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "SELECT 1", nil); err != nil {
		t.Fatal(err)
	}
	if len(c.execs) != 2 || c.execs[0].query != q || c.execs[0].params["id"] != "CM-2|acme/api#7|fail" || len(c.execs[1].params) != 0 {
		t.Fatalf("execs = %+v", c.execs)
	}
	c.execErr = errors.New("boom")
	if err := db.Exec(ctx, "x", nil); !errors.Is(err, c.execErr) {
		t.Fatalf("err = %v", err)
	}
	db.Close()
	if err := db.Exec(ctx, "x", nil); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("after Close: err = %v", err)
	}
	if err := db.Ping(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Ping after Close: err = %v", err)
	}
}

func TestWithQueryLeavesPlainContextsAlone(t *testing.T) {
	ctx := context.Background()
	if withQuery(ctx, nil, nil) != ctx {
		t.Fatal("no parameters or settings should leave the context as it is")
	}
	if withQuery(ctx, store.Params{"a": "1"}, ch.Settings{"s": 1}) == ctx {
		t.Fatal("parameters and settings should be attached")
	}
}

// TestMigrateOverFakes runs store.Migrate, on one server and on a cluster,
// against the fake: every statement goes through Exec, the migration
// records through Insert with real column types.
func TestMigrateOverFakes(t *testing.T) {
	for _, cluster := range []string{"", "prod"} {
		c := &fakeConn{tables: migrationTables(t)}
		db := newTestDB(c)
		db.cluster = cluster
		if err := store.Migrate(context.Background(), store.OnCluster(db, db.Cluster(), db.Database())); err != nil {
			t.Fatalf("cluster %q: %v", cluster, err)
		}
		ms, _ := store.Migrations()
		if len(c.batches) != len(ms) {
			t.Fatalf("cluster %q: %d migration records, want %d", cluster, len(c.batches), len(ms))
		}
		for _, b := range c.batches {
			if b.table != "schema_migrations" || !b.sent || b.Rows() != 1 {
				t.Fatalf("cluster %q: record batch %+v", cluster, b.call)
			}
		}
		for _, e := range c.execs {
			if strings.Contains(e.query, "ON CLUSTER") != (cluster != "") {
				t.Errorf("cluster %q: %q", cluster, e.query)
			}
		}
	}
}
