package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestHTTPDocEndpoints keeps the endpoint table of docs/http.md identical
// to api/openapi.json: one row per operation, in the document's order.
// UPDATE_DOCS=1 rewrites it.
func TestHTTPDocEndpoints(t *testing.T) {
	const path, begin, end = "../docs/http.md", "<!-- endpoints:begin -->\n", "<!-- endpoints:end -->"
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	// Paths keep the document's order: decode them as a token stream.
	var doc struct {
		Paths json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("| method | path | what | token |\n| --- | --- | --- | --- |\n")
	for _, p := range orderedKeys(t, doc.Paths) {
		var ops map[string]json.RawMessage
		if err := json.Unmarshal(p.value, &ops); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"get", "post", "put", "patch", "delete"} {
			op, ok := ops[m]
			if !ok {
				continue
			}
			var o struct {
				Summary  string             `json:"summary"`
				Security []map[string][]any `json:"security"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatal(err)
			}
			token := "no"
			if len(o.Security) > 0 {
				token = "bearer"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", strings.ToUpper(m), p.key, o.Summary, token)
		}
	}
	want := b.String()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", path, begin, end)
	}
	if s[i+len(begin):j] == want {
		return
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s: the endpoint table is out of date: run `UPDATE_DOCS=1 go test ./api -run TestHTTPDocEndpoints`", path)
}

type keyed struct {
	key   string
	value json.RawMessage
}

// orderedKeys returns a JSON object's members in document order.
func orderedKeys(t *testing.T, obj json.RawMessage) []keyed {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(obj)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("paths is not an object: %v %v", tok, err)
	}
	var out []keyed
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, keyed{key: tok.(string), value: v})
	}
	return out
}
