// Package golden keeps generated documentation in step with the code it is
// generated from: a test renders the text, and golden compares it with the
// file (or the marked section of a file), failing with the command that
// regenerates it, or rewriting it when the update variable is set to 1.
package golden

import (
	"os"
	"strings"
	"testing"
)

// File checks that the file at path holds exactly want. With the
// environment variable update set to 1 it writes want instead; regen is the
// command the failure message gives.
func File(t testing.TB, path, want, update, regen string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err == nil && string(got) == want {
		return
	}
	if os.Getenv(update) == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v: run `%s`", path, err, regen)
	}
	t.Fatalf("%s is out of date: run `%s`", path, regen)
}

// Section checks the text between the lines "<!-- name:begin -->" and
// "<!-- name:end -->" of the file at path, as File checks a whole file.
func Section(t testing.TB, path, name, want, update, regen string) {
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
	t.Fatalf("%s: the generated %s section is out of date: run `%s`", path, name, regen)
}
