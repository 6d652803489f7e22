package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Cluster mode (clickhouse.cluster). The migrations are written for one
// server; on a replicated, sharded cluster each table becomes two:
//
//   - NAME_local, a Replicated*MergeTree created ON CLUSTER on every host,
//     holding one shard's rows, replicated between that shard's replicas
//     through the path /clickhouse/tables/{shard}/DATABASE/NAME_local
//     (the {shard} and {replica} macros come from each server's config);
//   - NAME, a Distributed table in front of them, which every query and
//     insert of the store uses unchanged.
//
// The Distributed table's sharding key decides which shard a row lives on.
// FINAL, and ReplacingMergeTree's merges, only collapse rows that sit on
// the same shard: over a Distributed table, FINAL runs on each shard
// separately. So the sharding key of a replacing table must be a function
// of its ORDER BY columns alone, so that every version of a row lands on
// the shard that holds the others. Within that rule the key keeps one
// subject's rows together where the queries follow a subject (a
// repository's pull requests, reviews, pushes and protection events share
// cityHash64(repo)), and otherwise spreads rows evenly (see shardingKeys).

// localSuffix names a cluster table's shard-local, replicated part.
const localSuffix = "_local"

// shardingKeys are the Distributed sharding keys of the store's tables.
// Each uses only the table's ORDER BY columns (see above); a table missing
// here is sharded by a hash of all its ORDER BY columns.
var shardingKeys = map[string]string{
	// Migrate's own table: one row per version.
	"schema_migrations": "cityHash64(version)",
	// The raw log and its dead letters: one delivery's rows together,
	// deliveries spread evenly.
	"raw_deliveries": "cityHash64(source, delivery_id)",
	"dead_letters":   "cityHash64(source, delivery_id)",
	// GitHub evidence follows the repository, as RepoEvidence reads it:
	// repo leads each of these tables' ORDER BY.
	"pull_requests":     "cityHash64(repo)",
	"reviews":           "cityHash64(repo)",
	"pushes":            "cityHash64(repo)",
	"protection_events": "cityHash64(repo)",
	// A subject's verdict history together (LIMIT 1 BY rule, subject).
	"findings": "cityHash64(subject)",
	"waivers":  "cityHash64(rule, subject)",
	// One evidence's copies together, so that they merge away.
	"finding_evidence": "cityHash64(key)",
	// A deploy is replaced by its later reports under (source, id); repo is
	// not in that key (reports of one deploy may differ in it), so it
	// cannot shard the table.
	"deploys": "cityHash64(source, id)",
	// The high-volume source: (system, id) is the replacement key; sharding
	// by system alone would put a busy system on one shard.
	"access_events": "cityHash64(system, id)",
	"alerts":        "cityHash64(id)",
}

// OnCluster returns db with Exec rewritten for cluster mode: each statement
// runs as the statements ClusterDDL makes of it, in order. Query and Insert
// are unchanged (they use the Distributed tables). A schema statement that
// ClusterDDL cannot rewrite is an error rather than running on one host.
// An empty cluster returns db itself.
//
// Apply the migrations with Migrate(ctx, OnCluster(db, cluster, database)),
// database being the one db uses.
func OnCluster(db DB, cluster, database string) DB {
	if cluster == "" {
		return db
	}
	return &clusterDB{DB: db, cluster: cluster, database: database}
}

type clusterDB struct {
	DB
	cluster, database string
}

// Exec implements DB.
func (c *clusterDB) Exec(ctx context.Context, query string, params Params) error {
	stmts := ClusterDDL(query, c.cluster, c.database)
	if len(stmts) == 1 && stmts[0] == query && isSchemaStatement(query) {
		return fmt.Errorf("cluster mode: no ON CLUSTER rewrite for statement %q", firstLine(query))
	}
	for _, s := range stmts {
		if err := c.DB.Exec(ctx, s, params); err != nil {
			return err
		}
	}
	return nil
}

// ClusterDDL rewrites one migration statement for cluster mode on cluster,
// the tables living in database:
//
//   - CREATE TABLE t (...) ENGINE = XMergeTree(args) ... becomes
//     CREATE TABLE t_local ON CLUSTER c (...) ENGINE =
//     ReplicatedXMergeTree('/clickhouse/tables/{shard}/database/t_local',
//     '{replica}', args) ... and CREATE TABLE t ON CLUSTER c AS t_local
//     ENGINE = Distributed(c, database, t_local, KEY), KEY from
//     shardingKeys;
//   - CREATE VIEW v ... becomes CREATE VIEW v ON CLUSTER c ... (a view
//     reads the Distributed tables);
//   - ALTER TABLE t of column changes (ADD, DROP, MODIFY, RENAME, COMMENT
//     COLUMN) applies to t_local ON CLUSTER, then to the Distributed t ON
//     CLUSTER (in the opposite order when it only drops columns); other
//     ALTERs (indexes, TTL, mutations, settings) to t_local only;
//   - DROP TABLE t drops t and t_local; DROP VIEW, TRUNCATE TABLE and
//     OPTIMIZE TABLE run ON CLUSTER (the last two on t_local).
//
// IF [NOT] EXISTS and the statement's text are kept. A statement that is
// not schema (INSERT ... SELECT, SELECT) comes back unchanged, as does a
// schema statement it has no rewrite for (an engine other than a
// non-replicated *MergeTree, a mix of column and other ALTER commands):
// OnCluster refuses those. An empty cluster returns stmt unchanged.
func ClusterDDL(stmt, cluster, database string) []string {
	if cluster == "" {
		return []string{stmt}
	}
	for _, rw := range []func(stmt, cluster, database string) []string{
		clusterCreateTable, clusterCreateView, clusterAlter, clusterDrop, clusterTruncateOptimize,
	} {
		if out := rw(stmt, cluster, database); out != nil {
			return out
		}
	}
	return []string{stmt}
}

const nameRe = "(`[^`]+`|[A-Za-z0-9_]+)(?:\\.(`[^`]+`|[A-Za-z0-9_]+))?"

var (
	createTableRe = regexp.MustCompile(`(?is)^(\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)` + nameRe + `\s*\(`)
	engineRe      = regexp.MustCompile(`(?is)^\s*ENGINE\s*=\s*([A-Za-z0-9_]+)\s*`)
	orderByRe     = regexp.MustCompile(`(?is)\bORDER\s+BY\s+`)
	createViewRe  = regexp.MustCompile(`(?is)^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?)` + nameRe + `(\s)`)
	alterRe       = regexp.MustCompile(`(?is)^(\s*ALTER\s+TABLE\s+)` + nameRe + `(\s+)(.*)$`)
	columnOpRe    = regexp.MustCompile(`(?is)^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b`)
	dropColumnRe  = regexp.MustCompile(`(?is)^DROP\s+COLUMN\b`)
	dropRe        = regexp.MustCompile(`(?is)^(\s*DROP\s+(TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?)` + nameRe + `(\s.*)?$`)
	truncOptRe    = regexp.MustCompile(`(?is)^(\s*(?:TRUNCATE|OPTIMIZE)\s+TABLE\s+(?:IF\s+EXISTS\s+)?)` + nameRe + `(\s.*)?$`)
	schemaStmtRe  = regexp.MustCompile(`(?is)^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE|OPTIMIZE|EXCHANGE|ATTACH|DETACH|UNDROP)\b`)
	plainIdentRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// tableName is a possibly database-qualified table name, unquoted.
type tableName struct{ db, name string }

func parseName(m []string, i int) tableName {
	if m[i+1] == "" {
		return tableName{name: unquoteIdent(m[i])}
	}
	return tableName{db: unquoteIdent(m[i]), name: unquoteIdent(m[i+1])}
}

func (t tableName) local() tableName { return tableName{t.db, t.name + localSuffix} }

func (t tableName) String() string {
	if t.db == "" {
		return ident(t.name)
	}
	return ident(t.db) + "." + ident(t.name)
}

func unquoteIdent(s string) string { return strings.Trim(s, "`") }

// ident renders a name as an identifier, quoted unless plain.
func ident(s string) string {
	if plainIdentRe.MatchString(s) {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "\\`") + "`"
}

func onCluster(cluster string) string { return " ON CLUSTER " + ident(cluster) }

func clusterCreateTable(stmt, cluster, database string) []string {
	m := createTableRe.FindStringSubmatchIndex(stmt)
	if m == nil {
		return nil
	}
	sub := submatches(stmt, m)
	name := parseName(sub, 2)
	open := m[1] - 1
	end := matchParen(stmt, open)
	if end < 0 {
		return nil
	}
	columns := stmt[open : end+1]
	rest := stmt[end+1:]
	em := engineRe.FindStringSubmatchIndex(rest)
	if em == nil {
		return nil
	}
	engine := rest[em[2]:em[3]]
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil
	}
	tail := rest[em[1]:]
	var args string
	if strings.HasPrefix(tail, "(") {
		e := matchParen(tail, 0)
		if e < 0 {
			return nil
		}
		args = strings.TrimSpace(tail[1:e])
		tail = tail[e+1:]
	} else {
		// engineRe ate the whitespace before the next clause; give it back.
		tail = rest[em[3]:]
		tail = tail[len(tail)-len(strings.TrimLeft(tail, " \t")):]
	}
	db := database
	if name.db != "" {
		db = name.db
	}
	local := name.local()
	engineArgs := QuoteString("/clickhouse/tables/{shard}/"+db+"/"+local.name) + ", '{replica}'"
	if args != "" {
		engineArgs += ", " + args
	}
	if tail != "" && !strings.ContainsAny(tail[:1], " \t\r\n") {
		tail = " " + tail
	}
	key := shardingKeys[name.name]
	if key == "" {
		key = defaultShardingKey(tail)
	}
	prefix := sub[1]
	return []string{
		prefix + local.String() + onCluster(cluster) + " " + columns + " ENGINE = Replicated" + engine + "(" + engineArgs + ")" + tail,
		prefix + name.String() + onCluster(cluster) + " AS " + local.String() +
			" ENGINE = Distributed(" + ident(cluster) + ", " + ident(db) + ", " + ident(local.name) + ", " + key + ")",
	}
}

// defaultShardingKey hashes every ORDER BY column of a table's clauses.
func defaultShardingKey(clauses string) string {
	cols := orderByColumns(clauses)
	if len(cols) == 0 {
		return "rand()"
	}
	return "cityHash64(" + strings.Join(cols, ", ") + ")"
}

// orderByColumns returns the expressions of the ORDER BY clause in a CREATE
// TABLE's clauses (after the engine): (a, b) gives [a b], a gives [a],
// tuple() gives none.
func orderByColumns(clauses string) []string {
	m := orderByRe.FindStringIndex(clauses)
	if m == nil {
		return nil
	}
	s := clauses[m[1]:]
	var expr string
	if strings.HasPrefix(s, "(") {
		e := matchParen(s, 0)
		if e < 0 {
			return nil
		}
		expr = s[1:e]
	} else if strings.HasPrefix(strings.ToLower(s), "tuple(") {
		e := matchParen(s, len("tuple"))
		if e < 0 {
			return nil
		}
		expr = s[len("tuple")+1 : e]
	} else {
		expr = strings.Fields(s)[0]
	}
	var out []string
	for _, c := range splitTopLevel(expr) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func clusterCreateView(stmt, cluster, _ string) []string {
	m := createViewRe.FindStringSubmatchIndex(stmt)
	if m == nil {
		return nil
	}
	sub := submatches(stmt, m)
	name := parseName(sub, 2)
	return []string{sub[1] + name.String() + onCluster(cluster) + stmt[m[8]:]}
}

func clusterAlter(stmt, cluster, _ string) []string {
	m := alterRe.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	name := parseName(m, 2)
	prefix, sep, commands := m[1], m[4], m[5]
	columnOps, dropsOnly := 0, true
	cmds := splitTopLevel(commands)
	for _, c := range cmds {
		c = strings.TrimSpace(c)
		if columnOpRe.MatchString(c) {
			columnOps++
		}
		if !dropColumnRe.MatchString(c) {
			dropsOnly = false
		}
	}
	local := prefix + name.local().String() + onCluster(cluster) + sep + commands
	switch {
	case columnOps == 0:
		return []string{local}
	case columnOps < len(cmds):
		return nil // a mix the Distributed table cannot take in part
	}
	dist := prefix + name.String() + onCluster(cluster) + sep + commands
	if dropsOnly {
		// Stop reading and writing the columns before they go.
		return []string{dist, local}
	}
	return []string{local, dist}
}

func clusterDrop(stmt, cluster, _ string) []string {
	m := dropRe.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	name := parseName(m, 3)
	prefix, kind, suffix := m[1], strings.ToUpper(m[2]), m[5]
	out := []string{prefix + name.String() + onCluster(cluster) + suffix}
	if kind == "TABLE" {
		out = append(out, "DROP TABLE IF EXISTS "+name.local().String()+onCluster(cluster)+suffix)
	}
	return out
}

func clusterTruncateOptimize(stmt, cluster, _ string) []string {
	m := truncOptRe.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	name := parseName(m, 2)
	return []string{m[1] + name.local().String() + onCluster(cluster) + m[4]}
}

func isSchemaStatement(stmt string) bool { return schemaStmtRe.MatchString(stmt) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// submatches turns FindStringSubmatchIndex's result into strings.
func submatches(s string, m []int) []string {
	out := make([]string, len(m)/2)
	for i := range out {
		if m[2*i] >= 0 {
			out[i] = s[m[2*i]:m[2*i+1]]
		}
	}
	return out
}

// matchParen returns the index of the parenthesis closing the one at
// s[open], skipping quoted strings and identifiers; -1 if unbalanced.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"', '`':
			j := skipQuoted(s, i)
			if j < 0 {
				return -1
			}
			i = j
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// skipQuoted returns the index of the quote closing the one at s[i].
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}

// splitTopLevel splits s on the commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"', '`':
			j := skipQuoted(s, i)
			if j < 0 {
				return append(out, s[start:])
			}
			i = j
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
