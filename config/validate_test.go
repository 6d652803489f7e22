package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateMessages(t *testing.T) {
	// tok pads a non-empty token past MinSecretBytes, so that each case
	// shows only the problem it is about.
	tok := func(name, role, token string) Token {
		if token != "" {
			token += "-0123456789abcdef"
		}
		return Token{Name: name, Role: role, Token: token}
	}
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"server.addr", func(c *Config) { c.Server.Addr = "8080" },
			[]string{`server.addr: must be host:port such as ":8080", got "8080"`}},
		{"server.read_timeout", func(c *Config) { c.Server.ReadTimeout = 0 },
			[]string{`server.read_timeout: must be positive, got 0s`}},
		{"server.max_header_bytes", func(c *Config) { c.Server.MaxHeaderBytes = 10 },
			[]string{`server.max_header_bytes: must be at least 1024, got 10`}},
		{"server.tls half", func(c *Config) { c.Server.TLSCertFile = "/etc/cp/cert.pem" },
			[]string{`server.tls_cert_file: tls_cert_file and tls_key_file are set together (both: HTTPS; neither: HTTP)`}},
		{"token name", func(c *Config) { c.Server.Tokens = []Token{tok("", RoleIngest, "a")} },
			[]string{`server.tokens[0].name: empty`}},
		{"duplicate token name", func(c *Config) { c.Server.Tokens = []Token{tok("ci", RoleIngest, "a"), tok("ci", RoleAdmin, "b")} },
			[]string{`server.tokens[1].name: "ci" is already the name of server.tokens[0]`}},
		{"token role", func(c *Config) { c.Server.Tokens = []Token{tok("ci", RoleIngest, "a"), tok("ops", "root", "b")} },
			[]string{`server.tokens[1].role: must be ingest, auditor or admin, got "root"`}},
		{"empty token", func(c *Config) { c.Server.Tokens = []Token{tok("ci", RoleIngest, "")} },
			[]string{`server.tokens[0].token: empty (set token or token_file)`}},
		{"duplicate token", func(c *Config) {
			c.Server.Tokens = []Token{tok("ci", RoleIngest, "same"), tok("audit", RoleAuditor, "other"), tok("ops", RoleAdmin, "same")}
		},
			[]string{`server.tokens[2].token: same value as server.tokens[0].token`}},
		{"github.base_url", func(c *Config) { c.GitHub.BaseURL = "github.acme.io" },
			[]string{`github.base_url: must be an http(s) URL, got "github.acme.io"`}},
		{"github.orgs", func(c *Config) { c.GitHub.Orgs = []string{"acme", ""} },
			[]string{`github.orgs[1]: empty`}},
		{"github.app_id without key", func(c *Config) { c.GitHub.AppID = 4242 },
			[]string{`github.app_private_key_file: required with github.app_id (the .pem private key generated on the App's settings page)`}},
		{"github.app key without id", func(c *Config) { c.GitHub.AppPrivateKeyFile = "/run/secrets/app.pem" },
			[]string{`github.app_id: required with github.app_private_key_file (the App ID on the App's settings page)`}},
		{"github.app_id negative", func(c *Config) { c.GitHub.AppID = -1; c.GitHub.AppPrivateKeyFile = "k.pem" },
			[]string{`github.app_id: must be positive, got -1`}},
		{"github app and token", func(c *Config) {
			c.GitHub.AppID, c.GitHub.AppPrivateKeyFile, c.GitHub.Token = 4242, "k.pem", "github_pat_0123456789abcdef"
		}, []string{`github.token: set together with github.app_id; set only one (the GitHub App, or a token)`}},
		{"github.app_installation_ids", func(c *Config) {
			c.GitHub.AppID, c.GitHub.AppPrivateKeyFile, c.GitHub.AppInstallationIDs = 4242, "k.pem", []int{7, 0}
		}, []string{`github.app_installation_ids[1]: must be positive, got 0`}},
		{"github.app_installation_ids without app", func(c *Config) { c.GitHub.AppInstallationIDs = []int{7} },
			[]string{`github.app_installation_ids: needs github.app_id`}},
		{"kafka.brokers", func(c *Config) { c.Kafka.Brokers = []string{"kafka:9092", "kafka"} },
			[]string{`kafka.brokers[1]: must be host:port, got "kafka"`}},
		{"kafka.group", func(c *Config) { c.Kafka.Brokers = []string{"kafka:9092"}; c.Kafka.Group = "" },
			[]string{`kafka.group: empty (required with kafka.brokers)`}},
		{"kafka.topic_prefix", func(c *Config) { c.Kafka.TopicPrefix = "change proof" },
			[]string{`kafka.topic_prefix: may contain only letters, digits, ".", "_" and "-", got "change proof"`}},
		{"kafka.sasl.mechanism", func(c *Config) { c.Kafka.SASL.Mechanism = "GSSAPI" },
			[]string{`kafka.sasl.mechanism: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (or empty for none), got "GSSAPI"`}},
		{"kafka.sasl.username", func(c *Config) { c.Kafka.SASL.Mechanism = SASLSCRAMSHA256 },
			[]string{`kafka.sasl.username: empty (required with kafka.sasl.mechanism)`}},
		{"kafka.sasl credentials without mechanism", func(c *Config) { c.Kafka.SASL.Password = "pw" },
			[]string{`kafka.sasl.mechanism: empty, so kafka.sasl.username and password would be ignored`}},
		{"clickhouse.addr", func(c *Config) { c.ClickHouse.Addr = "clickhouse" },
			[]string{`clickhouse.addr: must be host:port such as "localhost:9000", got "clickhouse"`}},
		{"clickhouse.database", func(c *Config) { c.ClickHouse.Database = "change-proof" },
			[]string{`clickhouse.database: must be letters, digits and _, not starting with a digit, got "change-proof"`}},
		{"clickhouse.cluster embedded", func(c *Config) { c.ClickHouse.Cluster = "main" },
			[]string{`clickhouse.cluster: needs clickhouse.addr (the embedded engine has no cluster)`}},
		{"clickhouse.cluster name", func(c *Config) { c.ClickHouse.Addr = "ch:9000"; c.ClickHouse.Cluster = "main; DROP" },
			[]string{`clickhouse.cluster: may contain only letters, digits, ".", "_" and "-", got "main; DROP"`}},
		{"scope.repos glob", func(c *Config) { c.Scope.Repos = []string{"acme/payments-*", "acme/web", "["} },
			[]string{`scope.repos[2]: bad glob pattern "[": syntax error in pattern`}},
		{"scope.repos without owner", func(c *Config) { c.Scope.Repos = []string{"payments-*"} },
			[]string{`scope.repos[0]: must match "owner/name", such as "acme/payments-*", got "payments-*"`}},
		{"scope.exclude_repos glob", func(c *Config) { c.Scope.ExcludeRepos = []string{"acme/[a-"} },
			[]string{`scope.exclude_repos[0]: bad glob pattern "acme/[a-": syntax error in pattern`}},
		{"scope.production_environments", func(c *Config) { c.Scope.ProductionEnvironments = []string{""} },
			[]string{`scope.production_environments[0]: empty`}},
		{"scope.services repos", func(c *Config) {
			c.Scope.Services = map[string]Service{"web": {Repos: []string{"acme/web", "web"}}, "api": {}}
		},
			[]string{
				`scope.services.api.repos: empty (list the repositories the service is built from)`,
				`scope.services.web.repos[1]: must be "owner/name", got "web"`,
			}},
		{"policy.min_approvals", func(c *Config) { c.Policy.MinApprovals = 0 },
			[]string{`policy.min_approvals: must be at least 1, got 0`}},
		{"policy.emergency_review_window", func(c *Config) { c.Policy.EmergencyReviewWindow = 0 },
			[]string{`policy.emergency_review_window: must be positive, got 0s`}},
		{"policy.ticket_pattern invalid", func(c *Config) { c.Policy.TicketPattern = "[A-Z" },
			[]string{"policy.ticket_pattern: invalid regular expression: missing closing ]: `[A-Z`"}},
		{"policy.ticket_pattern empty", func(c *Config) { c.Policy.TicketPattern = "" },
			[]string{`policy.ticket_pattern: empty (it would match every change)`}},
		{"policy.bot_changes", func(c *Config) { c.Policy.BotChanges = "x" },
			[]string{`policy.bot_changes: must be require_approval or exempt, got "x"`}},
		{"policy.bot_min_approvals", func(c *Config) { c.Policy.BotMinApprovals = -1 },
			[]string{`policy.bot_min_approvals: must be 0 (= min_approvals) or more, got -1`}},
		{"policy.allowed_bypass_actors", func(c *Config) { c.Policy.AllowedBypassActors = []string{"Integration:1", "RepositoryRole"} },
			[]string{`policy.allowed_bypass_actors[1]: must be "actor_type:actor_id", such as "Integration:12345", got "RepositoryRole"`}},
		{"policy.required_checks", func(c *Config) { c.Policy.RequiredChecks = []string{"ci/test", " "} },
			[]string{`policy.required_checks[1]: empty check name`}},
		{"identity without name and logins", func(c *Config) { c.Identities = []Identity{{}} },
			[]string{`identities[0].name: empty`, `identities[0].logins: empty (list at least one login)`}},
		{"identity with an empty login", func(c *Config) { c.Identities = []Identity{{Name: "alice", Logins: []string{"alice", ""}}} },
			[]string{`identities[0].logins[1]: empty`}},
		{"login under two identities", func(c *Config) {
			c.Identities = []Identity{{Name: "alice", Logins: []string{"alice"}}, {Name: "bob", Logins: []string{"bob", "Alice"}}}
		},
			[]string{`identities[1].logins[1]: "Alice" already belongs to identities[0] (alice)`}},
		{"name that is another identity's login", func(c *Config) {
			c.Identities = []Identity{{Name: "alice", Logins: []string{"ali"}}, {Name: "ali", Logins: []string{"ali2"}}}
		},
			[]string{`identities[1].name: "ali" already belongs to identities[0] (alice)`}},
		{"access system timezone and pattern", func(c *Config) {
			c.Access.Systems = map[string]System{
				"bastion": {Timezone: "Mars/Olympus", Authorized: []string{"alice", "ops-[ab"}},
				"aws":     {Timezone: "Europe/Berlin", Authorized: []string{"arn:aws:sts::1:assumed-role/deploy-*"}},
			}
		},
			[]string{
				`access.systems.bastion.timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Berlin)`,
				`access.systems.bastion.authorized[1]: unclosed "[" in pattern "ops-[ab"`,
			}},
		{"waiver fields", func(c *Config) { c.Waivers = []Waiver{{}} },
			[]string{
				`waivers[0].rule: empty`,
				`waivers[0].subject: empty`,
				`waivers[0].reason: empty`,
				`waivers[0].approved_by: empty`,
				`waivers[0].expires: empty (a date such as 2026-12-31, or an RFC 3339 time)`,
			}},
		{"alerts.grace", func(c *Config) { c.Alerts.Grace = Duration(-time.Second) },
			[]string{`alerts.grace: must not be negative, got -1s`}},
		{"github.reconcile_every", func(c *Config) { c.GitHub.ReconcileEvery = Duration(-time.Minute) },
			[]string{`github.reconcile_every: must not be negative, got -1m0s`}},
		{"alerts.digest", func(c *Config) { c.Alerts.Digest = Duration(-time.Hour) },
			[]string{`alerts.digest: must not be negative, got -1h0m0s`}},
		{"alerts.api_url", func(c *Config) { c.Alerts.APIURL = "changeproof.acme.io" },
			[]string{`alerts.api_url: must be an http(s) URL, got "changeproof.acme.io"`}},
		{"slack token without channel", func(c *Config) { c.Alerts.Slack.Token = "xoxb-1" },
			[]string{`alerts.slack.channel: empty (required with alerts.slack.token)`}},
		{"slack webhook and token", func(c *Config) {
			c.Alerts.Slack.WebhookURL = "https://hooks.slack.com/services/T/B/x"
			c.Alerts.Slack.Token = "xoxb-1"
			c.Alerts.Slack.Channel = "#soc2"
		},
			[]string{`alerts.slack: set webhook_url or token, not both`}},
		{"slack webhook_url is not echoed", func(c *Config) { c.Alerts.Slack.WebhookURL = "T0/B0/s3cret" },
			[]string{`alerts.slack.webhook_url: must be an http(s) URL`}},
		{"slack base_url", func(c *Config) { c.Alerts.Slack.BaseURL = "localhost:8081" },
			[]string{`alerts.slack.base_url: must be an http(s) URL, got "localhost:8081"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			c.change(&cfg)
			wantError(t, cfg.Validate(), strings.Join(c.want, "\n"))
		})
	}
}

func TestValidateAcceptsAFullConfiguration(t *testing.T) {
	cfg := Default()
	cfg.Server.Addr = "0.0.0.0:8080"
	cfg.Server.Tokens = []Token{{Name: "ci", Role: RoleIngest, Token: "a-0123456789abcdef"}, {Name: "audit", Role: RoleAuditor, Token: "b-0123456789abcdef"}}
	cfg.GitHub.BaseURL = "https://github.acme.io/api/v3/"
	cfg.Kafka.Brokers = []string{"kafka-1:9092", "[::1]:9092"}
	cfg.Kafka.SASL = SASL{Mechanism: SASLPlain, Username: "u", Password: "p"}
	cfg.ClickHouse.Addr = "ch:9000"
	cfg.ClickHouse.Cluster = "prod-cluster.1"
	cfg.Scope.Repos = []string{"acme/*", "Acme/[a-z]*"}
	cfg.Scope.Services = map[string]Service{"web": {Repos: []string{"acme/web"}}}
	cfg.Identities = []Identity{{Name: "alice", Logins: []string{"alice", "ALICE@acme.io"}}}
	cfg.Waivers = []Waiver{{Rule: "CM-2", Subject: "acme/web#1", Reason: "r", ApprovedBy: "cto", Expires: Expiry{time.Now()}}}
	cfg.Alerts.Slack = Slack{Token: "xoxb-1", Channel: "C123", BaseURL: "http://127.0.0.1:9999"}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidateReportsAllProblemsInKeyOrder(t *testing.T) {
	cfg := Default()
	cfg.Alerts.Grace = Duration(-time.Minute)
	cfg.Server.Addr = ""
	cfg.Policy.MinApprovals = -1
	wantError(t, cfg.Validate(), `server.addr: must be host:port such as ":8080", got ""`+"\n"+
		`policy.min_approvals: must be at least 1, got -1`+"\n"+
		`alerts.grace: must not be negative, got -1m0s`)
}

// Secrets anyone could guess are refused, naming the key and never the
// value: placeholders from examples anywhere, and bearer tokens or the
// webhook secret shorter than MinSecretBytes.
func TestValidateRefusesGuessableSecrets(t *testing.T) {
	good := "9f86d081884c7d659a2feaa0c55ad015"
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"kustomize placeholder", func(c *Config) {
			c.Server.Tokens = []Token{{Name: "ci", Role: RoleIngest, Token: "REPLACE-ME-ingest-token"}}
		},
			`server.tokens[0].token: is a placeholder (contains "replaceme"): set a generated secret, e.g. ` + "`openssl rand -hex 32`"},
		{"changeme", func(c *Config) { c.GitHub.WebhookSecret = "ChangeMe_please_0123456789" },
			`github.webhook_secret: is a placeholder (contains "changeme")`},
		{"short token", func(c *Config) { c.Server.Tokens = []Token{{Name: "ci", Role: RoleIngest, Token: "s3cr3t-tok3n"}} },
			"server.tokens[0].token: is 12 bytes, shorter than 16: a guessable secret; generate one, e.g. `openssl rand -hex 32`"},
		{"short webhook secret", func(c *Config) { c.GitHub.WebhookSecret = "hunter2" },
			"github.webhook_secret: is 7 bytes, shorter than 16"},
		{"placeholder password", func(c *Config) { c.ClickHouse.Password = "<your-password>" },
			`clickhouse.password: is a placeholder (contains "yourpassword")`},
		{"placeholder slack token", func(c *Config) { c.Alerts.Slack = Slack{Token: "xoxb-REPLACE_ME", Channel: "C1"} },
			`alerts.slack.token: is a placeholder (contains "replaceme")`},
	} {
		cfg := Default()
		cfg.Server.Tokens = []Token{{Name: "ci", Role: RoleIngest, Token: good}}
		c.change(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
			continue
		}
		for _, s := range []string{"REPLACE", "ChangeMe", "s3cr3t", "hunter2", "<your"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the message shows the value: %v", c.name, err)
			}
		}
	}
	// Short passwords set by other systems are theirs to judge.
	cfg := Default()
	cfg.Server.Tokens = []Token{{Name: "ci", Role: RoleIngest, Token: good}}
	cfg.GitHub.WebhookSecret = good
	cfg.ClickHouse.Password = "short"
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
