package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RowStreamer is a DB that hands a SELECT's rows over one at a time as the
// engine produces them, so a result of millions of rows is never held
// whole. Every column of the query must be a String.
//
// fn receives each row's values in column order; the slice is reused for
// the next row (copy it to keep it), its strings may be kept. An error from
// fn stops the query and is returned.
type RowStreamer interface {
	StreamRows(ctx context.Context, query string, params Params, fn func(row []string) error) error
}

// Population names, as the auditor export calls them.
const (
	PopulationChanges = "changes" // merged pull requests and direct pushes (the changes view)
	PopulationDeploys = "deploys" // every deploy, whatever its status or environment
	PopulationAccess  = "access"  // every access event
)

// PopulationRow is one member of a population as WalkPopulation hands it
// over. Fields and Outcomes are reused for the next row.
type PopulationRow struct {
	Subject    string
	OccurredAt time.Time // zero when the engine holds none (the epoch)
	// Fields are the population's columns, named by PopulationFields.
	Fields []string
	// Outcomes are the current outcome of each requested rule for this
	// subject (the latest evaluated_at, as Outcomes reads it); "" without a
	// finding.
	Outcomes []string
}

// populationSQL selects a population's members: subject, occurred_at and
// the fields, restricted to occurred_at in [{from}, {to}).
type populationSQL struct {
	fields []string
	sql    string
}

var populations = map[string]populationSQL{
	PopulationChanges: {
		fields: []string{"kind", "repo", "sha", "actor", "title", "url"},
		sql: `SELECT subject, occurred_at, kind, repo, sha, actor, title, url FROM changes
WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}`,
	},
	PopulationDeploys: {
		fields: []string{"service", "environment", "deploy_id", "repo", "sha", "status", "actor", "url"},
		sql: `SELECT concat(service, '@', environment, '@', id) AS subject, ` + deployTimeSQL + ` AS occurred_at,
    service, environment, id AS deploy_id, repo, sha, status, actor, url
FROM deploys FINAL
WHERE ` + deployTimeSQL + ` >= {from:DateTime64(3, 'UTC')} AND ` + deployTimeSQL + ` < {to:DateTime64(3, 'UTC')}`,
	},
	PopulationAccess: {
		fields: []string{"system", "event_id", "principal", "action", "result", "role", "ticket", "source_ip"},
		sql: `SELECT concat(system, ':', id) AS subject, time AS occurred_at,
    system, id AS event_id, principal, action, result, role, ticket, source_ip
FROM access_events FINAL
WHERE time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}`,
	},
}

// PopulationFields names the Fields of a population's rows.
func PopulationFields(population string) ([]string, error) {
	p, ok := populations[population]
	if !ok {
		return nil, fmt.Errorf("unknown population %q", population)
	}
	return append([]string(nil), p.fields...), nil
}

// populationQuery is the one statement that reads a population with the
// current outcome of each rule, sorted by subject (byte order: String
// comparison in the engine is bytewise). The outcomes are aggregated per
// subject and joined in the engine, so the rows arrive complete; every
// column is a String for RowStreamer. It returns the statement, its
// columns' names and its parameters but {from} and {to}.
func populationQuery(population string, rules []string) (string, []string, Params, error) {
	p, ok := populations[population]
	if !ok {
		return "", nil, nil, fmt.Errorf("unknown population %q", population)
	}
	params := Params{}
	names := []string{"subject", "at"}
	cols := []string{"p.subject AS subject", "toString(toUnixTimestamp64Milli(p.occurred_at)) AS at"}
	for _, f := range p.fields {
		names = append(names, f)
		cols = append(cols, "toString(p."+f+") AS "+f)
	}
	if len(rules) == 0 {
		return "SELECT " + strings.Join(cols, ", ") + "\nFROM (" + p.sql + ") AS p\nORDER BY subject", names, params, nil
	}
	aggs := make([]string, len(rules))
	for i, r := range rules {
		name := "rule" + strconv.Itoa(i)
		params[name] = r
		aggs[i] = fmt.Sprintf("argMaxIf(outcome, evaluated_at, rule = {%s:String}) AS o%d", name, i)
		names = append(names, fmt.Sprintf("o%d", i))
		cols = append(cols, fmt.Sprintf("toString(o.o%d) AS o%d", i, i))
	}
	params["rules"] = ArrayParam(rules)
	// parallel_hash builds the table of a million subjects on every core;
	// join_use_nulls = 0 makes a member without findings read "" (no
	// finding), whatever the server's default.
	q := "SELECT " + strings.Join(cols, ", ") + "\nFROM (" + p.sql + ") AS p\n" +
		"LEFT JOIN (SELECT subject, " + strings.Join(aggs, ", ") +
		" FROM findings WHERE rule IN {rules:Array(String)} GROUP BY subject) AS o ON o.subject = p.subject\n" +
		"ORDER BY subject\nSETTINGS join_algorithm = 'parallel_hash', join_use_nulls = 0"
	return q, names, params, nil
}

// WalkPopulation calls fn for every member of population whose occurred_at
// lies in [from, to) (zero bounds are open), in increasing byte order of
// subject, with the current outcome of each of rules. The rows stream from
// the engine when the DB is a RowStreamer, so memory does not grow with the
// population; other DBs read the result whole first.
func (s *Store) WalkPopulation(ctx context.Context, population string, from, to time.Time, rules []string,
	fn func(PopulationRow) error) error {
	q, names, params, err := populationQuery(population, rules)
	if err != nil {
		return err
	}
	for k, v := range periodParams(from, to) {
		params[k] = v
	}
	nf := len(names) - 2 - len(rules)
	var row PopulationRow
	each := func(r []string) error {
		if len(r) != len(names) {
			return fmt.Errorf("population row has %d columns, want %d", len(r), len(names))
		}
		ms, err := strconv.ParseInt(r[1], 10, 64)
		if err != nil {
			return fmt.Errorf("member %s: occurred_at %q: %w", r[0], r[1], err)
		}
		row.Subject = r[0]
		row.OccurredAt = time.Time{}
		if ms > 0 { // the epoch is how the engine holds a zero time
			row.OccurredAt = time.UnixMilli(ms).UTC()
		}
		row.Fields = r[2 : 2+nf]
		row.Outcomes = r[2+nf:]
		return fn(row)
	}
	if err := streamRows(ctx, s.db, q, names, params, each); err != nil {
		return fmt.Errorf("read population %s: %w", population, err)
	}
	return nil
}

// streamRows runs a query whose columns (named cols) are all Strings and
// whose rows are sorted by subject, row by row: through the DB's
// RowStreamer when it has one (also behind cluster mode's wrapper), else by
// reading the rows whole as one array column.
func streamRows(ctx context.Context, db DB, q string, cols []string, params Params, fn func([]string) error) error {
	if c, ok := db.(*clusterDB); ok {
		db = c.DB
	}
	if rs, ok := db.(RowStreamer); ok {
		return rs.StreamRows(ctx, q, params, fn)
	}
	var rows []struct {
		Row []string `json:"row"`
	}
	if err := db.Query(ctx, "SELECT ["+strings.Join(cols, ", ")+"] AS row FROM ("+q+") ORDER BY subject", params, &rows); err != nil {
		return err
	}
	for _, r := range rows {
		if err := fn(r.Row); err != nil {
			return err
		}
	}
	return nil
}
