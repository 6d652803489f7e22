package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ---------------------------------------------------------------------------
// YAML helpers

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := yamlDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// yamlDocs parses every non-empty document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			out = append(out, doc)
		}
	}
	return out
}

// mapAt returns m[key] as a mapping.
func mapAt(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%q is %T (%v), want a mapping", key, m[key], m[key])
	}
	return v
}

func mapOr(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(t *testing.T, v any) []map[string]any {
	t.Helper()
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is %T, want a list", v, v)
	}
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("list element %v is %T, want a mapping", e, e)
		}
		out = append(out, m)
	}
	return out
}

// strList reads a list of scalars, or one string (a shell-form command).
func strList(t *testing.T, v any) []string {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = str(e)
		}
		return out
	}
	t.Fatalf("%v is %T, want a list", v, v)
	return nil
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// envMap reads a compose environment, mapping or NAME=value list.
func envMap(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch v := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range v {
			out[k] = str(e)
		}
	case []any:
		for _, e := range v {
			k, val, _ := strings.Cut(str(e), "=")
			out[k] = val
		}
	default:
		t.Fatalf("environment is %T, want a mapping or list", v)
	}
	return out
}

// flagValue is the argument after name in args ("" if none).
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
