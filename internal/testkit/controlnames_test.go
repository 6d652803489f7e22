package testkit_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// controlID is how a control is named: its catalogue ID.
var controlID = regexp.MustCompile(`\b(CM|AC)-[0-9]+\b`)

// Nothing outside rules/ names a control in code: alerting, populations,
// bundles, the demo and the commands loop over rules.Catalogue() and read
// each control's Definition, so a new control is one folder and one
// registry line. Comments and help text may name one as an example (a
// command's Example, a flag's "e.g."); other string literals may not. Test
// support (internal/testkit) and the benchmarks' generated organisation
// (files named bench*.go) state their data's verdicts by ID and are exempt.
func TestNoControlNamedOutsideRules(t *testing.T) {
	walkProduction(t, func(rel, path string) {
		if strings.HasPrefix(rel, "rules/") || strings.HasPrefix(rel, "internal/testkit/") || strings.HasPrefix(filepath.Base(rel), "bench") {
			return
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Example" {
					return false
				}
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || strings.Contains(s, "e.g. ") {
				return true
			}
			if id := controlID.FindString(s); id != "" {
				t.Errorf("%s: names control %s in %s: read it from rules.Catalogue() instead", fset.Position(lit.Pos()), id, lit.Value)
			}
			return true
		})
	})
}
