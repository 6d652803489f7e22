package rules

import (
	"github.com/changeproof/changeproof/rules/cm1"
	"github.com/changeproof/changeproof/rules/cm2"
	"github.com/changeproof/changeproof/rules/cm3"
	"github.com/changeproof/changeproof/rules/cm4"
	"github.com/changeproof/changeproof/rules/cm6"
	"github.com/changeproof/changeproof/rules/control"
)

// Builtin returns the built-in controls in catalogue order.
func Builtin() []control.Control {
	return []control.Control{cm1.Control{}, cm2.Control{}, cm3.Control{}, cm4.Control{}, cm6.Control{}}
}
