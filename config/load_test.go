package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// writeConfig writes a configuration file for one test and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "changeproof.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameConfig compares configurations as YAML, where an empty list and no
// list are the same thing.
func sameConfig(t *testing.T, got, want Config) {
	t.Helper()
	g, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("configuration differs\ngot:\n%s\nwant:\n%s", g, w)
	}
}

// wantError checks an error's full text.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %q", want)
	}
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

func TestDefaultsAreTheDocumentedOnes(t *testing.T) {
	d := Default()
	checks := []struct {
		key       string
		got, want any
	}{
		{"server.addr", d.Server.Addr, ":8080"},
		{"len(server.tokens)", len(d.Server.Tokens), 0},
		{"server.read_timeout", d.Server.ReadTimeout.Std(), 30 * time.Second},
		{"server.idle_timeout", d.Server.IdleTimeout.Std(), 120 * time.Second},
		{"server.max_header_bytes", d.Server.MaxHeaderBytes, 65536},
		{"server.shutdown_timeout", d.Server.ShutdownTimeout.Std(), 15 * time.Second},
		{"server.tls_cert_file", d.Server.TLSCertFile, ""},
		{"server.tls_key_file", d.Server.TLSKeyFile, ""},
		{"github.webhook_secret", d.GitHub.WebhookSecret, ""},
		{"github.base_url", d.GitHub.BaseURL, ""},
		{"len(kafka.brokers)", len(d.Kafka.Brokers), 0},
		{"kafka.topic_prefix", d.Kafka.TopicPrefix, "changeproof."},
		{"kafka.group", d.Kafka.Group, "changeproof"},
		{"kafka.tls", d.Kafka.TLS, false},
		{"kafka.sasl.mechanism", d.Kafka.SASL.Mechanism, ""},
		{"clickhouse.addr", d.ClickHouse.Addr, ""},
		{"clickhouse.database", d.ClickHouse.Database, "changeproof"},
		{"clickhouse.user", d.ClickHouse.User, "default"},
		{"clickhouse.cluster", d.ClickHouse.Cluster, ""},
		{"len(scope.repos)", len(d.Scope.Repos), 0},
		{"scope.production_environments", strings.Join(d.Scope.ProductionEnvironments, ","), "production,prod"},
		{"len(scope.services)", len(d.Scope.Services), 0},
		{"policy.min_approvals", d.Policy.MinApprovals, 1},
		{"policy.require_approval_on_final_commit", d.Policy.RequireApprovalOnFinalCommit, true},
		{"policy.emergency_labels", strings.Join(d.Policy.EmergencyLabels, ","), "emergency,hotfix"},
		{"policy.emergency_review_window", d.Policy.EmergencyReviewWindow.Std(), 72 * time.Hour},
		{"policy.require_ticket", d.Policy.RequireTicket, false},
		{"policy.ticket_pattern", d.Policy.TicketPattern, "[A-Z][A-Z0-9]+-[0-9]+"},
		{"len(policy.bots)", len(d.Policy.Bots), 0},
		{"policy.bot_changes", d.Policy.BotChanges, "require_approval"},
		{"len(policy.direct_push_exempt)", len(d.Policy.DirectPushExempt), 0},
		{"policy.require_admin_enforcement", d.Policy.RequireAdminEnforcement, true},
		{"len(access.systems)", len(d.Access.Systems), 0},
		{"len(identities)", len(d.Identities), 0},
		{"len(waivers)", len(d.Waivers), 0},
		{"alerts.grace", d.Alerts.Grace.Std(), 2 * time.Minute},
		{"alerts.slack.webhook_url", d.Alerts.Slack.WebhookURL, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
	if err := d.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	got, err := LoadWithEnv("", nil)
	if err != nil {
		t.Fatal(err)
	}
	sameConfig(t, got, Default())
}

func TestDefaultReturnsFreshSlices(t *testing.T) {
	a := Default()
	a.Policy.EmergencyLabels[0] = "changed"
	if Default().Policy.EmergencyLabels[0] != "emergency" {
		t.Error("Default shares slices between calls")
	}
}

func TestLoadFile(t *testing.T) {
	path := writeConfig(t, `
server:
  addr: "127.0.0.1:9090"
  tokens:
    - {name: ci, role: ingest, token: t0k3n-ci}
    - {name: audit, role: auditor, token: t0k3n-audit}
scope:
  repos: ["acme/payments-*"]
  services:
    payments: {repos: [acme/payments-api]}
policy:
  min_approvals: 2
  emergency_review_window: 24h
  emergency_labels: []
identities:
  - name: alice
    logins: [alice, alice-alt]
    terminated_at: 2026-04-15
waivers:
  - rule: CM-2
    subject: "acme/web#12"
    reason: outage
    approved_by: cto
    expires: 2026-12-31
alerts:
  grace: 30s
`)
	cfg, err := LoadWithEnv(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9090" || len(cfg.Server.Tokens) != 2 || cfg.Server.Tokens[1].Role != RoleAuditor {
		t.Errorf("server = %+v", cfg.Server)
	}
	if cfg.Policy.MinApprovals != 2 || cfg.Policy.EmergencyReviewWindow.Std() != 24*time.Hour {
		t.Errorf("policy = %+v", cfg.Policy)
	}
	if len(cfg.Policy.EmergencyLabels) != 0 {
		t.Errorf("emergency_labels: [] kept %v", cfg.Policy.EmergencyLabels)
	}
	if !cfg.Policy.RequireAdminEnforcement || cfg.Policy.BotChanges != BotChangesRequireApproval {
		t.Error("keys absent from the file lost their defaults")
	}
	if got := cfg.Scope.Services["payments"].Repos; len(got) != 1 || got[0] != "acme/payments-api" {
		t.Errorf("scope.services = %v", cfg.Scope.Services)
	}
	if want := time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC); !cfg.Identities[0].TerminatedAt.Equal(want) {
		t.Errorf("terminated_at = %v, want %v", cfg.Identities[0].TerminatedAt, want)
	}
	if want := time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC); !cfg.Waivers[0].Expires.Equal(want) {
		t.Errorf("expires = %v, want %v", cfg.Waivers[0].Expires, want)
	}
	if cfg.Alerts.Grace.Std() != 30*time.Second {
		t.Errorf("alerts.grace = %v", cfg.Alerts.Grace)
	}
}

func TestLoadEmptyFileGivesDefaults(t *testing.T) {
	for _, text := range []string{"", "# nothing here\n", "---\n"} {
		cfg, err := LoadWithEnv(writeConfig(t, text), nil)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		sameConfig(t, cfg, Default())
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadWithEnv(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("error %v does not name the file", err)
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	path := writeConfig(t, `server:
  addr: ":8080"
  tokens:
    - name: ci
      rol: admin
policy:
  min_aprovals: 2
kafka:
  sasl:
    mechansim: PLAIN
scope:
  services:
    web:
      repo: [acme/web]
colour: blue
`)
	_, err := LoadWithEnv(path, nil)
	p := "config " + path + ": "
	wantError(t, err, strings.Join([]string{
		p + `line 5: unknown key "server.tokens[0].rol"`,
		p + `line 7: unknown key "policy.min_aprovals"`,
		p + `line 10: unknown key "kafka.sasl.mechansim"`,
		p + `line 14: unknown key "scope.services.web.repo"`,
		p + `line 15: unknown key "colour"`,
	}, "\n"))
}

func TestLoadRejectsBadValues(t *testing.T) {
	path := writeConfig(t, `server: [":8080"]
policy:
  min_approvals: two
  require_ticket: maybe
  emergency_review_window: 3d
github:
  orgs: acme
waivers:
  - expires: 31/12/2026
identities:
  - name: alice
    terminated_at: yesterday
  - name: bob
    terminated_at: {date: 2026-01-01}
alerts:
  slack: hooks.slack.com
`)
	_, err := LoadWithEnv(path, nil)
	p := "config " + path + ": "
	wantError(t, err, strings.Join([]string{
		p + `line 1: server: must be a mapping of keys, got a list`,
		p + `line 3: policy.min_approvals: must be an integer, got "two"`,
		p + `line 4: policy.require_ticket: must be true or false, got "maybe"`,
		p + `line 5: policy.emergency_review_window: must be a duration such as 72h, 90m or 30s, got "3d"`,
		p + `line 7: github.orgs: must be a list of strings, got "acme"`,
		p + `line 9: waivers[0].expires: must be a date such as 2026-12-31 or an RFC 3339 time such as 2026-12-31T18:00:00Z, got "31/12/2026"`,
		p + `line 12: identities[0].terminated_at: must be a date such as 2026-12-31 or an RFC 3339 time such as 2026-12-31T18:00:00Z, got "yesterday"`,
		p + `line 14: identities[1].terminated_at: must be a date such as 2026-12-31 or an RFC 3339 time such as 2026-12-31T18:00:00Z, got a mapping`,
		p + `line 16: alerts.slack: must be a mapping of keys, got "hooks.slack.com"`,
	}, "\n"))
}

func TestLoadRejectsDuplicateKeys(t *testing.T) {
	path := writeConfig(t, "policy:\n  min_approvals: 2\n  min_approvals: 1\n")
	_, err := LoadWithEnv(path, nil)
	wantError(t, err, "config "+path+`: line 3: duplicate key "policy.min_approvals" (first at line 2)`)
}

func TestLoadRejectsSecondDocument(t *testing.T) {
	path := writeConfig(t, "policy:\n  min_approvals: 2\n---\npolicy:\n  min_approvals: 1\n")
	_, err := LoadWithEnv(path, nil)
	wantError(t, err, "config "+path+": line 3: a second YAML document; the configuration is one document")
}

func TestLoadReportsSyntaxErrorsWithLine(t *testing.T) {
	path := writeConfig(t, "policy:\n  min_approvals: 2\n bad indentation: [\n")
	_, err := LoadWithEnv(path, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "config "+path+": line ") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadAcceptsAnchorsAndMergeKeys(t *testing.T) {
	path := writeConfig(t, `
access:
  systems:
    prod-db: &system
      authorized: [alice]
    prod-k8s:
      <<: *system
      break_glass_roles: [cluster-admin]
`)
	cfg, err := LoadWithEnv(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Access.Systems["prod-k8s"]; len(s.Authorized) != 1 || s.BreakGlassRoles[0] != "cluster-admin" {
		t.Errorf("prod-k8s = %+v", s)
	}
}

func TestLoadPrefixesEveryValidationError(t *testing.T) {
	path := writeConfig(t, "policy:\n  min_approvals: 0\n  bot_changes: never\n")
	_, err := LoadWithEnv(path, nil)
	p := "config " + path + ": "
	wantError(t, err, p+"policy.min_approvals: must be at least 1, got 0\n"+
		p+`policy.bot_changes: must be require_approval or exempt, got "never"`)
	_, err = LoadWithEnv("", []string{"CHANGEPROOF_POLICY_MIN_APPROVALS=0"})
	wantError(t, err, "config: policy.min_approvals: must be at least 1, got 0")
}
