package main

import (
	"os"
	"testing"
)

// TestCLIReference keeps docs/cli.md identical to the command tree.
// UPDATE_DOCS=1 rewrites it.
func TestCLIReference(t *testing.T) {
	const path = "../../docs/cli.md"
	want := cliReference(newRoot())
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `UPDATE_DOCS=1 go test ./cmd/changeproof -run TestCLIReference`)", err)
	}
	if string(got) != want {
		t.Fatal("docs/cli.md is out of date: run `UPDATE_DOCS=1 go test ./cmd/changeproof -run TestCLIReference`")
	}
}
