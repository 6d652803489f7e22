package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Funcs(Funcs).Parse(reportTemplate))

// Funcs are the template helpers the report and the web UI share.
var Funcs = template.FuncMap{
	"percent":  Percent,
	"outcomes": func() []model.Outcome { return model.Outcomes },
	"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"trend":  TrendSVG,
	"colour": func(o model.Outcome) template.CSS { return template.CSS(colours[o]) },
	"policy": policyRows,
	"join":   strings.Join,
	"count":  func(c Counts, o model.Outcome) int { return c.Outcomes[o] },
}

// HTML renders report.html: self-contained (inline CSS and SVG, no
// script, no external asset), printable.
func HTML(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("render report.html: %w", err)
	}
	return buf.Bytes(), nil
}

type kv struct{ Key, Value string }

// policyRows lists the policy key by key, sorted, values as JSON.
func policyRows(p map[string]any) []kv {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]kv, len(keys))
	for i, k := range keys {
		b, _ := json.Marshal(p[k])
		out[i] = kv{k, string(b)}
	}
	return out
}

// Colours of the outcomes in charts and badges, each with at least 4.5:1
// contrast against white (WCAG AA) so that labels in them stay readable.
var colours = map[model.Outcome]string{
	model.Pass: "#1b5e20", model.Fail: "#b71c1c", model.Waived: "#8a4b00", model.Pending: "#37474f",
	model.NotApplicable: "#616161", model.Error: "#4a148c",
}

// TrendSVG draws a control's month-by-month trend as inline SVG: one
// stacked bar per month (its outcomes, coloured as in the legend), the
// month's exception rate above it. It is decoration for the table next to
// it, which carries the same numbers for screen readers and copy-paste.
func TrendSVG(c ControlResult) template.HTML {
	const (
		h, top, bottom, left = 150, 18, 22, 30
		barW, gap            = 34, 12
	)
	n := len(c.Months)
	w := left + n*(barW+gap) + gap
	maxPop := 1
	for _, m := range c.Months {
		maxPop = max(maxPop, m.Population)
	}
	plot := h - top - bottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="trend-%s">`,
		w, h, w, h, template.HTMLEscapeString(c.ID))
	fmt.Fprintf(&b, `<title id="trend-%s">%s: outcomes per month, exception rate above each bar</title>`,
		template.HTMLEscapeString(c.ID), template.HTMLEscapeString(c.ID))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">%d</text>`, left-4, top+4, maxPop)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end">0</text>`, left-4, h-bottom)
	for i, m := range c.Months {
		x := left + gap + i*(barW+gap)
		y := h - bottom
		for _, o := range model.Outcomes {
			k := m.Outcomes[o]
			if k == 0 {
				continue
			}
			bh := k * plot / maxPop
			if bh < 1 {
				bh = 1
			}
			y -= bh
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s %s: %d</title></rect>`,
				x, y, barW, bh, colours[o], m.Month, o, k)
		}
		label := "–"
		if m.Tested > 0 {
			label = Percent(m.ExceptionRate)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+barW/2, y-4, label)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="middle">%s</text>`, x+barW/2, h-bottom+14, m.Month)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Colour is an outcome's colour (charts, badges).
func Colour(o model.Outcome) string { return colours[o] }
