package rules

import (
	"fmt"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// catalogEntry is one part of a control's entry in the catalogue, after its
// heading: a labelled paragraph (Value), or a block of Markdown (Block).
// An empty value leaves the part out, so a field only some controls fill
// costs nothing to the others.
type catalogEntry struct {
	Label string
	Value func(control.Definition) string
	Block func(control.Definition) string
}

// catalogEntries lay out a control's entry, in order. Documenting a new
// field of control.Definition is one line here; the README's catalogue and
// docs/controls.md both follow.
var catalogEntries = []catalogEntry{
	{Label: "Question", Value: func(d control.Definition) string { return d.Question }},
	{Label: "Subjects", Value: func(d control.Definition) string { return d.Subjects }},
	{Block: outcomeTable},
	{Label: "Remediation", Value: func(d control.Definition) string { return d.Remediation }},
	{Label: "Evidence", Value: func(d control.Definition) string { return joinEvidence(d.Evidence) }},
	{Label: "Alerts", Value: func(d control.Definition) string { return d.Alert.String() }},
	{Label: "Populations", Value: func(d control.Definition) string { return joinPopulations(d.Populations) }},
	{Label: "Depends on", Value: func(d control.Definition) string { return strings.Join(d.DependsOn, ", ") }},
}

// catalogColumns are the columns of the catalogue's summary table, one
// line each, like catalogEntries.
var catalogColumns = []struct {
	Header string
	Value  func(control.Definition) string
}{
	{"control", func(d control.Definition) string { return fmt.Sprintf("[%s](#%s) `%s`", d.ID, anchor(d), d.Name) }},
	{"question", func(d control.Definition) string { return d.Question }},
	{"alerts", func(d control.Definition) string { return d.Alert.String() }},
	{"outcomes", func(d control.Definition) string {
		var os []string
		for _, o := range model.Outcomes {
			if _, ok := d.Outcomes[o]; ok {
				os = append(os, "`"+string(o)+"`")
			}
		}
		return strings.Join(os, ", ")
	}},
}

// CatalogMarkdown renders the control catalogue from the definitions, one
// section per control; the README and docs/controls.md embed it and a test
// keeps them identical.
func CatalogMarkdown() string {
	var b strings.Builder
	for _, d := range Catalogue() {
		fmt.Fprintf(&b, "### %s `%s`\n\n", d.ID, d.Name)
		for _, e := range catalogEntries {
			switch {
			case e.Block != nil:
				if s := e.Block(d); s != "" {
					b.WriteString(s + "\n")
				}
			case e.Value(d) != "":
				fmt.Fprintf(&b, "**%s:** %s\n\n", e.Label, e.Value(d))
			}
		}
	}
	return b.String()
}

// CatalogTable renders a one-row-per-control summary of the catalogue,
// each row linking to the control's section of CatalogMarkdown.
func CatalogTable() string {
	var b strings.Builder
	for i, c := range catalogColumns {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "| %s", c.Header)
	}
	b.WriteString(" |\n" + strings.Repeat("| --- ", len(catalogColumns)) + "|\n")
	for _, d := range Catalogue() {
		for i, c := range catalogColumns {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "| %s", cell(c.Value(d)))
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// outcomeTable is the when-table of a control's outcomes.
func outcomeTable(d control.Definition) string {
	if len(d.Outcomes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| outcome | when |\n| --- | --- |\n")
	for _, o := range model.Outcomes {
		if when, ok := d.Outcomes[o]; ok {
			fmt.Fprintf(&b, "| `%s` | %s |\n", o, cell(when))
		}
	}
	return b.String()
}

// anchor is the id GitHub gives the heading "### CM-1 `name`".
func anchor(d control.Definition) string {
	return strings.ToLower(d.ID + "-" + d.Name)
}

// cell makes text fit one Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// joinEvidence lists the kinds of evidence a control reads.
func joinEvidence(es []control.Evidence) string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return strings.Join(out, ", ")
}

// joinPopulations lists the audit populations that carry a control's
// outcome as a column.
func joinPopulations(ps []control.Population) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = "`" + string(p) + "`"
	}
	return strings.Join(out, ", ")
}
