package testkit_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the module root, seen from this package's directory.
var repoRoot = filepath.Join("..", "..")

// maxLines is the length past which a Go file must say why it is long.
const maxLines = 700

// longFileReason is how a long file states its reason, in a comment among
// its first lines: "// Long file: <why it is one file>".
const longFileReason = "// Long file:"

// reasonWithin is how many of a file's first lines may hold the reason.
const reasonWithin = 15

// walkProduction calls fn for every .go file of the module that is not a
// test, and fails if the walk found too few to be the module.
func walkProduction(t *testing.T, fn func(rel, path string)) {
	t.Helper()
	checked := 0
	walkGo(t, func(rel, path string) {
		if !strings.HasSuffix(path, "_test.go") {
			checked++
			fn(filepath.ToSlash(rel), path)
		}
	})
	if checked < 100 {
		t.Fatalf("checked only %d files: is the walk rooted at the repository?", checked)
	}
}

// walkGo calls fn for every .go file of the module (testdata, .git and
// bench data left out), with its path relative to the root.
func walkGo(t *testing.T, fn func(rel, path string)) {
	t.Helper()
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bench-data" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			fn(rel, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoLongFilesWithoutReason keeps files small and named for what they
// hold: a Go file over maxLines lines must state, in its first lines, why
// it is one file ("// Long file: ...").
func TestNoLongFilesWithoutReason(t *testing.T) {
	checked := 0
	walkGo(t, func(rel, path string) {
		checked++
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		lines, reason := 0, false
		for sc.Scan() {
			lines++
			if lines <= reasonWithin && strings.HasPrefix(strings.TrimSpace(sc.Text()), longFileReason) {
				reason = true
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if lines > maxLines && !reason {
			t.Errorf("%s has %d lines (over %d) and does not say why in its first %d lines (%q): split it into files named for what they hold", rel, lines, maxLines, reasonWithin, longFileReason+" ...")
		}
	})
	if checked < 100 {
		t.Fatalf("checked only %d Go files: is the walk rooted at the module?", checked)
	}
}

// docPath matches a backticked repository path in the docs: a top-level
// directory of the module, then path characters ("store/write.go",
// "rules/cm1/", "ingest/access/<format>.go" is left out by its "<").
var docPath = regexp.MustCompile("`((?:alert|api|audit|cmd|config|deploy|docs|enrich|ingest|internal|model|pipeline|rules|scripts|store|transport)/[A-Za-z0-9_./-]*)`")

// eachDocPage calls fn with the path (relative to the root) and the text
// of docs/*.md and the README.
func eachDocPage(t *testing.T, fn func(rel, dir, text string)) {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	for _, page := range append(pages, filepath.Join(repoRoot, "README.md")) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, page)
		fn(rel, filepath.Dir(page), string(b))
	}
}

// TestDocsNameRealPaths keeps the README and docs/ honest about the tree:
// every file or folder a page names in backticks exists, so a move that
// forgets the docs fails here.
func TestDocsNameRealPaths(t *testing.T) {
	eachDocPage(t, func(rel, _, text string) {
		for _, m := range docPath.FindAllStringSubmatch(text, -1) {
			p := strings.TrimSuffix(m[1], "/")
			if strings.ContainsAny(p, "*") || strings.HasSuffix(p, "NNN_name.sql") {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
				t.Errorf("%s names %s, which does not exist", rel, m[1])
			}
		}
	})
}

// mdLink matches a relative Markdown link target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)#:\s]+)(#[^)]*)?\)`)

// TestDocsLinksResolve keeps the README's and docs/'s relative links
// pointing at files that exist.
func TestDocsLinksResolve(t *testing.T) {
	eachDocPage(t, func(rel, dir, text string) {
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := filepath.Join(dir, m[1])
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
	})
}
