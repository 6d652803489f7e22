package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The schema is the Config struct itself: strict decoding, environment
// variable names and secret files are all derived from its yaml tags, so a
// new field is configurable everywhere the moment it is declared.

// shape is how a Go type appears in the configuration.
type shape int

const (
	shapeScalar  shape = iota // string, int, bool, or a type with its own UnmarshalYAML
	shapeList                 // []string or []int
	shapeSection              // struct: a mapping of known keys
	shapeRecords              // []struct: a list of sections
	shapeMap                  // map[string]struct: free names to sections
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func shapeOf(t reflect.Type) shape {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return shapeScalar
	}
	switch t.Kind() {
	case reflect.Struct:
		return shapeSection
	case reflect.Slice:
		if k := t.Elem().Kind(); k == reflect.String || k == reflect.Int {
			return shapeList
		}
		return shapeRecords
	case reflect.Map:
		return shapeMap
	case reflect.String, reflect.Bool, reflect.Int:
		return shapeScalar
	}
	panic(fmt.Sprintf("config: no configuration shape for %v", t))
}

// keyOf returns the key field f is written as, or "" if it has none.
func keyOf(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// fieldByKey finds the field of struct type t written as key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); keyOf(f) == key && key != "" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// isSecret reports whether f holds a secret that may come from a
// <key>_file sibling and must be redacted.
func isSecret(f reflect.StructField) bool { return f.Tag.Get("secret") == "true" }

// fileKey is the key of the sibling that names a secret's file.
func fileKey(key string) string { return key + "_file" }

// join appends key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names what a YAML node holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return describe(n.Alias)
	}
	return fmt.Sprintf("%q", n.Value)
}

// want says what a scalar or list type must look like.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Int {
			return "a list of integers"
		}
		return "a list of strings"
	}
	return "a string"
}
