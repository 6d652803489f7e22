package rules_test

import (
	"os"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules"
)

const begin, end = "<!-- controls:begin -->\n", "<!-- controls:end -->"

// TestReadmeCatalogue keeps the README's control catalogue identical to the
// definitions. UPDATE_README=1 rewrites it.
func TestReadmeCatalogue(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", begin, end)
	}
	want := rules.CatalogMarkdown()
	if readme[i+len(begin):j] == want {
		return
	}
	if os.Getenv("UPDATE_README") == "1" {
		if err := os.WriteFile("../README.md", []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("README.md control catalogue is out of date: run `UPDATE_README=1 go test ./rules -run TestReadmeCatalogue`")
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
