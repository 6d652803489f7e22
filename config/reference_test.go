package config

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/golden"
)

// docs/configuration.md is generated from this package: its keys and
// types from the Config struct (yaml tags), each key's text from the doc
// comment of its field, its default from Default(), its environment
// variable from the names Load accepts. TestConfigurationReference fails
// when the file is stale; UPDATE_DOCS=1 rewrites it.

const referencePath = "../docs/configuration.md"

func TestConfigurationReference(t *testing.T) {
	golden.File(t, referencePath, configurationReference(t), "UPDATE_DOCS",
		"UPDATE_DOCS=1 go test ./config -run TestConfigurationReference")
}

// TestEveryKeyDocumented refuses a configuration field without a doc
// comment: its comment is the only text the reference has for it. A field
// may share the comment of the field declared just before it on the
// following line (TLSCertFile and TLSKeyFile).
func TestEveryKeyDocumented(t *testing.T) {
	src := parseSource(t)
	var check func(rt reflect.Type, path string)
	check = func(rt reflect.Type, path string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			k := keyOf(f)
			if k == "" {
				continue
			}
			if src.fieldDoc(rt.Name(), f.Name) == "" && src.shared[rt.Name()+"."+f.Name] == "" {
				t.Errorf("%s (%s.%s) has no doc comment", join(path, k), rt.Name(), f.Name)
			}
			if inner := elemStruct(f.Type); inner != nil {
				check(inner, join(path, k))
			}
		}
	}
	check(configType, "")
}

// source is what the reference reads from the package's Go files.
type source struct {
	pkgDoc string
	// docs maps "Type.Field" to the field's doc comment, and "Type" to
	// the type's.
	docs map[string]string
	// shared maps "Type.Field" of a field without a comment to the field
	// declared before it, whose comment covers both.
	shared map[string]string
	// consts maps the package's exported constants to their literal
	// values, so comments naming them can show the value.
	consts map[string]string
	// envPrefixDoc is EnvPrefix's doc comment: how variables are named.
	envPrefixDoc string
}

func (s source) fieldDoc(typ, field string) string { return s.docs[typ+"."+field] }

func parseSource(t *testing.T) source {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	pkg, ok := pkgs["config"]
	if !ok {
		t.Fatal("no package config in .")
	}
	s := source{docs: map[string]string{}, shared: map[string]string{}, consts: map[string]string{}}
	var files []*ast.File
	for _, f := range pkg.Files {
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/changeproof/changeproof/config", doc.PreserveAST)
	if err != nil {
		t.Fatal(err)
	}
	s.pkgDoc = p.Doc
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if !ok {
				return true
			}
			for _, spec := range gd.Specs {
				switch sp := spec.(type) {
				case *ast.TypeSpec:
					st, ok := sp.Type.(*ast.StructType)
					if !ok {
						continue
					}
					if gd.Doc != nil {
						s.docs[sp.Name.Name] = gd.Doc.Text()
					}
					prev := ""
					for _, fl := range st.Fields.List {
						for _, name := range fl.Names {
							key := sp.Name.Name + "." + name.Name
							if fl.Doc != nil {
								s.docs[key] = fl.Doc.Text()
							} else if fl.Comment != nil {
								s.docs[key] = fl.Comment.Text()
							} else if prev != "" {
								s.shared[key] = prev
							}
							prev = name.Name
						}
					}
				case *ast.ValueSpec:
					for i, name := range sp.Names {
						if name.Name == "EnvPrefix" && gd.Doc != nil {
							s.envPrefixDoc = gd.Doc.Text()
						}
						if !name.IsExported() || i >= len(sp.Values) {
							continue
						}
						if lit, ok := sp.Values[i].(*ast.BasicLit); ok {
							s.consts[name.Name] = lit.Value
						}
					}
				}
			}
			return true
		})
	}
	return s
}

// elemStruct is the struct a field's value is made of (itself, a list's
// element, a map's value), or nil for scalars and lists of strings.
func elemStruct(t reflect.Type) reflect.Type {
	switch shapeOf(t) {
	case shapeSection:
		return t
	case shapeRecords, shapeMap:
		return t.Elem()
	}
	return nil
}

// configurationReference renders docs/configuration.md.
func configurationReference(t *testing.T) string {
	src := parseSource(t)
	env := map[string]string{}
	for _, v := range envVars() {
		env[v.key] = v.name
	}
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from the config package (config/*.go) by
     TestConfigurationReference; do not edit. Run
     UPDATE_DOCS=1 go test ./config -run TestConfigurationReference -->

`)
	b.WriteString(prose(src.pkgDoc))
	b.WriteString(`
The annotated example [changeproof.example.yaml](../changeproof.example.yaml)
sets every key to its default; a test keeps it in step with the struct.
This page lists every key: its type, its default (from ` + "`config.Default`" + `),
the environment variable that sets it, and what it does (the doc comment of
its field in ` + "`config/`" + `).

## Environment variables

`)
	b.WriteString(prose(src.envPrefixDoc))
	b.WriteString(`
## Secrets

A key marked *secret* may instead be read from a file named by its
` + "`<key>_file`" + ` sibling (trailing newlines trimmed), so the secret need
not be written into the configuration; setting both is an error. Secrets
are redacted wherever the configuration is shown.
`)
	def := reflect.ValueOf(Default())
	for i := range configType.NumField() {
		f := configType.Field(i)
		k := keyOf(f)
		if k == "" {
			continue
		}
		fmt.Fprintf(&b, "\n## `%s`\n\n", k)
		b.WriteString(prose(src.text(configType, f)))
		writeSection(&b, src, env, f.Type, k, def.Field(i), true)
	}
	return b.String()
}

// writeSection writes the table of a section's keys, then the sections
// within it (nested sections, list elements, map values). hasDefault is
// false inside lists and maps, whose entries are written whole.
func writeSection(b *strings.Builder, src source, env map[string]string, t reflect.Type, path string, def reflect.Value, hasDefault bool) {
	var nested []func()
	if elem := elemStruct(t); elem != nil && elem != t {
		// A list of records or a map of sections: the whole value's row
		// (in the parent's table, or here for a top-level key), then the
		// keys of one entry, which has no defaults of its own.
		if !strings.Contains(path, ".") {
			b.WriteString("\n| key | type | default | environment |\n| --- | --- | --- | --- |\n")
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, typeOf(t, false), defaultOf(def, hasDefault), envOf(env, path))
		}
		entry := path + "[]"
		if shapeOf(t) == shapeMap {
			entry = path + ".<name>"
		}
		fmt.Fprintf(b, "\nEach entry (`%s`):\n", entry)
		if d := src.docs[elem.Name()]; d != "" {
			b.WriteString("\n" + prose(src.expand(elem, d)))
		}
		writeSection(b, src, env, elem, entry, reflect.Value{}, false)
		return
	}
	if !hasDefault {
		b.WriteString("\n| key | type | description |\n| --- | --- | --- |\n")
		for i := range t.NumField() {
			f := t.Field(i)
			if k := keyOf(f); k != "" {
				fmt.Fprintf(b, "| `%s` | %s | %s |\n", join(path, k), typeOf(f.Type, isSecret(f)), cell(src.text(t, f)))
			}
		}
		return
	}
	b.WriteString("\n| key | type | default | environment | description |\n| --- | --- | --- | --- | --- |\n")
	for i := range t.NumField() {
		f := t.Field(i)
		k := keyOf(f)
		if k == "" {
			continue
		}
		key := join(path, k)
		var v reflect.Value
		if def.IsValid() {
			v = def.Field(i)
		}
		if elemStruct(f.Type) != nil {
			ft, fv := f.Type, v
			dflt, envName := "see below", ""
			if shapeOf(ft) != shapeSection {
				dflt, envName = defaultOf(v, hasDefault), envOf(env, key)
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", key, typeOf(ft, false), dflt, envName, cell(src.text(t, f)))
			nested = append(nested, func() {
				fmt.Fprintf(b, "\n### `%s`\n", key)
				if d := src.docs[ft.Name()]; d != "" && shapeOf(ft) == shapeSection {
					b.WriteString("\n" + prose(src.expand(ft, d)))
				}
				writeSection(b, src, env, ft, key, fv, hasDefault)
			})
			continue
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", key, typeOf(f.Type, isSecret(f)), defaultOf(v, hasDefault), envOf(env, key), cell(src.text(t, f)))
	}
	for _, n := range nested {
		n()
	}
}

// text is field f's doc comment (or the comment it shares), with the Go
// names of the struct's fields replaced by their keys and the package's
// constants by their values.
func (s source) text(t reflect.Type, f reflect.StructField) string {
	d := s.fieldDoc(t.Name(), f.Name)
	if d == "" {
		if prev := s.shared[t.Name()+"."+f.Name]; prev != "" {
			if pf, ok := t.FieldByName(prev); ok {
				return fmt.Sprintf("See `%s`.", keyOf(pf))
			}
		}
	}
	if rest, ok := strings.CutPrefix(d, f.Name+" "); ok {
		d = "`" + keyOf(f) + "` " + rest // APIURL is ...
	}
	return s.expand(t, d)
}

var goName = regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)?\b`)

// expand rewrites Go identifiers in a comment into what a reader of the
// configuration sees: a field of t, or Type.Field of this package, becomes
// its key; an exported constant becomes its value.
func (s source) expand(t reflect.Type, d string) string {
	return goName.ReplaceAllStringFunc(d, func(name string) string {
		if typ, field, ok := strings.Cut(name, "."); ok {
			if rt := typeNamed(typ); rt != nil {
				if f, ok := rt.FieldByName(field); ok && keyOf(f) != "" {
					return "`" + keyOf(f) + "`"
				}
			}
			return name
		}
		// All-capital names (TLS, SASL) are words before they are fields.
		if f, ok := t.FieldByName(name); ok && keyOf(f) != "" && name != strings.ToUpper(name) {
			return "`" + keyOf(f) + "`"
		}
		if v, ok := s.consts[name]; ok {
			if _, err := strconv.Atoi(v); err == nil {
				return v
			}
			return "`" + strings.Trim(v, "`") + "`"
		}
		return name
	})
}

// typeNamed finds a struct type of the configuration by its Go name.
func typeNamed(name string) reflect.Type {
	var found reflect.Type
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if t.Name() == name {
			found = t
		}
		for i := range t.NumField() {
			if e := elemStruct(t.Field(i).Type); e != nil && found == nil {
				walk(e)
			}
		}
	}
	walk(configType)
	return found
}

// typeOf names a key's type as the YAML author writes it.
func typeOf(t reflect.Type, secret bool) string {
	s := ""
	switch {
	case t == reflect.TypeFor[Duration]():
		s = "duration"
	case t == reflect.TypeFor[Expiry](), t == reflect.TypeFor[Instant]():
		s = "date or RFC 3339 time"
	default:
		switch shapeOf(t) {
		case shapeList:
			s = "list of strings"
			if t.Elem().Kind() == reflect.Int {
				s = "list of integers"
			}
		case shapeRecords:
			s = "list of entries"
		case shapeMap:
			s = "map of name to entry"
		case shapeSection:
			s = "section"
		default:
			switch t.Kind() {
			case reflect.Int:
				s = "integer"
			case reflect.Bool:
				s = "boolean"
			default:
				s = "string"
			}
		}
	}
	if secret {
		s += ", secret"
	}
	return s
}

// defaultOf renders a default value as YAML would write it.
func defaultOf(v reflect.Value, has bool) string {
	if !has || !v.IsValid() {
		return ""
	}
	switch x := v.Interface().(type) {
	case Duration:
		return "`" + shortDuration(x.Std()) + "`"
	case Expiry, Instant:
		return "none"
	}
	switch v.Kind() {
	case reflect.String:
		return "`" + strconv.Quote(v.String()) + "`"
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return "none"
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String {
			q := make([]string, v.Len())
			for i := range q {
				q[i] = strconv.Quote(v.Index(i).String())
			}
			return "`[" + strings.Join(q, ", ") + "]`"
		}
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

// shortDuration drops the zero units time.Duration.String writes (72h, not
// 72h0m0s), which is how the example configuration writes them.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func envOf(env map[string]string, key string) string {
	if name, ok := env[key]; ok {
		return "`" + name + "`"
	}
	return ""
}

// prose is a doc comment as Markdown paragraphs.
func prose(d string) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(d), "\n\n") {
		if para = strings.TrimSpace(para); para != "" {
			out = append(out, para)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n\n") + "\n"
}

// cell is a doc comment on one table row.
func cell(d string) string {
	d = strings.Join(strings.Fields(d), " ")
	return strings.ReplaceAll(d, "|", `\|`)
}

// defaultSentence finds the default a doc comment states: "Default X" (a
// value) or "Default: none/empty/zero ..." (the zero value).
var defaultSentence = regexp.MustCompile(`Default(:)? ("[^"]*"|\[[^\]]*\]|[^\s;,(:]+)`)

// TestCommentDefaultsAgree holds the defaults the doc comments state to
// Default(): the comment is what docs/configuration.md prints next to the
// value, so the two must not disagree. A key with a default has a comment
// that states it.
func TestCommentDefaultsAgree(t *testing.T) {
	src := parseSource(t)
	var walk func(rt reflect.Type, v reflect.Value, path string)
	walk = func(rt reflect.Type, v reflect.Value, path string) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			k := keyOf(f)
			if k == "" {
				continue
			}
			key := join(path, k)
			if shapeOf(f.Type) == shapeSection {
				walk(f.Type, v.Field(i), key)
				continue
			}
			d := strings.Join(strings.Fields(src.fieldDoc(rt.Name(), f.Name)), " ")
			if d == "" {
				continue // shares the previous field's comment
			}
			m := defaultSentence.FindStringSubmatch(d)
			if m == nil {
				t.Errorf("%s: the comment states no default (want \"Default X.\" or \"Default: none.\")", key)
				continue
			}
			fv := v.Field(i)
			stated := strings.TrimSuffix(m[2], ".")
			if m[1] == ":" {
				switch strings.Trim(stated, ".") {
				case "none", "empty", "zero", "nowhere", "no":
					if !fv.IsZero() && !(fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) || (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() > 0 {
						t.Errorf("%s: the comment says %q, Default() has %v", key, m[0], fv.Interface())
					}
				case "UTC":
					// System.Timezone: empty means UTC, as its comment says.
				default:
					t.Errorf("%s: the comment's %q is not a default this test reads", key, m[0])
				}
				continue
			}
			if !statedMatches(stated, fv) {
				t.Errorf("%s: the comment says %q, Default() has %s", key, m[0], defaultOf(fv, true))
			}
		}
	}
	walk(configType, reflect.ValueOf(Default()), "")
}

// statedMatches compares a default as a comment writes it with the value.
func statedMatches(stated string, v reflect.Value) bool {
	if d, ok := v.Interface().(Duration); ok {
		got, err := time.ParseDuration(stated)
		return err == nil && got == d.Std()
	}
	switch v.Kind() {
	case reflect.String:
		s, err := strconv.Unquote(stated)
		return err == nil && s == v.String()
	case reflect.Slice:
		var want []string
		for _, s := range strings.Split(strings.Trim(stated, "[]"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				u, err := strconv.Unquote(s)
				if err != nil {
					return false
				}
				want = append(want, u)
			}
		}
		got := make([]string, v.Len())
		for i := range got {
			got[i] = v.Index(i).String()
		}
		return strings.Join(want, "\x00") == strings.Join(got, "\x00")
	}
	return stated == fmt.Sprint(v.Interface())
}
