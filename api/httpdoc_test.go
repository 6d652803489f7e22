package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/golden"
)

// TestHTTPDocEndpoints keeps the endpoint table of docs/http.md identical
// to api/openapi.json: one row per operation, in the document's order.
// UPDATE_DOCS=1 rewrites it.
func TestHTTPDocEndpoints(t *testing.T) {
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
	golden.Section(t, "../docs/http.md", "endpoints", b.String(), "UPDATE_DOCS",
		"UPDATE_DOCS=1 go test ./api -run TestHTTPDocEndpoints")
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
