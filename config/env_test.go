package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvNamesAreDerivedFromKeys(t *testing.T) {
	names := map[string]string{}
	for _, v := range envVars() {
		names[v.name] = v.key
	}
	for name, key := range map[string]string{
		"CHANGEPROOF_SERVER_ADDR":                   "server.addr",
		"CHANGEPROOF_SERVER_TOKENS":                 "server.tokens",
		"CHANGEPROOF_GITHUB_WEBHOOK_SECRET":         "github.webhook_secret",
		"CHANGEPROOF_GITHUB_WEBHOOK_SECRET_FILE":    "github.webhook_secret_file",
		"CHANGEPROOF_KAFKA_SASL_MECHANISM":          "kafka.sasl.mechanism",
		"CHANGEPROOF_KAFKA_SASL_PASSWORD_FILE":      "kafka.sasl.password_file",
		"CHANGEPROOF_POLICY_MIN_APPROVALS":          "policy.min_approvals",
		"CHANGEPROOF_SCOPE_SERVICES":                "scope.services",
		"CHANGEPROOF_ACCESS_SYSTEMS":                "access.systems",
		"CHANGEPROOF_IDENTITIES":                    "identities",
		"CHANGEPROOF_WAIVERS":                       "waivers",
		"CHANGEPROOF_ALERTS_GRACE":                  "alerts.grace",
		"CHANGEPROOF_ALERTS_SLACK_WEBHOOK_URL":      "alerts.slack.webhook_url",
		"CHANGEPROOF_ALERTS_SLACK_WEBHOOK_URL_FILE": "alerts.slack.webhook_url_file",
	} {
		if names[name] != key {
			t.Errorf("%s sets %q, want %q", name, names[name], key)
		}
	}
	// Every key outside lists and maps has a variable, sections excepted.
	keys := map[string]bool{}
	structKeys(configType, "", keys)
	for key := range keys {
		if strings.ContainsAny(key, "[*") || key == "server" || key == "github" || key == "kafka" ||
			key == "kafka.sasl" || key == "clickhouse" || key == "scope" || key == "policy" ||
			key == "access" || key == "alerts" || key == "alerts.slack" || key == "signing" {
			continue
		}
		if _, ok := names[envName(key)]; !ok {
			t.Errorf("key %s has no variable", key)
		}
	}
}

func TestEnvOverridesScalars(t *testing.T) {
	path := writeConfig(t, "policy:\n  min_approvals: 3\n  require_ticket: false\n")
	cfg, err := LoadWithEnv(path, []string{
		"CHANGEPROOF_SERVER_ADDR=127.0.0.1:9000",
		"CHANGEPROOF_POLICY_MIN_APPROVALS=2",
		"CHANGEPROOF_POLICY_REQUIRE_TICKET=true",
		"CHANGEPROOF_POLICY_EMERGENCY_REVIEW_WINDOW=24h",
		"CHANGEPROOF_POLICY_TICKET_PATTERN=OPS-[0-9]+",
		"CHANGEPROOF_GITHUB_WEBHOOK_SECRET=  spaces and # kept ",
		"CHANGEPROOF_KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
		"CHANGEPROOF_KAFKA_SASL_USERNAME=svc",
		"CHANGEPROOF_ALERTS_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T/B/x",
		"CHANGEPROOF_ALERTS_GRACE=90s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9000" {
		t.Errorf("server.addr = %q", cfg.Server.Addr)
	}
	if cfg.Policy.MinApprovals != 2 || !cfg.Policy.RequireTicket || cfg.Policy.EmergencyReviewWindow.Std() != 24*time.Hour {
		t.Errorf("policy = %+v", cfg.Policy)
	}
	if cfg.Policy.TicketPattern != "OPS-[0-9]+" {
		t.Errorf("policy.ticket_pattern = %q", cfg.Policy.TicketPattern)
	}
	if cfg.GitHub.WebhookSecret != "  spaces and # kept " {
		t.Errorf("github.webhook_secret = %q", cfg.GitHub.WebhookSecret)
	}
	if cfg.Kafka.SASL.Mechanism != SASLSCRAMSHA512 || cfg.Kafka.SASL.Username != "svc" {
		t.Errorf("kafka.sasl = %+v", cfg.Kafka.SASL)
	}
	if cfg.Alerts.Slack.WebhookURL != "https://hooks.slack.com/services/T/B/x" || cfg.Alerts.Grace.Std() != 90*time.Second {
		t.Errorf("alerts = %+v", cfg.Alerts)
	}
}

func TestEnvOverridesLists(t *testing.T) {
	cfg, err := LoadWithEnv("", []string{
		"CHANGEPROOF_SCOPE_REPOS=acme/payments-*, acme/web,,",
		"CHANGEPROOF_POLICY_EMERGENCY_LABELS=[sev1, \"sev 2\"]",
		"CHANGEPROOF_SCOPE_PRODUCTION_ENVIRONMENTS=[]",
		"CHANGEPROOF_GITHUB_ORGS=acme",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key       string
		got, want []string
	}{
		{"scope.repos", cfg.Scope.Repos, []string{"acme/payments-*", "acme/web"}},
		{"policy.emergency_labels", cfg.Policy.EmergencyLabels, []string{"sev1", "sev 2"}},
		{"scope.production_environments", cfg.Scope.ProductionEnvironments, []string{}},
		{"github.orgs", cfg.GitHub.Orgs, []string{"acme"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
	}
}

func TestEnvOverridesIntegerLists(t *testing.T) {
	env := []string{"CHANGEPROOF_GITHUB_APP_ID=4242", "CHANGEPROOF_GITHUB_APP_PRIVATE_KEY_FILE=/run/secrets/app.pem"}
	for _, c := range []struct {
		raw  string
		want []int
		err  string
	}{
		{"12345678, 87654321", []int{12345678, 87654321}, ""},
		{"[7]", []int{7}, ""},
		{"7,x", nil, `env CHANGEPROOF_GITHUB_APP_INSTALLATION_IDS (github.app_installation_ids): must be a list of integers, got "7,x"`},
	} {
		cfg, err := LoadWithEnv("", append(env, "CHANGEPROOF_GITHUB_APP_INSTALLATION_IDS="+c.raw))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.raw, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.raw, err)
		}
		if !slices.Equal(cfg.GitHub.AppInstallationIDs, c.want) || cfg.GitHub.AppID != 4242 {
			t.Errorf("%q: app %d, installations %v, want %v", c.raw, cfg.GitHub.AppID, cfg.GitHub.AppInstallationIDs, c.want)
		}
	}
}

func TestEnvOverridesNestedKeysWithDocuments(t *testing.T) {
	path := writeConfig(t, "server:\n  tokens:\n    - {name: old, role: admin, token: from-the-file}\n")
	cfg, err := LoadWithEnv(path, []string{
		`CHANGEPROOF_SERVER_TOKENS=[{"name": "ci", "role": "ingest", "token": "t0k3n-0123456789ab"}]`,
		"CHANGEPROOF_SCOPE_SERVICES=web: {repos: [acme/web]}\napi:\n  repos: [acme/api]\n",
		"CHANGEPROOF_ACCESS_SYSTEMS={prod-db: {authorized: [alice], break_glass_roles: [dba]}}",
		"CHANGEPROOF_IDENTITIES=[{name: alice, logins: [alice, alice@acme.io], terminated_at: 2026-04-15}]",
		"CHANGEPROOF_WAIVERS=[{rule: CM-2, subject: 'acme/web#12', reason: outage, approved_by: cto, expires: 2026-12-31}]",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Server.Tokens) != 1 || cfg.Server.Tokens[0] != (Token{Name: "ci", Role: "ingest", Token: "t0k3n-0123456789ab"}) {
		t.Errorf("server.tokens = %+v (a document replaces the file's list)", cfg.Server.Tokens)
	}
	if len(cfg.Scope.Services) != 2 || cfg.Scope.Services["api"].Repos[0] != "acme/api" {
		t.Errorf("scope.services = %+v", cfg.Scope.Services)
	}
	if s := cfg.Access.Systems["prod-db"]; s.Authorized[0] != "alice" || s.BreakGlassRoles[0] != "dba" {
		t.Errorf("access.systems = %+v", cfg.Access.Systems)
	}
	if id := cfg.Identities[0]; id.Name != "alice" || len(id.Logins) != 2 || !id.TerminatedAt.Equal(time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("identities = %+v", cfg.Identities)
	}
	if w := cfg.Waivers[0]; w.Subject != "acme/web#12" || !w.Expires.Equal(time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC)) {
		t.Errorf("waivers = %+v", cfg.Waivers)
	}
}

func TestEnvBadValuesNameVariableAndKey(t *testing.T) {
	for _, c := range []struct{ env, want string }{
		{"CHANGEPROOF_POLICY_MIN_APPROVALS=two",
			`env CHANGEPROOF_POLICY_MIN_APPROVALS (policy.min_approvals): must be an integer, got "two"`},
		{"CHANGEPROOF_KAFKA_TLS=yes please",
			`env CHANGEPROOF_KAFKA_TLS (kafka.tls): must be true or false, got "yes please"`},
		{"CHANGEPROOF_POLICY_EMERGENCY_REVIEW_WINDOW=3d",
			`env CHANGEPROOF_POLICY_EMERGENCY_REVIEW_WINDOW (policy.emergency_review_window): must be a duration such as 72h, 90m or 30s, got "3d"`},
		{"CHANGEPROOF_SCOPE_REPOS=[acme/web",
			`env CHANGEPROOF_SCOPE_REPOS (scope.repos): line 1: did not find expected ',' or ']'`},
		{`CHANGEPROOF_SERVER_TOKENS=[{"name": "ci", "rol": "ingest"}]`,
			`env CHANGEPROOF_SERVER_TOKENS (server.tokens): line 1: unknown key "server.tokens[0].rol"`},
		{"CHANGEPROOF_WAIVERS=[{expires: soon}]",
			`env CHANGEPROOF_WAIVERS (waivers): line 1: waivers[0].expires: must be a date such as 2026-12-31 or an RFC 3339 time such as 2026-12-31T18:00:00Z, got "soon"`},
		{"CHANGEPROOF_SCOPE_SERVICES=[acme/web]",
			`env CHANGEPROOF_SCOPE_SERVICES (scope.services): line 1: scope.services: must be a mapping of names, got a list`},
		{"CHANGEPROOF_POLICY_MIN_APROVALS=2",
			`env CHANGEPROOF_POLICY_MIN_APROVALS: no configuration key has this name`},
		{"CHANGEPROOF_IDENTITIES_ALICE=alice",
			`env CHANGEPROOF_IDENTITIES_ALICE: no configuration key has this name`},
	} {
		_, err := LoadWithEnv("", []string{c.env})
		wantError(t, err, c.want)
	}
}

func TestEnvIgnoresOtherVariables(t *testing.T) {
	cfg, err := LoadWithEnv("", []string{
		"CHANGEPROOF_DATA_DIR=/var/lib/changeproof", // a flag's, not a key's
		"CHANGEPROOF_SERVER=https://changeproof.acme.io",
		"POLICY_MIN_APPROVALS=0",
		"CHANGEPROOF_POLICY_MIN_APPROVALS=", // empty: unset
		"NOT_AN_ASSIGNMENT",
	})
	if err != nil {
		t.Fatal(err)
	}
	sameConfig(t, cfg, Default())
}

func TestEnvLastEntryWins(t *testing.T) {
	cfg, err := LoadWithEnv("", []string{"CHANGEPROOF_POLICY_MIN_APPROVALS=5", "CHANGEPROOF_POLICY_MIN_APPROVALS=2"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy.MinApprovals != 2 {
		t.Errorf("policy.min_approvals = %d, want 2", cfg.Policy.MinApprovals)
	}
}

func TestEnvReportsEveryBadVariable(t *testing.T) {
	_, err := LoadWithEnv("", []string{"CHANGEPROOF_POLICY_MIN_APPROVALS=x", "CHANGEPROOF_ALERTS_GRACE=y"})
	wantError(t, err, `env CHANGEPROOF_POLICY_MIN_APPROVALS (policy.min_approvals): must be an integer, got "x"`+"\n"+
		`env CHANGEPROOF_ALERTS_GRACE (alerts.grace): must be a duration such as 72h, 90m or 30s, got "y"`)
}
