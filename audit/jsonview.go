package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/changeproof/changeproof/model"
)

// jnode is a JSON value that keeps the order of object keys, so that a
// bundle is shown in the order its producer wrote it.
type jnode struct {
	kind jkind
	keys []string // object keys
	vals []*jnode // object values, or array items
	text string   // string, number or bool literal
}

type jkind int

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jObject
	jArray
)

// parseJSON parses one JSON document.
func parseJSON(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return parseNode(dec)
}

func parseNode(dec *json.Decoder) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jnode{kind: jArray}
		if t == '{' {
			n.kind = jObject
		}
		for dec.More() {
			if n.kind == jObject {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				n.keys = append(n.keys, k)
			}
			v, err := parseNode(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &jnode{kind: jString, text: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, text: t.String()}, nil
	case bool:
		return &jnode{kind: jBool, text: fmt.Sprint(t)}, nil
	case nil:
		return &jnode{kind: jNull}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// zeroTime is how encoding/json writes a zero time.Time.
const zeroTime = "0001-01-01T00:00:00Z"

// empty reports whether n says nothing: null, "", the zero time, or an
// object or array of such values. Empty values are left out of the page
// (the JSON file keeps them).
func (n *jnode) empty() bool {
	switch n.kind {
	case jNull:
		return true
	case jString:
		return n.text == "" || n.text == zeroTime
	case jObject, jArray:
		for _, v := range n.vals {
			if !v.empty() {
				return false
			}
		}
		return true
	}
	return false
}

func (n *jnode) scalar() bool { return n.kind != jObject && n.kind != jArray }

// flat reports whether n fits in a table cell: a scalar or a list of them.
func (n *jnode) flat() bool {
	if n.kind == jObject {
		return n.empty()
	}
	if n.kind == jArray {
		for _, v := range n.vals {
			if !v.scalar() {
				return false
			}
		}
	}
	return true
}

// field returns an object's value for key, or nil.
func (n *jnode) field(key string) *jnode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// ruleKey matches keys and columns that name a rule (CM-1, AC-3, ...).
var ruleKey = regexp.MustCompile(`^[A-Z]{2,}-[0-9]+$`)

func isOutcome(s string) bool {
	for _, o := range model.Outcomes {
		if string(o) == s {
			return true
		}
	}
	return false
}

// badge renders an outcome as a coloured label.
func badge(outcome string) string {
	if !isOutcome(outcome) {
		return html.EscapeString(outcome)
	}
	return `<span class="badge o-` + outcome + `">` + html.EscapeString(strings.ReplaceAll(outcome, "_", " ")) + `</span>`
}

// maxTableColumns is the widest array of objects shown as a table; wider
// ones are shown as a list of definition lists.
const maxTableColumns = 8

// renderJSON writes n as HTML: objects as definition lists, arrays of flat
// objects as tables, other arrays as lists. key is the name n appears
// under ("" at the top), which decides outcome badges.
func renderJSON(b *strings.Builder, key string, n *jnode) {
	switch n.kind {
	case jNull:
		b.WriteString(`<span class="null">null</span>`)
	case jBool, jNumber:
		b.WriteString(html.EscapeString(n.text))
	case jString:
		renderString(b, key, n.text)
	case jObject:
		b.WriteString(`<dl>`)
		for i, k := range n.keys {
			if n.vals[i].empty() {
				continue
			}
			b.WriteString(`<dt>` + html.EscapeString(k) + `</dt><dd>`)
			renderJSON(b, k, n.vals[i])
			b.WriteString(`</dd>`)
		}
		b.WriteString(`</dl>`)
	case jArray:
		if cols, ok := tableColumns(n); ok {
			b.WriteString(`<table class="data"><thead><tr>`)
			for _, c := range cols {
				b.WriteString(`<th>` + html.EscapeString(c) + `</th>`)
			}
			b.WriteString(`</tr></thead><tbody>`)
			for _, it := range n.vals {
				b.WriteString(`<tr>`)
				for _, c := range cols {
					b.WriteString(`<td>`)
					if v := it.field(c); v != nil && !v.empty() {
						renderJSON(b, c, v)
					}
					b.WriteString(`</td>`)
				}
				b.WriteString(`</tr>`)
			}
			b.WriteString(`</tbody></table>`)
			return
		}
		class := "items"
		for _, it := range n.vals {
			if !it.scalar() {
				class = "cards"
				break
			}
		}
		b.WriteString(`<ol class="` + class + `">`)
		for _, it := range n.vals {
			if it.empty() {
				continue
			}
			b.WriteString(`<li>`)
			renderJSON(b, key, it)
			b.WriteString(`</li>`)
		}
		b.WriteString(`</ol>`)
	}
}

// tableColumns returns the columns of an array of flat objects (keys in
// first-seen order, leaving out those empty in every item), when it has
// few enough to be a table.
func tableColumns(n *jnode) ([]string, bool) {
	if len(n.vals) == 0 {
		return nil, false
	}
	var cols []string
	seen := map[string]bool{}
	for _, it := range n.vals {
		if it.kind != jObject {
			return nil, false
		}
		for i, k := range it.keys {
			v := it.vals[i]
			if !v.flat() {
				return nil, false
			}
			if !seen[k] && !v.empty() {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	return cols, len(cols) > 0 && len(cols) <= maxTableColumns
}

func renderString(b *strings.Builder, key, s string) {
	switch {
	case (key == "outcome" || ruleKey.MatchString(key)) && isOutcome(s):
		b.WriteString(badge(s))
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		e := html.EscapeString(s)
		b.WriteString(`<a href="` + e + `" rel="noreferrer noopener">` + e + `</a>`)
	case strings.Contains(s, "\n") || len(s) > 100:
		b.WriteString(`<div class="text">` + html.EscapeString(s) + `</div>`)
	default:
		b.WriteString(html.EscapeString(s))
	}
}
