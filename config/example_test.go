package config

import (
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The example configuration is the operators' documentation of every key.
// These tests hold it to the struct, so neither can change without the
// other.

const examplePath = "../changeproof.example.yaml"

// specPath is the configuration the project was specified against. It is
// not part of the repository or its documentation (docs/configuration.md
// is): it exists only on the development machines, and on a fresh clone
// TestSpecExampleMatches skips.
const specPath = "/work/shared/spec/example-config.yaml"

var configType = reflect.TypeFor[Config]()

// structKeys collects the dotted key paths of type t: list elements are
// written "[]" and map entries "*", as in "scope.services.*.repos".
func structKeys(t reflect.Type, path string, out map[string]bool) {
	switch shapeOf(t) {
	case shapeSection:
		for i := range t.NumField() {
			f := t.Field(i)
			if k := keyOf(f); k != "" {
				out[join(path, k)] = true
				structKeys(f.Type, join(path, k), out)
			}
		}
	case shapeRecords:
		structKeys(t.Elem(), path+"[]", out)
	case shapeMap:
		structKeys(t.Elem(), path+".*", out)
	}
}

// docKeys collects the key paths a YAML document uses, guided by type t so
// that list elements and map entries are named as structKeys names them.
// Keys the struct lacks are collected too, and not descended into. With
// documented set, every key must carry a comment. A key's comment may show
// the shape of its elements after a line "Example:", as commented YAML
// starting with the key itself; those keys are collected as well.
func docKeys(tb testing.TB, n *yaml.Node, t reflect.Type, path string, documented bool, out map[string]bool) {
	n = resolve(n)
	if n == nil {
		return
	}
	switch shapeOf(t) {
	case shapeSection:
		if n.Kind != yaml.MappingNode {
			return
		}
		for _, e := range entries(n) {
			key := join(path, e.k.Value)
			out[key] = true
			if documented && e.k.HeadComment == "" && e.k.LineComment == "" && e.v.LineComment == "" {
				tb.Errorf("line %d: %s is not documented", e.k.Line, key)
			}
			f, ok := fieldByKey(t, e.k.Value)
			if !ok {
				continue
			}
			if ex, ok := exampleIn(e.k.HeadComment); ok {
				var doc yaml.Node
				if err := yaml.Unmarshal([]byte(ex), &doc); err != nil {
					tb.Errorf("line %d: example of %s: %v\n%s", e.k.Line, key, err, ex)
					continue
				}
				root := resolve(&doc)
				if root == nil || root.Kind != yaml.MappingNode || len(root.Content) != 2 || root.Content[0].Value != e.k.Value {
					tb.Errorf("line %d: example of %s must be a mapping of that one key:\n%s", e.k.Line, key, ex)
					continue
				}
				docKeys(tb, root.Content[1], f.Type, key, false, out)
			}
			docKeys(tb, e.v, f.Type, key, documented, out)
		}
	case shapeRecords:
		if n.Kind == yaml.SequenceNode {
			for _, e := range n.Content {
				docKeys(tb, e, t.Elem(), path+"[]", documented, out)
			}
		}
	case shapeMap:
		if n.Kind == yaml.MappingNode {
			for _, e := range entries(n) {
				docKeys(tb, e.v, t.Elem(), path+".*", documented, out)
			}
		}
	}
}

// exampleIn extracts the commented YAML after "Example:" in a comment.
func exampleIn(comment string) (string, bool) {
	lines := strings.Split(comment, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(strings.TrimPrefix(l, "#")) == "Example:" })
	if i < 0 {
		return "", false
	}
	body := lines[i+1:]
	indent := -1
	for j, l := range body {
		l = strings.TrimPrefix(l, "#")
		body[j] = l
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); indent < 0 || n < indent {
			indent = n
		}
	}
	for j, l := range body {
		if len(l) >= indent && indent > 0 {
			body[j] = l[indent:]
		}
	}
	return strings.Join(body, "\n"), true
}

func readYAML(t *testing.T, path string) *yaml.Node {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func TestExampleLoadsAsTheDefaults(t *testing.T) {
	cfg, err := LoadWithEnv(examplePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameConfig(t, cfg, Default())
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	want := map[string]bool{}
	structKeys(configType, "", want)
	got := map[string]bool{}
	docKeys(t, readYAML(t, examplePath), configType, "", true, got)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !got[k] {
			t.Errorf("key %s is missing from %s", k, examplePath)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if !want[k] {
			t.Errorf("%s documents %s, which is no key", examplePath, k)
		}
	}
}

// TestSpecExampleMatches holds the struct to the specified configuration,
// where that file is present: every key it names is a key here, and its
// values are the defaults (except server.tokens, where it shows the shape
// of an entry).
func TestSpecExampleMatches(t *testing.T) {
	data, err := os.ReadFile(specPath)
	if os.IsNotExist(err) {
		t.Skipf("%s not present", specPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	root, err := parseDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range checkNode(root, configType, "") {
		t.Error(err)
	}
	cfg := Default()
	if err := root.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Server.Tokens = nil
	sameConfig(t, cfg, Default())

	// Every key the spec names is in the example; the example may add the
	// *_file siblings.
	spec, example := map[string]bool{}, map[string]bool{}
	docKeys(t, root, configType, "", false, spec)
	docKeys(t, readYAML(t, examplePath), configType, "", false, example)
	for k := range spec {
		if !example[k] {
			t.Errorf("spec key %s is missing from %s", k, examplePath)
		}
	}
}
