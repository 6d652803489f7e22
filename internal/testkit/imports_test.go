package testkit_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The serving path never depends on generators or fakes: only tests, the
// demo and the bench commands (cmd/) may import them.
func TestServingPathDoesNotImportTestkit(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == ".git" || rel == "cmd" || rel == filepath.Join("internal", "testkit") || strings.HasSuffix(rel, "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(p, "/internal/testkit") {
				t.Errorf("%s imports %s: the serving path must not depend on generators or fakes", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files: is the walk rooted at the repository?", checked)
	}
}

// One-way dependencies, and test support kept out of the serving path: the
// store never imports the controls (rules/change derives changes from the
// rows the store reads, not the other way round), and only tests and the
// bench commands reach the engine beneath a store (store/storetest).
func TestStoreImportsNoRulesAndServingNoStoretest(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == ".git" || strings.HasSuffix(rel, "testdata") || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		inStore := strings.HasPrefix(filepath.ToSlash(rel), "store/")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if inStore && strings.Contains(p, "/changeproof/rules") {
				t.Errorf("%s imports %s: the store reads rows; what they mean is decided in rules/", rel, p)
			}
			if strings.HasSuffix(p, "/store/storetest") {
				t.Errorf("%s imports %s: the serving path must not reach the engine beneath the store", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files: is the walk rooted at the repository?", checked)
	}
}
