package config

import (
	"testing"
	"time"

	"github.com/changeproof/changeproof/model"
	"go.yaml.in/yaml/v3"
)

func TestInScope(t *testing.T) {
	s := Scope{Repos: []string{"acme/payments-*", "acme/web"}, ExcludeRepos: []string{"acme/payments-sandbox"}}
	for repo, want := range map[string]bool{
		"acme/payments-api":     true,
		"Acme/Payments-API":     true,
		"acme/web":              true,
		"acme/payments-sandbox": false,
		"acme/website":          false,
		"other/web":             false,
		"acme/payments-x/y":     false,
	} {
		if got := s.InScope(repo); got != want {
			t.Errorf("InScope(%q) = %v, want %v", repo, got, want)
		}
	}
	if (Scope{}).InScope("acme/web") {
		t.Error("an empty scope.repos puts repositories in scope")
	}
	if !(Scope{Repos: []string{"*/*"}}).InScope("acme/web") {
		t.Error(`"*/*" does not match every repository`)
	}
}

func TestIsProductionEnvironment(t *testing.T) {
	s := Default().Scope
	if !s.IsProductionEnvironment("Production") || !s.IsProductionEnvironment("prod") || s.IsProductionEnvironment("staging") {
		t.Error("production environments misjudged")
	}
}

func TestTicketRegexp(t *testing.T) {
	p := Default().Policy
	if got := p.TicketRegexp().FindAllString("OPS-12: fix; see also AB1-9 and x-1", -1); len(got) != 2 || got[0] != "OPS-12" || got[1] != "AB1-9" {
		t.Errorf("tickets = %q", got)
	}
	if p.TicketRegexp() != p.TicketRegexp() {
		t.Error("TicketRegexp compiles the pattern on every call")
	}
	defer func() {
		if recover() == nil {
			t.Error("an invalid pattern did not panic")
		}
	}()
	Policy{TicketPattern: "["}.TicketRegexp()
}

func TestRoleOf(t *testing.T) {
	s := Server{Tokens: []Token{
		{Name: "ci", Role: RoleIngest, Token: "ci-token"},
		{Name: "unset", Role: RoleAdmin},
		{Name: "audit", Role: RoleAuditor, Token: "audit-token"},
	}}
	for token, want := range map[string]struct {
		role, name string
		ok         bool
	}{
		"ci-token":    {RoleIngest, "ci", true},
		"audit-token": {RoleAuditor, "audit", true},
		"ci-token ":   {"", "", false},
		"ci":          {"", "", false},
		"":            {"", "", false},
	} {
		role, name, ok := s.RoleOf(token)
		if role != want.role || name != want.name || ok != want.ok {
			t.Errorf("RoleOf(%q) = %q, %q, %v; want %q, %q, %v", token, role, name, ok, want.role, want.name, want.ok)
		}
	}
}

func TestWaiverDates(t *testing.T) {
	var w struct {
		Date  Expiry  `yaml:"date"`
		Exact Expiry  `yaml:"exact"`
		Start Instant `yaml:"start"`
		Zone  Instant `yaml:"zone"`
	}
	err := yaml.Unmarshal([]byte("date: 2026-12-31\nexact: 2026-12-31T18:00:00Z\nstart: 2026-04-15\nzone: 2026-04-15T09:30:00+02:00\n"), &w)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want time.Time }{
		"date = end of that day UTC":    {w.Date.Time, time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"RFC 3339 expiry is exact":      {w.Exact.Time, time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC)},
		"date = start of that day UTC":  {w.Start.Time, time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)},
		"RFC 3339 instant keeps offset": {w.Zone.Time, time.Date(2026, 4, 15, 7, 30, 0, 0, time.UTC)},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: got %v, want %v", name, c.got, c.want)
		}
	}
	waiver := model.Waiver{Expires: w.Date.Time} // the expiry as the evaluator applies it
	for at, want := range map[time.Time]bool{
		time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC):                 true,
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC):                      false,
		time.Date(2026, 12, 31, 23, 30, 0, 0, time.FixedZone("", -3600)): false, // 00:30 UTC on the 1st
	} {
		if got := waiver.Active(at); got != want {
			t.Errorf("Active(%v) = %v, want %v", at, got, want)
		}
	}
}

func TestTimesAndDurationsRoundTrip(t *testing.T) {
	type doc struct {
		D Duration `yaml:"d"`
		E Expiry   `yaml:"e"`
		I Instant  `yaml:"i"`
		Z Instant  `yaml:"z"`
	}
	in := doc{D: Duration(90 * time.Minute), E: Expiry{time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC)}, I: Instant{time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)}}
	data, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := yaml.Unmarshal(data, &out); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if out.D != in.D || !out.E.Equal(in.E.Time) || !out.I.Equal(in.I.Time) || !out.Z.IsZero() {
		t.Errorf("round trip: %+v\n%s", out, data)
	}
}
