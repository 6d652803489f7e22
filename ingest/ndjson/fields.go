package ndjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"
)

// Object is one decoded JSON object, its values still raw.
type Object map[string]json.RawMessage

// DecodeObject decodes b as exactly one JSON object.
func DecodeObject(b []byte) (Object, error) {
	var m Object
	if err := json.Unmarshal(b, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("not a JSON object, got %s", te.Value)
		}
		return nil, fmt.Errorf("not JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if m == nil {
		return nil, errors.New("not a JSON object, got null")
	}
	return m, nil
}

// Unknown returns the keys of o not in known, sorted.
func (o Object) Unknown(known []string) []string {
	var out []string
	for k := range o {
		found := false
		for _, kn := range known {
			if k == kn {
				found = true
				break
			}
		}
		if !found {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Str returns the string value of field name ("" when absent or null). A
// value of another JSON type is recorded in p and reported as not ok.
func (o Object) Str(name string, p *Problems) (s string, ok bool) {
	raw, present := o[name]
	if !present || string(raw) == "null" {
		return "", true
	}
	if len(raw) == 0 || raw[0] != '"' {
		p.Add("%s: must be a string, got %s", name, KindOf(raw))
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		p.Add("%s: %v", name, err)
		return "", false
	}
	return s, true
}

// Required is Str plus "NAME: required" when the value is absent or empty.
func (o Object) Required(name string, p *Problems) string {
	s, ok := o.Str(name, p)
	if ok && s == "" {
		p.Add("%s: required", name)
	}
	return s
}

// TypeError turns a decoding type error into "FIELD: must be KIND, got
// KIND" (Field is the dotted JSON path, e.g. "user.username").
func TypeError(te *json.UnmarshalTypeError) string {
	want := "a string"
	switch te.Type.Kind() {
	case reflect.Bool:
		want = "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.Map, reflect.Struct:
		want = "an object"
	}
	field := te.Field
	if field == "" {
		field = "value"
	}
	return fmt.Sprintf("%s: must be %s, got %s", field, want, te.Value)
}

// KindOf names the JSON type of a raw value.
func KindOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// Problems collects the field errors of one object.
type Problems []string

func (p *Problems) Add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

// maxQuoted bounds how much of a bad value an error message repeats.
const maxQuoted = 64

// Quote is %q of s, cut to maxQuoted bytes (on a rune boundary) with "…"
// appended when longer, so a huge bad value cannot bloat the reply.
func Quote(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}
