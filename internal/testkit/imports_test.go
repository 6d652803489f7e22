package testkit_test

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// The serving path never depends on generators or fakes: only tests, the
// demo and the bench commands (cmd/) may import them.
func TestServingPathDoesNotImportTestkit(t *testing.T) {
	walkProduction(t, func(rel, path string) {
		if strings.HasPrefix(rel, "cmd/") || strings.HasPrefix(rel, "internal/testkit/") {
			return
		}
		for _, p := range importsOf(t, path) {
			if strings.Contains(p, "/internal/testkit") {
				t.Errorf("%s imports %s: the serving path must not depend on generators or fakes", rel, p)
			}
		}
	})
}

// One-way dependencies, and test support kept out of the serving path: the
// store never imports the controls (rules/change derives changes from the
// rows the store reads, not the other way round), and only tests and the
// bench commands reach the engine beneath a store (store/storetest).
func TestStoreImportsNoRulesAndServingNoStoretest(t *testing.T) {
	walkProduction(t, func(rel, path string) {
		inStore := strings.HasPrefix(rel, "store/")
		for _, p := range importsOf(t, path) {
			if inStore && strings.Contains(p, "/changeproof/rules") {
				t.Errorf("%s imports %s: the store reads rows; what they mean is decided in rules/", rel, p)
			}
			if strings.HasSuffix(p, "/store/storetest") {
				t.Errorf("%s imports %s: the serving path must not reach the engine beneath the store", rel, p)
			}
		}
	})
}

func importsOf(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out = append(out, p)
	}
	return out
}
