package store_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/store"
	"github.com/changeproof/changeproof/store/storetest"
)

// migrationStatement returns the statement of the named migration file
// that starts with prefix (after whitespace).
func migrationStatement(t *testing.T, file, prefix string) string {
	t.Helper()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name != file {
			continue
		}
		for _, s := range m.Statements {
			if strings.HasPrefix(strings.TrimSpace(s), prefix) {
				return s
			}
		}
	}
	t.Fatalf("%s has no statement starting %q", file, prefix)
	return ""
}

// columnsOf returns the column list, "(...)", of a CREATE TABLE.
func columnsOf(stmt string) string {
	open := strings.Index(stmt, "(")
	end := strings.LastIndex(stmt, ") ENGINE")
	return stmt[open : end+1]
}

func TestClusterDDLExact(t *testing.T) {
	raw := migrationStatement(t, "001_init.sql", "CREATE TABLE IF NOT EXISTS raw_deliveries")
	waivers := migrationStatement(t, "002_waivers.sql", "CREATE TABLE IF NOT EXISTS waivers")
	deploys := migrationStatement(t, "003_operations.sql", "CREATE TABLE IF NOT EXISTS deploys")
	view := migrationStatement(t, "001_init.sql", "CREATE VIEW IF NOT EXISTS merged_pull_requests")
	alter := migrationStatement(t, "005_chain.sql", "ALTER TABLE raw_deliveries ADD COLUMN IF NOT EXISTS seq")

	tests := []struct {
		name, stmt string
		want       []string
	}{
		{"MergeTree without arguments", raw, []string{
			"CREATE TABLE IF NOT EXISTS raw_deliveries_local ON CLUSTER prod " + columnsOf(raw) +
				" ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/changeproof/raw_deliveries_local', '{replica}')\nORDER BY (source, delivery_id)",
			"CREATE TABLE IF NOT EXISTS raw_deliveries ON CLUSTER prod AS raw_deliveries_local ENGINE = Distributed(prod, changeproof, raw_deliveries_local, cityHash64(source, delivery_id))",
		}},
		{"ReplacingMergeTree with a version column", waivers, []string{
			"CREATE TABLE IF NOT EXISTS waivers_local ON CLUSTER prod " + columnsOf(waivers) +
				" ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/changeproof/waivers_local', '{replica}', first_seen)\nORDER BY (rule, subject, approved_by, expires, reason)",
			"CREATE TABLE IF NOT EXISTS waivers ON CLUSTER prod AS waivers_local ENGINE = Distributed(prod, changeproof, waivers_local, cityHash64(rule, subject))",
		}},
		{"deploys shard by their replacement key", deploys, []string{
			"CREATE TABLE IF NOT EXISTS deploys_local ON CLUSTER prod " + columnsOf(deploys) +
				" ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/changeproof/deploys_local', '{replica}', received_at)\nORDER BY (source, id)",
			"CREATE TABLE IF NOT EXISTS deploys ON CLUSTER prod AS deploys_local ENGINE = Distributed(prod, changeproof, deploys_local, cityHash64(source, id))",
		}},
		{"view", view, []string{
			strings.Replace(view, "merged_pull_requests AS", "merged_pull_requests ON CLUSTER prod AS", 1),
		}},
		{"add column", alter, []string{
			"ALTER TABLE raw_deliveries_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0",
			"ALTER TABLE raw_deliveries ON CLUSTER prod ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0",
		}},
		{"Migrate's own table, one line", "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String) ENGINE = ReplacingMergeTree ORDER BY version", []string{
			"CREATE TABLE IF NOT EXISTS schema_migrations_local ON CLUSTER prod (version UInt32, name String) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/changeproof/schema_migrations_local', '{replica}') ORDER BY version",
			"CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER prod AS schema_migrations_local ENGINE = Distributed(prod, changeproof, schema_migrations_local, cityHash64(version))",
		}},
		{"unknown table shards by its ORDER BY", "CREATE TABLE t (a String, b UInt8, c String) ENGINE = AggregatingMergeTree PARTITION BY b ORDER BY (a, b) SETTINGS index_granularity = 1024", []string{
			"CREATE TABLE t_local ON CLUSTER prod (a String, b UInt8, c String) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/changeproof/t_local', '{replica}') PARTITION BY b ORDER BY (a, b) SETTINGS index_granularity = 1024",
			"CREATE TABLE t ON CLUSTER prod AS t_local ENGINE = Distributed(prod, changeproof, t_local, cityHash64(a, b))",
		}},
		{"qualified names and odd identifiers", "CREATE TABLE `other-db`.t (a String) ENGINE = MergeTree ORDER BY tuple()", []string{
			"CREATE TABLE `other-db`.t_local ON CLUSTER prod (a String) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/other-db/t_local', '{replica}') ORDER BY tuple()",
			"CREATE TABLE `other-db`.t ON CLUSTER prod AS `other-db`.t_local ENGINE = Distributed(prod, `other-db`, t_local, rand())",
		}},
		{"drop columns: Distributed first", "ALTER TABLE pushes DROP COLUMN IF EXISTS x, DROP COLUMN y", []string{
			"ALTER TABLE pushes ON CLUSTER prod DROP COLUMN IF EXISTS x, DROP COLUMN y",
			"ALTER TABLE pushes_local ON CLUSTER prod DROP COLUMN IF EXISTS x, DROP COLUMN y",
		}},
		{"modify and rename columns", "ALTER TABLE pushes MODIFY COLUMN url LowCardinality(String), RENAME COLUMN ref TO git_ref", []string{
			"ALTER TABLE pushes_local ON CLUSTER prod MODIFY COLUMN url LowCardinality(String), RENAME COLUMN ref TO git_ref",
			"ALTER TABLE pushes ON CLUSTER prod MODIFY COLUMN url LowCardinality(String), RENAME COLUMN ref TO git_ref",
		}},
		{"index and mutation: local tables only", "ALTER TABLE findings ADD INDEX repo_idx repo TYPE bloom_filter GRANULARITY 4", []string{
			"ALTER TABLE findings_local ON CLUSTER prod ADD INDEX repo_idx repo TYPE bloom_filter GRANULARITY 4",
		}},
		{"drop table", "DROP TABLE IF EXISTS old SYNC", []string{
			"DROP TABLE IF EXISTS old ON CLUSTER prod SYNC",
			"DROP TABLE IF EXISTS old_local ON CLUSTER prod SYNC",
		}},
		{"drop view", "DROP VIEW IF EXISTS changes", []string{"DROP VIEW IF EXISTS changes ON CLUSTER prod"}},
		{"truncate", "TRUNCATE TABLE dead_letters", []string{"TRUNCATE TABLE dead_letters_local ON CLUSTER prod"}},
		{"optimize", "OPTIMIZE TABLE alerts FINAL", []string{"OPTIMIZE TABLE alerts_local ON CLUSTER prod FINAL"}},
		{"not schema: unchanged", "INSERT INTO findings SELECT * FROM findings WHERE 0", []string{"INSERT INTO findings SELECT * FROM findings WHERE 0"}},
		{"no rewrite: unchanged", "ALTER TABLE pushes ADD COLUMN x String, ADD INDEX i x TYPE set(0) GRANULARITY 1", []string{
			"ALTER TABLE pushes ADD COLUMN x String, ADD INDEX i x TYPE set(0) GRANULARITY 1",
		}},
		{"already replicated: unchanged", "CREATE TABLE t (a String) ENGINE = ReplicatedMergeTree ORDER BY a", []string{
			"CREATE TABLE t (a String) ENGINE = ReplicatedMergeTree ORDER BY a",
		}},
		{"materialized view: unchanged", "CREATE MATERIALIZED VIEW mv TO t AS SELECT 1", []string{"CREATE MATERIALIZED VIEW mv TO t AS SELECT 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := store.ClusterDDL(tt.stmt, "prod", "changeproof")
			if strings.Join(got, "\n;;\n") != strings.Join(tt.want, "\n;;\n") {
				t.Fatalf("ClusterDDL(%q)\n got: %q\nwant: %q", tt.stmt, got, tt.want)
			}
		})
	}
}

func TestClusterDDLWithoutClusterIsIdentity(t *testing.T) {
	s := "CREATE TABLE t (a String) ENGINE = MergeTree ORDER BY a"
	if got := store.ClusterDDL(s, "", "db"); len(got) != 1 || got[0] != s {
		t.Fatalf("got %q", got)
	}
}

func TestClusterDDLQuotesOddClusterNames(t *testing.T) {
	got := store.ClusterDDL("CREATE VIEW v AS SELECT 1", "eu-prod", "db")
	if want := "CREATE VIEW v ON CLUSTER `eu-prod` AS SELECT 1"; len(got) != 1 || got[0] != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

var (
	createTableRe  = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+) \(`)
	orderByRe      = regexp.MustCompile(`(?s)ORDER BY \(?([^()\n]*)\)?\s*$`)
	distributedRe  = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER c AS (\w+)_local ENGINE = Distributed\(c, db, (\w+)_local, cityHash64\(([^()]*)\)\)$`)
	replicatedRe   = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+)_local ON CLUSTER c \(.*\) ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/db/(\w+)_local', '\{replica\}'`)
	createViewRe   = regexp.MustCompile(`(?s)^CREATE VIEW IF NOT EXISTS (\w+) ON CLUSTER c AS\n`)
	alterLocalRe   = regexp.MustCompile(`^ALTER TABLE (\w+)_local ON CLUSTER c `)
	alterDistribRe = regexp.MustCompile(`^ALTER TABLE (\w+) ON CLUSTER c `)
)

// The tables' sharding keys, chosen so that one subject's rows stay on
// one shard (see store/cluster.go).
var wantShardingKeys = map[string]string{
	"raw_deliveries":    "source, delivery_id",
	"dead_letters":      "source, delivery_id",
	"pull_requests":     "repo",
	"reviews":           "repo",
	"pushes":            "repo",
	"protection_events": "repo",
	"findings":          "subject",
	"waivers":           "rule, subject",
	"deploys":           "source, id",
	"access_events":     "system, id",
	"alerts":            "id",
}

// TestClusterDDLHandlesEveryMigration rewrites every statement of every
// migration: nothing passes through unchanged, everything runs ON CLUSTER,
// and every table's sharding key is made of its ORDER BY columns, so FINAL
// (which runs per shard over a Distributed table) sees all of a row's
// versions.
func TestClusterDDLHandlesEveryMigration(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]bool{}
	for _, m := range ms {
		for i, stmt := range m.Statements {
			got := store.ClusterDDL(stmt, "c", "db")
			where := func() string { return fmt.Sprintf("%s statement %d", m.Name, i+1) }
			if len(got) == 0 || (len(got) == 1 && got[0] == stmt) {
				t.Errorf("%s passes through unchanged: %q", where(), stmt)
				continue
			}
			for _, g := range got {
				if !strings.Contains(g, " ON CLUSTER c") {
					t.Errorf("%s: %q runs on one host", where(), g)
				}
			}
			switch {
			case createTableRe.MatchString(stmt):
				name := createTableRe.FindStringSubmatch(stmt)[1]
				tables[name] = true
				if len(got) != 2 {
					t.Fatalf("%s: CREATE TABLE %s gives %d statements, want 2", where(), name, len(got))
				}
				r := replicatedRe.FindStringSubmatch(got[0])
				if r == nil || r[1] != name || r[2] != name {
					t.Errorf("%s: not a replicated local table: %q", where(), got[0])
				}
				if columnsOf(got[0]) != columnsOf(stmt) {
					t.Errorf("%s: columns changed:\n%s\nwant\n%s", where(), columnsOf(got[0]), columnsOf(stmt))
				}
				d := distributedRe.FindStringSubmatch(got[1])
				if d == nil || d[1] != name || d[2] != name || d[3] != name {
					t.Fatalf("%s: not a Distributed front: %q", where(), got[1])
				}
				key := d[4]
				if want, ok := wantShardingKeys[name]; ok && key != want {
					t.Errorf("%s: %s sharded by %q, want %q", where(), name, key, want)
				}
				order := map[string]bool{}
				for _, c := range strings.Split(orderByRe.FindStringSubmatch(stmt)[1], ",") {
					order[strings.TrimSpace(c)] = true
				}
				for _, c := range strings.Split(key, ",") {
					if !order[strings.TrimSpace(c)] {
						t.Errorf("%s: %s's sharding key uses %s, not in its ORDER BY: replacements of a row could land on different shards", where(), name, c)
					}
				}
			case strings.HasPrefix(stmt, "CREATE VIEW"):
				if len(got) != 1 || !createViewRe.MatchString(got[0]) {
					t.Errorf("%s: view rewritten to %q", where(), got)
				}
			case strings.HasPrefix(stmt, "ALTER TABLE"):
				if len(got) != 2 || !alterLocalRe.MatchString(got[0]) || !alterDistribRe.MatchString(got[1]) {
					t.Errorf("%s: ALTER rewritten to %q", where(), got)
				}
			default:
				t.Errorf("%s: statement of a kind this test does not know: %q", where(), stmt)
			}
		}
	}
	for name := range wantShardingKeys {
		if !tables[name] {
			t.Errorf("no migration creates %s", name)
		}
	}
}

// TestClusterDDLParses checks every rewritten statement with the engine's
// parser (EXPLAIN AST parses without running).
func TestClusterDDLParses(t *testing.T) {
	db := storetest.OpenDB(t)
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		for _, stmt := range m.Statements {
			for _, g := range store.ClusterDDL(stmt, "prod", "changeproof") {
				var rows []struct {
					Explain string `json:"explain"`
				}
				if err := db.Query(context.Background(), "EXPLAIN AST "+g, nil, &rows); err != nil {
					t.Errorf("%s: %q does not parse: %v", m.Name, g, err)
				}
			}
		}
	}
}

// recordingDB is a store.DB that records what it is asked to do.
type recordingDB struct {
	execs   []string
	inserts []string
	queries []string
	failOn  string
}

func (r *recordingDB) Exec(_ context.Context, q string, _ store.Params) error {
	r.execs = append(r.execs, q)
	if r.failOn != "" && strings.Contains(q, r.failOn) {
		return errors.New("boom")
	}
	return nil
}

func (r *recordingDB) Insert(_ context.Context, table string, _ any) error {
	r.inserts = append(r.inserts, table)
	return nil
}

func (r *recordingDB) Query(_ context.Context, q string, _ store.Params, _ any) error {
	r.queries = append(r.queries, q)
	return nil
}

func (r *recordingDB) Close() error { return nil }

func TestMigrateOnCluster(t *testing.T) {
	rec := &recordingDB{}
	if err := store.Migrate(context.Background(), store.OnCluster(rec, "c", "db")); err != nil {
		t.Fatal(err)
	}
	if len(rec.execs) < 3 {
		t.Fatalf("execs = %q", rec.execs)
	}
	if !strings.HasPrefix(rec.execs[0], "CREATE TABLE IF NOT EXISTS schema_migrations_local ON CLUSTER c (") ||
		rec.execs[1] != "CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER c AS schema_migrations_local ENGINE = Distributed(c, db, schema_migrations_local, cityHash64(version))" {
		t.Fatalf("schema_migrations created as %q", rec.execs[:2])
	}
	for _, e := range rec.execs {
		if !strings.Contains(e, " ON CLUSTER c") {
			t.Errorf("ran on one host: %q", e)
		}
	}
	ms, _ := store.Migrations()
	if len(rec.inserts) != len(ms) {
		t.Fatalf("recorded %d migrations, want %d", len(rec.inserts), len(ms))
	}
	for _, table := range rec.inserts {
		if table != "schema_migrations" {
			t.Fatalf("insert into %s, want the Distributed schema_migrations", table)
		}
	}
	if len(rec.queries) != 1 || !strings.Contains(rec.queries[0], "FROM schema_migrations FINAL") {
		t.Fatalf("queries = %q", rec.queries)
	}
}

func TestOnClusterExec(t *testing.T) {
	ctx := context.Background()
	if rec := (&recordingDB{}); store.OnCluster(rec, "", "db") != store.DB(rec) {
		t.Fatal("OnCluster without a cluster should return the DB itself")
	}

	rec := &recordingDB{}
	db := store.OnCluster(rec, "c", "db")
	if err := db.Exec(ctx, "INSERT INTO t SELECT 1", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "RENAME TABLE a TO b", nil); err == nil || !strings.Contains(err.Error(), "RENAME TABLE a TO b") {
		t.Fatalf("unrewritable schema statement: err = %v", err)
	}
	if len(rec.execs) != 1 || rec.execs[0] != "INSERT INTO t SELECT 1" {
		t.Fatalf("execs = %q", rec.execs)
	}

	rec = &recordingDB{failOn: "t_local"}
	db = store.OnCluster(rec, "c", "db")
	if err := db.Exec(ctx, "CREATE TABLE t (a String) ENGINE = MergeTree ORDER BY a", nil); err == nil {
		t.Fatal("error of the first statement was lost")
	}
	if len(rec.execs) != 1 {
		t.Fatalf("went on after a failure: %q", rec.execs)
	}
}
