package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration every command runs with: the defaults, then
// the YAML file at path ("" for none), then CHANGEPROOF_* environment
// variables, then the *_file secrets. It returns the result only if
// Validate accepts it, so a loaded Config is always usable.
func Load(path string) (Config, error) {
	return LoadWithEnv(path, os.Environ())
}

// LoadWithEnv is Load with the environment given as "NAME=value" entries
// (the form of os.Environ), so tests need not touch the process
// environment. When a name repeats, the last entry wins, as with os/exec.
func LoadWithEnv(path string, env []string) (Config, error) {
	cfg := Default()
	prefix := "config: "
	if path != "" {
		prefix = "config " + path + ": "
		if err := decodeFile(path, &cfg); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return Config{}, err
	}
	if err := resolveSecrets(&cfg); err != nil {
		return Config{}, prefixed(prefix, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, prefixed(prefix, err)
	}
	return cfg, nil
}

// decodeFile decodes the YAML file at path onto cfg. Every unknown key and
// every ill-typed value is reported at once, by dotted path and line.
func decodeFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return decodeBytes(data, "config "+path+": ", cfg)
}

// decodeBytes is decodeFile on the file's content; errors start with prefix.
func decodeBytes(data []byte, prefix string, cfg *Config) error {
	root, err := parseDocument(data)
	if err != nil {
		return errors.New(prefix + err.Error())
	}
	if root == nil {
		return nil // empty file: the defaults stand
	}
	if errs := checkNode(root, reflect.TypeFor[Config](), ""); len(errs) > 0 {
		return prefixed(prefix, errors.Join(errs...))
	}
	// checkNode has vetted the document; the strict decoder remains as
	// a second line of defence should the two ever disagree.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return errors.New(prefix + yamlMessage(err))
	}
	return nil
}

// parseDocument parses exactly one YAML document; nil means there is none.
// A second document is refused because the decoder would ignore it.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, errors.New(yamlMessage(err))
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, errors.New(yamlMessage(err))
	default:
		return nil, fmt.Errorf("line %d: a second YAML document; the configuration is one document", extra.Line)
	}
	return &root, nil
}

// checkNode compares a YAML node with the Go type it will be decoded into
// and reports each key the type lacks and each value that does not fit,
// naming its dotted path (server.tokens[0].role) and line. yaml.v3's own
// errors name neither the path nor, for a bad duration, the line.
func checkNode(n *yaml.Node, t reflect.Type, path string) []error {
	n = resolve(n)
	if n == nil || n.ShortTag() == "!!null" {
		return nil // an empty value keeps the default
	}
	var errs []error
	bad := func(format string, args ...any) []error {
		msg := fmt.Sprintf(format, args...)
		if path == "" {
			return []error{fmt.Errorf("line %d: the configuration %s", n.Line, msg)}
		}
		return []error{fmt.Errorf("line %d: %s: %s", n.Line, path, msg)}
	}
	switch shapeOf(t) {
	case shapeScalar, shapeList:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				return bad("must be %s, got %s", want(t), describe(n))
			}
			return bad("%s", err) // our own UnmarshalYAML says what it wants
		}
	case shapeSection:
		if n.Kind != yaml.MappingNode {
			return bad("must be a mapping of keys, got %s", describe(n))
		}
		seen := map[string]int{}
		for _, e := range entries(n) {
			key := join(path, e.k.Value)
			if first, dup := seen[e.k.Value]; dup && !e.merged {
				errs = append(errs, fmt.Errorf("line %d: duplicate key %q (first at line %d)", e.k.Line, key, first))
				continue
			}
			if !e.merged {
				seen[e.k.Value] = e.k.Line
			}
			f, ok := fieldByKey(t, e.k.Value)
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: unknown key %q", e.k.Line, key))
				continue
			}
			errs = append(errs, checkNode(e.v, f.Type, key)...)
		}
	case shapeRecords:
		if n.Kind != yaml.SequenceNode {
			return bad("must be a list, got %s", describe(n))
		}
		for i, e := range n.Content {
			errs = append(errs, checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case shapeMap:
		if n.Kind != yaml.MappingNode {
			return bad("must be a mapping of names, got %s", describe(n))
		}
		for _, e := range entries(n) {
			errs = append(errs, checkNode(e.v, t.Elem(), join(path, e.k.Value))...)
		}
	}
	return errs
}

// entry is one key and value of a mapping; merged marks one that came in
// through a YAML merge key ("<<: *base"), which the mapping may override.
type entry struct {
	k, v   *yaml.Node
	merged bool
}

// entries lists a mapping's keys and values, merge keys flattened.
func entries(n *yaml.Node) []entry {
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() != "!!merge" {
			out = append(out, entry{k: k, v: v})
			continue
		}
		v = resolve(v)
		merged := []*yaml.Node{v}
		if v != nil && v.Kind == yaml.SequenceNode {
			merged = v.Content
		}
		for _, m := range merged {
			if m = resolve(m); m != nil && m.Kind == yaml.MappingNode {
				for _, e := range entries(m) {
					e.merged = true
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// resolve looks through documents and aliases to the node that holds the
// value.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.DocumentNode:
			return nil
		case n.Kind == yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// yamlMessage drops yaml.v3's "yaml: " prefix, which says nothing to
// someone editing a configuration file.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// prefixed puts prefix before every error err joins, so each line of a
// multi-line report says where it comes from.
func prefixed(prefix string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s%w", prefix, e)
	}
	return errors.Join(out...)
}
