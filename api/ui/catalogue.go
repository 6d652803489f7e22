package ui

import (
	"github.com/changeproof/changeproof/rules"
	"github.com/changeproof/changeproof/rules/control"
)

// catalogue is the control catalogue the pages list.
func catalogue() []control.Definition { return rules.Catalogue() }
