package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
)

// Member is one row of a population.
type Member struct {
	Subject    string
	OccurredAt time.Time
	// Columns are the extra columns, rendered in the CSV files after subject
	// and occurred_at. They are placed by name under the population's header
	// (ColumnNames); a name the header lacks is an error, a header column the
	// member lacks is empty.
	Columns []Column
}

// Column is one named value of a member.
type Column struct{ Name, Value string }

// Source is where the export reads its data.
type Source interface {
	// Population returns every member of the population in [from, to]
	// (inclusive, UTC); order does not matter (Export sorts by subject).
	Population(ctx context.Context, population string, from, to time.Time) ([]Member, error)
	// Bundle returns the evidence bundle of one member as a JSON-marshalable
	// value. Its encoding must be deterministic (encoding/json sorts map
	// keys; struct fields keep their order). Export asks for several
	// bundles at once (up to BundleConcurrency), so Bundle must be safe for
	// concurrent use.
	Bundle(ctx context.Context, population, subject string) (any, error)
}

// BundleBatcher may be implemented by a Source that reads many evidence
// bundles faster together than one by one. Export then asks for the
// sample's bundles in batches of up to BundleBatch subjects; when a batch
// fails it asks for that batch's bundles one by one with Bundle, so that
// the error names the member.
type BundleBatcher interface {
	// Bundles returns the bundles of subjects, in their order, each as
	// Bundle returns it. It must be safe for concurrent use.
	Bundles(ctx context.Context, population string, subjects []string) ([]any, error)
}

// Walker may be implemented by a Source that can hand its population over
// one member at a time, already in subject order: Export then streams
// population.csv and draws the sample as the members pass, holding only
// the sample in memory however large the population (Population is not
// called).
type Walker interface {
	// Walk calls fn for every member of the population in [from, to]
	// (inclusive, UTC), in increasing byte order of subject, each subject
	// once. values are the member's columns under the population's header
	// (HeaderSource, else ColumnNames), in header order. The values slice
	// is reused after fn returns; the strings may be kept. An error from fn
	// ends the walk and Walk returns it.
	Walk(ctx context.Context, population string, from, to time.Time,
		fn func(subject string, occurredAt time.Time, values []string) error) error
}

// HeaderSource may be implemented by a Source whose populations carry other
// columns than ColumnNames gives. Header returns the column names after
// subject and occurred_at; nil means the default.
type HeaderSource interface {
	Header(population string) []string
}

// Population names (the controls' definitions name the same).
const (
	PopulationChanges = string(control.PopulationChanges) // merged pull requests and direct pushes of in-scope repositories
	PopulationDeploys = string(control.PopulationDeploys) // production deploys
	PopulationAccess  = string(control.PopulationAccess)  // access events to in-scope systems
)

// Populations lists the valid population names; the first is the default.
var Populations = []string{PopulationChanges, PopulationDeploys, PopulationAccess}

// memberColumns are each population's own columns, after subject and
// occurred_at; the outcome columns of the controls over it follow.
var memberColumns = map[string][]string{
	PopulationChanges: {"kind", "repo", "sha", "actor", "title", "url"},
	PopulationDeploys: {"service", "environment", "deploy_id", "repo", "sha", "status", "actor", "url"},
	PopulationAccess:  {"system", "event_id", "principal", "action", "result", "role", "ticket", "source_ip"},
}

// ColumnNames returns the default columns of a population, after subject
// and occurred_at: its own, then one outcome column per control whose
// definition lists the population, named by rule ID, in catalogue order.
func ColumnNames(population string) ([]string, error) {
	own, ok := memberColumns[population]
	if !ok {
		return nil, fmt.Errorf("unknown population %q: valid values are %s", population, strings.Join(Populations, ", "))
	}
	return append(slices.Clone(own), rules.InPopulation(control.Population(population))...), nil
}

// ColumnsFrom builds a member's columns in the order of names, taking each
// value from values (missing: empty). Use it with ColumnNames:
//
//	cols, _ := audit.ColumnNames(audit.PopulationChanges)
//	m.Columns = audit.ColumnsFrom(cols, map[string]string{"kind": "pull_request", "CM-1": "pass"})
func ColumnsFrom(names []string, values map[string]string) []Column {
	out := make([]Column, len(names))
	for i, n := range names {
		out[i] = Column{Name: n, Value: values[n]}
	}
	return out
}

// reserved are the CSV columns the export itself writes.
var reserved = map[string]bool{"subject": true, "occurred_at": true, "sample_number": true, "draw_key": true, "evidence_file": true}

// header returns the population's columns: the source's own, else the
// default.
func header(src Source, population string) ([]string, error) {
	def, err := ColumnNames(population)
	if err != nil {
		return nil, err
	}
	hs, ok := src.(HeaderSource)
	if !ok {
		return def, nil
	}
	h := hs.Header(population)
	if h == nil {
		return def, nil
	}
	seen := map[string]bool{}
	for _, n := range h {
		switch {
		case n == "":
			return nil, fmt.Errorf("header of population %s: empty column name", population)
		case reserved[n]:
			return nil, fmt.Errorf("header of population %s: column %q is written by the export itself", population, n)
		case seen[n]:
			return nil, fmt.Errorf("header of population %s: column %q appears twice", population, n)
		}
		seen[n] = true
	}
	return h, nil
}

// row lays out a member's column values under hdr.
func row(m Member, hdr []string, index map[string]int) ([]string, error) {
	out := make([]string, len(hdr))
	set := make([]bool, len(hdr))
	for _, c := range m.Columns {
		i, ok := index[c.Name]
		if !ok {
			return nil, fmt.Errorf("member %s: column %q is not in the header (%s)", m.Subject, c.Name, strings.Join(hdr, ", "))
		}
		if set[i] {
			return nil, fmt.Errorf("member %s: column %q given twice", m.Subject, c.Name)
		}
		set[i] = true
		out[i] = c.Value
	}
	return out, nil
}
