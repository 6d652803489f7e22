package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// object is one decoded JSON object, its values still raw.
type object map[string]json.RawMessage

// decodeObject decodes b as exactly one JSON object.
func decodeObject(b []byte) (object, error) {
	var m object
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

// unknown returns the keys of o not in known, sorted.
func (o object) unknown(known []string) []string {
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

// str returns the string value of field name ("" when absent or null). A
// value of another JSON type is recorded in p and reported as not ok.
func (o object) str(name string, p *problems) (s string, ok bool) {
	raw, present := o[name]
	if !present || string(raw) == "null" {
		return "", true
	}
	if len(raw) == 0 || raw[0] != '"' {
		p.add("%s: must be a string, got %s", name, kindOf(raw))
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		p.add("%s: %v", name, err)
		return "", false
	}
	return s, true
}

// required is str plus "NAME: required" when the value is absent or empty.
func (o object) required(name string, p *problems) string {
	s, ok := o.str(name, p)
	if ok && s == "" {
		p.add("%s: required", name)
	}
	return s
}

// kindOf names the JSON type of a raw value.
func kindOf(raw json.RawMessage) string {
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

// problems collects the field errors of one object.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

// maxQuoted bounds how much of a bad value an error message repeats.
const maxQuoted = 64

// quote is %q of s, cut to maxQuoted bytes (on a rune boundary) with "…"
// appended when longer, so a huge bad value cannot bloat the reply.
func quote(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}
