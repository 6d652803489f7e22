package rules_test

import (
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/golden"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
)

// TestReadmeCatalogue keeps the README's control catalogue identical to the
// definitions. UPDATE_README=1 rewrites it.
func TestReadmeCatalogue(t *testing.T) {
	golden.Section(t, "../README.md", "controls", rules.CatalogMarkdown(), "UPDATE_README",
		"UPDATE_README=1 go test ./rules -run TestReadmeCatalogue")
}

// TestDocsCatalogue keeps docs/controls.md's summary table and catalogue
// identical to the definitions. UPDATE_DOCS=1 rewrites them.
func TestDocsCatalogue(t *testing.T) {
	const regen = "UPDATE_DOCS=1 go test ./rules -run TestDocsCatalogue"
	golden.Section(t, "../docs/controls.md", "summary", rules.CatalogTable(), "UPDATE_DOCS", regen)
	golden.Section(t, "../docs/controls.md", "controls", rules.CatalogMarkdown(), "UPDATE_DOCS", regen)
}

func TestDefinitionsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range rules.Catalogue() {
		if d.ID == "" || d.Name == "" || d.Question == "" || d.Subjects == "" || d.Remediation == "" || len(d.Outcomes) == 0 {
			t.Errorf("%s: incomplete definition %+v", d.ID, d)
		}
		if seen[d.ID] {
			t.Errorf("%s defined twice", d.ID)
		}
		seen[d.ID] = true
		for o := range d.Outcomes {
			found := false
			for _, k := range model.Outcomes {
				found = found || k == o
			}
			if !found {
				t.Errorf("%s: unknown outcome %q", d.ID, o)
			}
		}
	}
}
