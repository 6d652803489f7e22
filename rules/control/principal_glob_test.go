package control

import "testing"

func TestMatchPrincipal(t *testing.T) {
	cases := []struct {
		pattern, principal string
		want               bool
	}{
		{"system:serviceaccount:kube-system:*", "system:serviceaccount:kube-system:coredns", true},
		{"system:serviceaccount:kube-system:*", "system:serviceaccount:default:coredns", false},
		{"arn:aws:iam::123456789012:role/deploy-*", "arn:aws:iam::123456789012:role/deploy-prod", true},
		{"arn:aws:iam::123456789012:role/deploy-*", "arn:aws:iam::123456789012:role/deployer", false},
		{"*@acme.io", "Alice@ACME.io", true},
		{"a.b", "axb", false}, // "." is literal
		{"a?c", "abc", true},
		{"[!x]y", "zy", true},
		{"[!x]y", "xy", false},
		{"[", "[", false}, // malformed: matches nothing
	}
	for _, c := range cases {
		if got := MatchPrincipal(c.pattern, c.principal); got != c.want {
			t.Errorf("MatchPrincipal(%q, %q) = %v, want %v", c.pattern, c.principal, got, c.want)
		}
	}
	if ValidPrincipalPattern("ops-[ab") != `unclosed "[" in ops-[ab` || ValidPrincipalPattern("ops-*") != "" {
		t.Error("ValidPrincipalPattern")
	}
}
