package control

import (
	"errors"
	"fmt"

	"github.com/changeproof/changeproof/model"
)

// ValidateDefinition reports what an auditor reading d would miss: an empty
// field, no evidence or population, a dependency on itself, or an Outcomes map that does not document exactly the outcomes the
// control gives. Waived may be documented besides them, since the evaluator
// gives it to any covered fail. Tests call it with the outcomes they saw the
// check give, so a definition cannot drift from its check.
func ValidateDefinition(d Definition, gives ...model.Outcome) error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"ID", d.ID}, {"Name", d.Name}, {"Question", d.Question},
		{"Subjects", d.Subjects}, {"Remediation", d.Remediation}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s: empty %s", d.ID, f.name))
		}
	}
	if len(d.Evidence) == 0 {
		errs = append(errs, fmt.Errorf("%s: no Evidence: say what the control reads", d.ID))
	}
	if len(d.Populations) == 0 {
		errs = append(errs, fmt.Errorf("%s: no Populations: an auditor samples its subjects from one", d.ID))
	}
	for _, dep := range d.DependsOn {
		if dep == d.ID {
			errs = append(errs, fmt.Errorf("%s: DependsOn names the control itself", d.ID))
		}
	}
	given := map[model.Outcome]bool{model.Waived: true}
	for _, o := range gives {
		given[o] = true
		if d.Outcomes[o] == "" {
			errs = append(errs, fmt.Errorf("%s: outcome %q is given but not documented", d.ID, o))
		}
	}
	for _, o := range model.Outcomes {
		if d.Outcomes[o] != "" && !given[o] {
			errs = append(errs, fmt.Errorf("%s: outcome %q is documented but never given", d.ID, o))
		}
	}
	return errors.Join(errs...)
}
