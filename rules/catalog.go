package rules

import (
	"fmt"
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

// registry is every built-in control, in catalogue order. A control is a
// control.Control (it judges repository evidence), a control.AccessControl
// (it judges access events), or both. Adding a control is its folder plus
// one line here: alerting, the audit populations, evidence bundles, the
// catalogue and the evaluation order read its Definition.
var registry = []control.Definer{
	cm1.Control{},
	cm2.Control{},
	cm3.Control{},
	cm4.Control{},
	cm5.Control{},
	cm6.Control{},
	cm7.Control{},
	ac1.Control{},
	ac2.Control{},
	ac3.Control{},
}

// Builtin returns the controls over repository evidence in evaluation
// order: catalogue order, except that a control comes after every control
// it DependsOn (CM-5 reads the verdicts of CM-1..CM-3 and CM-7).
func Builtin() []control.Control {
	out, err := evaluationOrder(registry)
	if err != nil {
		panic(err) // the registry is code: TestRegistry proves it orders
	}
	return out
}

// BuiltinAccess returns the controls over access events, in catalogue
// order.
func BuiltinAccess() []control.AccessControl {
	var out []control.AccessControl
	for _, c := range registry {
		if a, ok := c.(control.AccessControl); ok {
			out = append(out, a)
		}
	}
	return out
}

// Catalogue returns every built-in control's definition, in catalogue
// order (CM-1..CM-7, then AC-1..AC-3).
func Catalogue() []control.Definition {
	out := make([]control.Definition, len(registry))
	for i, c := range registry {
		out[i] = c.Definition()
	}
	return out
}

// Lookup returns the definition of the control with id.
func Lookup(id string) (control.Definition, bool) {
	for _, c := range registry {
		if d := c.Definition(); d.ID == id {
			return d, true
		}
	}
	return control.Definition{}, false
}

// InPopulation returns the IDs of the controls whose outcome is a column
// of population p, in catalogue order.
func InPopulation(p control.Population) []string {
	var out []string
	for _, d := range Catalogue() {
		if slices.Contains(d.Populations, p) {
			out = append(out, d.ID)
		}
	}
	return out
}

// evaluationOrder orders the repository controls of defs so that each comes
// after those it depends on, otherwise keeping their order. It fails on a
// dependency that is not a repository control of defs, and on a cycle.
func evaluationOrder(defs []control.Definer) ([]control.Control, error) {
	var pending []control.Control
	ids := map[string]bool{}
	for _, c := range defs {
		if rc, ok := c.(control.Control); ok {
			pending = append(pending, rc)
			ids[rc.Definition().ID] = true
		}
	}
	for _, c := range pending {
		d := c.Definition()
		for _, dep := range d.DependsOn {
			if !ids[dep] {
				return nil, fmt.Errorf("control %s depends on %s, which is not a control over repository evidence", d.ID, dep)
			}
		}
	}
	done := map[string]bool{}
	var out []control.Control
	for len(pending) > 0 {
		i := slices.IndexFunc(pending, func(c control.Control) bool {
			for _, dep := range c.Definition().DependsOn {
				if !done[dep] {
					return false
				}
			}
			return true
		})
		if i < 0 {
			return nil, fmt.Errorf("controls %s depend on each other in a cycle", idsOf(pending))
		}
		done[pending[i].Definition().ID] = true
		out = append(out, pending[i])
		pending = slices.Delete(pending, i, i+1)
	}
	return out, nil
}

func idsOf(cs []control.Control) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Definition().ID
	}
	return out
}
