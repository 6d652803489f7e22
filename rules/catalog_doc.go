package rules

import (
	"fmt"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// CatalogMarkdown renders the control catalogue from the definitions; the
// README embeds it and a test keeps the two identical.
func CatalogMarkdown() string {
	var b strings.Builder
	for _, d := range Catalogue() {
		fmt.Fprintf(&b, "### %s `%s`\n\n", d.ID, d.Name)
		fmt.Fprintf(&b, "**Question:** %s\n\n", d.Question)
		fmt.Fprintf(&b, "**Subjects:** %s\n\n", d.Subjects)
		b.WriteString("| outcome | when |\n| --- | --- |\n")
		for _, o := range model.Outcomes {
			if when, ok := d.Outcomes[o]; ok {
				fmt.Fprintf(&b, "| `%s` | %s |\n", o, strings.ReplaceAll(when, "|", `\|`))
			}
		}
		fmt.Fprintf(&b, "\n**Remediation:** %s\n\n", d.Remediation)
		fmt.Fprintf(&b, "**Evidence:** %s. **Alerts:** %s.", joinEvidence(d.Evidence), d.Alert)
		if len(d.DependsOn) > 0 {
			fmt.Fprintf(&b, " **Depends on:** %s.", strings.Join(d.DependsOn, ", "))
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

func joinEvidence(es []control.Evidence) string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return strings.Join(out, ", ")
}
