package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered schema file.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []Migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		var v int
		if _, err := fmt.Sscanf(base, "%03d_", &v); err != nil {
			return nil, fmt.Errorf("migration %s: name must start with NNN_", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, Statements: splitStatements(string(b))})
	}
	return ms, nil
}

// splitStatements splits on ";" at line ends; the files keep one statement
// per ";\n" and no semicolons inside strings.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || (t == "" && cur.Len() == 0) {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, s)
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

type migrationRow struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	AppliedAt time.Time `json:"applied_at"`
}

// Migrate applies the migrations not yet recorded in schema_migrations.
// Statements are idempotent (IF NOT EXISTS), so a crash half-way through a
// migration is repaired by running it again.
func Migrate(ctx context.Context, db DB) error {
	if err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree ORDER BY version`, nil); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var done []migrationRow
	if err := db.Query(ctx, "SELECT version, name, applied_at FROM schema_migrations FINAL", nil, &done); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	for _, r := range done {
		applied[r.Version] = true
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		for i, s := range m.Statements {
			if err := db.Exec(ctx, s, nil); err != nil {
				return fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := db.Insert(ctx, "schema_migrations", []migrationRow{{m.Version, m.Name, time.Now().UTC()}}); err != nil {
			return fmt.Errorf("record migration %s: %w", m.Name, err)
		}
	}
	return nil
}
