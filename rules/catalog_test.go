package rules_test

import (
	"os"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
)

// TestReadmeCatalogue keeps the README's control catalogue identical to the
// definitions. UPDATE_README=1 rewrites it.
func TestReadmeCatalogue(t *testing.T) {
	checkGenerated(t, "../README.md", "controls", rules.CatalogMarkdown(), "UPDATE_README")
}

// TestDocsCatalogue keeps docs/controls.md's summary table and catalogue
// identical to the definitions. UPDATE_DOCS=1 rewrites them.
func TestDocsCatalogue(t *testing.T) {
	checkGenerated(t, "../docs/controls.md", "summary", rules.CatalogTable(), "UPDATE_DOCS")
	checkGenerated(t, "../docs/controls.md", "controls", rules.CatalogMarkdown(), "UPDATE_DOCS")
}

// checkGenerated compares the text between "<!-- name:begin -->" and
// "<!-- name:end -->" in the file at path with want; with the environment
// variable update set to 1 it rewrites that text instead.
func checkGenerated(t *testing.T, path, name, want, update string) {
	t.Helper()
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", path, begin, end)
	}
	if doc[i+len(begin):j] == want {
		return
	}
	if os.Getenv(update) == "1" {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s: the generated %s is out of date: run `%s=1 go test ./rules -run 'Catalogue'`", path, name, update)
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
