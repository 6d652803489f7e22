package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix begins every environment variable that sets a configuration
// key. The rest of the name is the key's dotted path with "." replaced by
// "_", upper-cased: policy.min_approvals is CHANGEPROOF_POLICY_MIN_APPROVALS
// and kafka.sasl.mechanism is CHANGEPROOF_KAFKA_SASL_MECHANISM.
//
// Every key that is not itself a section has a variable, and keys inside
// lists or maps have none: server.tokens, identities, waivers,
// scope.services and access.systems are each set whole, from a YAML or JSON
// document. A list of strings takes "a,b,c" or a YAML flow list "[a, b]"
// ("[]" for none). An empty variable counts as unset, because container
// tooling passes an unset variable on as an empty one.
//
// Names of the form CHANGEPROOF_<SECTION>_* belong to the configuration:
// one that names no key is an error, as an unknown key in the file is.
const EnvPrefix = "CHANGEPROOF_"

// envVar is a key the environment can set.
type envVar struct {
	name    string       // CHANGEPROOF_POLICY_MIN_APPROVALS
	key     string       // policy.min_approvals
	index   []int        // the field, from Config
	typ     reflect.Type // the field's type
	sibling string       // for a secret or its _file: the other one's name
}

// envVars lists the variables, in the order of the struct's fields so that
// errors come out in a stable order.
var envVars = sync.OnceValue(func() []envVar {
	var vars []envVar
	var walk func(t reflect.Type, key string, index []int)
	walk = func(t reflect.Type, path string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			k := keyOf(f)
			if k == "" {
				continue
			}
			key, idx := join(path, k), append(slices.Clone(index), i)
			if shapeOf(f.Type) == shapeSection {
				walk(f.Type, key, idx)
				continue
			}
			v := envVar{name: envName(key), key: key, index: idx, typ: f.Type}
			if isSecret(f) {
				v.sibling = envName(fileKey(key))
			} else if base, ok := strings.CutSuffix(k, "_file"); ok {
				if sf, ok := fieldByKey(t, base); ok && isSecret(sf) {
					v.sibling = envName(join(path, base))
				}
			}
			vars = append(vars, v)
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	seen := map[string]string{}
	for _, v := range vars {
		if other, dup := seen[v.name]; dup {
			panic(fmt.Sprintf("config: keys %s and %s both map to %s", other, v.key, v.name))
		}
		seen[v.name] = v.key
	}
	return vars
})

// envName is the variable that sets the key at a dotted path.
func envName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// applyEnv sets cfg's keys from the environment entries in env.
func applyEnv(cfg *Config, env []string) error {
	vals := map[string]string{}
	for _, kv := range env {
		if name, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, EnvPrefix) && val != "" {
			vals[name] = val
		}
	}
	if len(vals) == 0 {
		return nil
	}
	root := reflect.ValueOf(cfg).Elem()
	var errs []error
	set := map[string]bool{}
	known := map[string]envVar{}
	for _, v := range envVars() {
		known[v.name] = v
		raw, ok := vals[v.name]
		if !ok {
			continue
		}
		val, err := parseEnv(v, raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("env %s (%s): %w", v.name, v.key, err))
			continue
		}
		root.FieldByIndex(v.index).Set(val)
		set[v.name] = true
	}
	// A secret given in the environment replaces the file's, however the
	// file gave it: setting CHANGEPROOF_GITHUB_TOKEN_FILE over a file that
	// has github.token is an override, not a conflict.
	for name := range set {
		if sib := known[name].sibling; sib != "" && !set[sib] {
			f := root.FieldByIndex(known[sib].index)
			f.Set(reflect.Zero(f.Type()))
		}
	}
	sections := map[string]bool{}
	for i := range reflect.TypeFor[Config]().NumField() {
		sections[envName(keyOf(reflect.TypeFor[Config]().Field(i)))+"_"] = true
	}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if _, ok := known[name]; ok {
			continue
		}
		for s := range sections {
			if strings.HasPrefix(name, s) {
				errs = append(errs, fmt.Errorf("env %s: no configuration key has this name", name))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// parseEnv turns a variable's text into a value for v's field.
func parseEnv(v envVar, raw string) (reflect.Value, error) {
	t := v.typ
	switch shapeOf(t) {
	case shapeScalar:
		p := reflect.New(t)
		if u, ok := p.Interface().(yaml.Unmarshaler); ok {
			if err := u.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: raw}); err != nil {
				return reflect.Value{}, err
			}
			return p.Elem(), nil
		}
		switch t.Kind() {
		case reflect.String:
			// Verbatim: a secret may have any spaces or "#" in it.
			p.Elem().SetString(raw)
		case reflect.Int:
			n, err := strconv.Atoi(strings.TrimSpace(raw))
			if err != nil {
				return reflect.Value{}, fmt.Errorf("must be %s, got %q", want(t), raw)
			}
			p.Elem().SetInt(int64(n))
		case reflect.Bool:
			b, err := strconv.ParseBool(strings.TrimSpace(raw))
			if err != nil {
				return reflect.Value{}, fmt.Errorf("must be %s, got %q", want(t), raw)
			}
			p.Elem().SetBool(b)
		}
		return p.Elem(), nil
	case shapeList:
		if s := strings.TrimSpace(raw); !strings.HasPrefix(s, "[") {
			list := reflect.MakeSlice(t, 0, 0)
			for item := range strings.SplitSeq(s, ",") {
				item = strings.TrimSpace(item)
				switch {
				case item == "":
				case t.Elem().Kind() == reflect.Int:
					n, err := strconv.Atoi(item)
					if err != nil {
						return reflect.Value{}, fmt.Errorf("must be %s, got %q", want(t), raw)
					}
					list = reflect.Append(list, reflect.ValueOf(n).Convert(t.Elem()))
				default:
					list = reflect.Append(list, reflect.ValueOf(item).Convert(t.Elem()))
				}
			}
			return list, nil
		}
	}
	return parseEnvDocument(v, raw)
}

// parseEnvDocument decodes a variable holding a YAML or JSON document,
// as strictly as the file.
func parseEnvDocument(v envVar, raw string) (reflect.Value, error) {
	root, err := parseDocument([]byte(raw))
	if err != nil {
		return reflect.Value{}, err
	}
	p := reflect.New(v.typ)
	if root == nil {
		return p.Elem(), nil
	}
	if errs := checkNode(root, v.typ, v.key); len(errs) > 0 {
		return reflect.Value{}, errors.Join(errs...)
	}
	if err := root.Decode(p.Interface()); err != nil {
		return reflect.Value{}, errors.New(yamlMessage(err))
	}
	return p.Elem(), nil
}
