package rules

import (
	"cmp"
	"slices"

	"github.com/changeproof/changeproof/rules/ac1"
	"github.com/changeproof/changeproof/rules/ac2"
	"github.com/changeproof/changeproof/rules/ac3"
	"github.com/changeproof/changeproof/rules/cm1"
	"github.com/changeproof/changeproof/rules/cm2"
	"github.com/changeproof/changeproof/rules/cm3"
	"github.com/changeproof/changeproof/rules/cm4"
	"github.com/changeproof/changeproof/rules/cm5"
	"github.com/changeproof/changeproof/rules/cm6"
	"github.com/changeproof/changeproof/rules/cm7"
	"github.com/changeproof/changeproof/rules/control"
)

// Builtin returns the controls over repository evidence, in evaluation
// order: CM-5 reads the verdicts of CM-1..CM-3 and CM-7, so it comes after
// them.
// AC-3 also judges merged pull requests and reviews by terminated people.
func Builtin() []control.Control {
	return []control.Control{cm1.Control{}, cm2.Control{}, cm3.Control{}, cm4.Control{}, cm7.Control{}, cm5.Control{}, cm6.Control{}, ac3.Control{}}
}

// BuiltinAccess returns the controls over access events.
func BuiltinAccess() []control.AccessControl {
	return []control.AccessControl{ac1.Control{}, ac2.Control{}, ac3.Control{}}
}

// Catalogue returns every built-in control's definition once, in catalogue
// order (CM-1..CM-7, then AC-1..AC-3).
func Catalogue() []control.Definition {
	var out []control.Definition
	seen := map[string]bool{}
	for _, c := range Builtin() {
		if d := c.Definition(); !seen[d.ID] && d.ID[:2] == "CM" {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b control.Definition) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range BuiltinAccess() {
		if d := c.Definition(); !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}
