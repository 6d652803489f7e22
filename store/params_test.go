package store

import "testing"

func TestLiteralParamsEscapesOnlyStrings(t *testing.T) {
	in := Params{"repo": `a\/b`, "ids": ArrayParam([]string{`x\`}), "plain": "acme/api", "to": "2026-01-01 00:00:00.000"}
	q := "SELECT 1 WHERE repo = {repo:String} AND id IN {ids:Array(String)} AND x = {plain:String} AND t < {to:DateTime64(3, 'UTC')}"
	got := LiteralParams(q, in)
	want := Params{"repo": `a\\/b`, "ids": `['x\\']`, "plain": "acme/api", "to": "2026-01-01 00:00:00.000"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if in["repo"] != `a\/b` {
		t.Errorf("the caller's params were modified: %q", in["repo"])
	}
	if p := (Params{"a": "b"}); LiteralParams("{a:String}", p)["a"] != "b" {
		t.Error("a plain value changed")
	}
}
