// Package config is changeproof's configuration: the schema of
// changeproof.yaml as Go types, its defaults, and the one way to load it
// (file, then CHANGEPROOF_* environment variables, then *_file secrets, then
// validation).
//
// The yaml tags below are the keys, Default returns the defaults, and the
// doc comments are each key's documentation: docs/configuration.md is
// generated from them, and changeproof.example.yaml at the repository root
// sets every key to its default (tests keep both in step with the struct).
//
// A configuration is strict on purpose. It decides which changes an auditor
// sees as compliant, so a misspelt key must stop the program instead of
// silently leaving a control at its default.
package config

import (
	"fmt"
	"time"
)

// Config is the whole configuration. Build it with Default or Load: its zero
// value is not the defaults.
type Config struct {
	// Server is the HTTP listener that receives webhooks and serves the API.
	Server Server `yaml:"server"`
	// GitHub holds the webhook secret and the backfill client settings.
	GitHub GitHub `yaml:"github"`
	// Kafka is the event log of the distributed mode; no brokers means the
	// embedded mode.
	Kafka Kafka `yaml:"kafka"`
	// ClickHouse is the evidence store; no addr means the embedded engine.
	ClickHouse ClickHouse `yaml:"clickhouse"`
	// Scope decides which repositories, environments and services produce
	// findings. Everything is stored regardless.
	Scope Scope `yaml:"scope"`
	// Policy tunes the change-management controls (docs/controls.md).
	Policy Policy `yaml:"policy"`
	// Access lists the production systems the access controls judge.
	Access Access `yaml:"access"`
	// Identities groups logins and principals into people. Default: none,
	// so every login is its own person.
	Identities []Identity `yaml:"identities"`
	// Waivers accept known failures until they expire. Default: none.
	Waivers []Waiver `yaml:"waivers"`
	// Alerts configures the Slack alerts for failing findings.
	Alerts Alerts `yaml:"alerts"`
	// Signing signs the manifests of auditor exports and period reports.
	Signing Signing `yaml:"signing"`
}

// Server configures the HTTP listener.
type Server struct {
	// Addr is the host:port to listen on; the serve command's --addr flag
	// overrides it. Default ":8080".
	Addr string `yaml:"addr"`
	// Tokens are the bearer tokens accepted by the HTTP API. Default: none,
	// which leaves only the signed GitHub webhook endpoint usable.
	Tokens []Token `yaml:"tokens"`
	// ReadTimeout bounds reading one whole request, body included, so a
	// client sending a byte at a time cannot hold a connection. Default 30s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// IdleTimeout closes a keep-alive connection idle this long. Default 120s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes caps the request line and headers. Default 65536.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ShutdownTimeout bounds the stop on SIGTERM or SIGINT, whatever Slack
	// or Kafka do; alerts not sent by then stay queued for the next start.
	// Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// TLSCertFile and TLSKeyFile, both set, serve HTTPS with this PEM
	// certificate (chain) and key. Default: none, plain HTTP.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
}

// Token is one bearer token of the HTTP API.
type Token struct {
	// Name identifies the token's holder in logs and audit records; the
	// token itself is never logged. Required and unique.
	Name string `yaml:"name"`
	// Role is what the token may do: RoleIngest (post deploy and access
	// events), RoleAuditor (read-only) or RoleAdmin (everything). Required.
	Role string `yaml:"role"`
	// Token is the secret the client sends as "Authorization: Bearer ...".
	// Required, unless TokenFile is set; at least MinSecretBytes bytes long and
	// no placeholder.
	Token string `yaml:"token" secret:"true"`
	// TokenFile names a file holding Token (trailing newlines trimmed), so
	// the secret can live outside the configuration. Default: none.
	TokenFile string `yaml:"token_file"`
}

// GitHub configures the webhook receiver and the backfill client.
type GitHub struct {
	// WebhookSecret is the HMAC secret the GitHub webhook signs deliveries
	// with (X-Hub-Signature-256). Default: none; the receiver then has no
	// way to tell a genuine delivery from a forged one. When set, at least
	// MinSecretBytes bytes long and no placeholder.
	WebhookSecret string `yaml:"webhook_secret" secret:"true"`
	// WebhookSecretFile names a file holding WebhookSecret. Default: none.
	WebhookSecretFile string `yaml:"webhook_secret_file"`
	// Token is the GitHub token backfill reads with (fine-grained,
	// read-only is enough), when changeproof is not installed as a GitHub
	// App (AppID). Default: none.
	Token string `yaml:"token" secret:"true"`
	// TokenFile names a file holding Token. Default: none.
	TokenFile string `yaml:"token_file"`
	// BaseURL is the API URL of a GitHub Enterprise Server, e.g.
	// "https://github.acme.io/api/v3/". Default: empty, meaning github.com.
	BaseURL string `yaml:"base_url"`
	// Orgs are the organisations whose in-scope repositories backfill
	// reads. Default: none.
	Orgs []string `yaml:"orgs"`
	// ReconcileEvery is how often serve backfills the in-scope repositories
	// from the last reconciled point, to find deliveries GitHub never
	// retried; it needs Token or AppID. Default 1h; 0 turns it off.
	ReconcileEvery Duration `yaml:"reconcile_every"`
	// AppID is the ID of the GitHub App changeproof authenticates as (the
	// App's settings page, "App ID"), instead of Token: backfill and
	// reconciliation then read the in-scope repositories of every
	// installation of the App, each with its installation's short-lived
	// token. Needs AppPrivateKeyFile; Token must then be empty (one
	// identity reads GitHub, so the audit trail names one). The App's
	// webhooks use WebhookSecret like any other. Default 0: no App.
	AppID int `yaml:"app_id"`
	// AppPrivateKeyFile names the App's private key: the .pem file GitHub
	// generates on the App's settings page ("Generate a private key").
	// Required with AppID. Default: none.
	AppPrivateKeyFile string `yaml:"app_private_key_file"`
	// AppInstallationIDs restricts the App to these installations (the
	// number at the end of the installation's settings URL). Default: none,
	// meaning every installation GitHub lists for the App.
	AppInstallationIDs []int `yaml:"app_installation_ids"`
}

// App reports whether the GitHub App identity is configured.
func (g GitHub) App() bool { return g.AppID != 0 || g.AppPrivateKeyFile != "" }

// Kafka configures the event log of the distributed mode.
type Kafka struct {
	// Brokers are the bootstrap brokers as host:port. Default: none, which
	// selects the embedded mode (no Kafka at all).
	Brokers []string `yaml:"brokers"`
	// TopicPrefix is prepended to every topic name, so several deployments
	// can share a cluster. Default "changeproof.".
	TopicPrefix string `yaml:"topic_prefix"`
	// Group is the consumer group the pipeline workers share. Default
	// "changeproof".
	Group string `yaml:"group"`
	// Partitions is the partition count of topics changeproof creates.
	// Default 6.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor of topics changeproof creates. Default 1 (set 3 on
	// a production cluster).
	ReplicationFactor int `yaml:"replication_factor"`
	// TLS turns on TLS to the brokers, verified against the system roots.
	// Default false.
	TLS bool `yaml:"tls"`
	// SASL authenticates to the brokers. Default: no authentication.
	SASL SASL `yaml:"sasl"`
}

// SASL is Kafka's SASL authentication.
type SASL struct {
	// Mechanism is "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty turns
	// SASL off. Default "".
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user; required with a mechanism. Default "".
	Username string `yaml:"username"`
	// Password is the SASL password. Default "".
	Password string `yaml:"password" secret:"true"`
	// PasswordFile names a file holding Password. Default: none.
	PasswordFile string `yaml:"password_file"`
}

// SASL mechanisms, the values of SASL.Mechanism besides "".
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// ClickHouse configures the evidence store.
type ClickHouse struct {
	// Addr is a ClickHouse server's native-protocol host:port (usually port
	// 9000). Default: empty, meaning the embedded engine under --data-dir.
	Addr string `yaml:"addr"`
	// Database holds changeproof's tables, in both modes. Default
	// "changeproof".
	Database string `yaml:"database"`
	// User is the ClickHouse user. Default "default".
	User string `yaml:"user"`
	// Password is the ClickHouse user's password. Default "".
	Password string `yaml:"password" secret:"true"`
	// PasswordFile names a file holding Password. Default: none.
	PasswordFile string `yaml:"password_file"`
	// TLS turns on TLS to the server. Default false.
	TLS bool `yaml:"tls"`
	// Cluster, when set, makes the tables Replicated*MergeTree with
	// Distributed tables in front, created ON CLUSTER this cluster.
	// Default: empty, meaning plain MergeTree tables on one server.
	Cluster string `yaml:"cluster"`
}

// Scope decides what produces findings.
type Scope struct {
	// Repos are the in-scope repositories as case-insensitive path.Match
	// globs over "owner/name", e.g. "acme/payments-*" ("*/*" is every
	// repository). Default: none, so nothing is in scope until configured:
	// an audit population must be chosen, never assumed.
	Repos []string `yaml:"repos"`
	// ExcludeRepos are globs, like Repos, that take repositories back out
	// of scope. Default: none.
	ExcludeRepos []string `yaml:"exclude_repos"`
	// ProductionEnvironments are the deploy environment names that count
	// as production (compared case-insensitively). Default
	// ["production", "prod"].
	ProductionEnvironments []string `yaml:"production_environments"`
	// Services maps a deployed service's name, as deploy events carry it,
	// to the repositories it is built from. Default: none.
	Services map[string]Service `yaml:"services"`
}

// Service is one deployed service.
type Service struct {
	// Repos are the service's repositories as "owner/name".
	Repos []string `yaml:"repos"`
}

// Policy tunes the change-management controls; docs/controls.md says how
// each control reads these keys.
type Policy struct {
	// MinApprovals is how many qualifying approvals a pull request needs
	// (CM-2, CM-3) and the least required_approving_review_count branch
	// protection may have (CM-6). Default 1.
	MinApprovals int `yaml:"min_approvals"`
	// RequireApprovalOnFinalCommit enables CM-3: approvals must be of the
	// final head commit. Default true.
	RequireApprovalOnFinalCommit bool `yaml:"require_approval_on_final_commit"`
	// EmergencyLabels mark an emergency pull request, which may be
	// approved after merge within EmergencyReviewWindow (compared
	// case-insensitively). Default ["emergency", "hotfix"].
	EmergencyLabels []string `yaml:"emergency_labels"`
	// EmergencyReviewWindow is how long after merge an emergency change
	// may get its retro review. Default 72h.
	EmergencyReviewWindow Duration `yaml:"emergency_review_window"`
	// RequireTicket enables CM-4 (changes must name a ticket). Default
	// false.
	RequireTicket bool `yaml:"require_ticket"`
	// TicketPattern is the regular expression (Go RE2 syntax, unanchored)
	// a ticket key matches, for CM-4 and break-glass justifications (AC-2).
	// Default "[A-Z][A-Z0-9]+-[0-9]+".
	TicketPattern string `yaml:"ticket_pattern"`
	// Bots are logins treated as bots besides those ending in "[bot]".
	// Default: none.
	Bots []string `yaml:"bots"`
	// BotChanges is "require_approval" (bot-authored pull requests need
	// approval like any other) or "exempt" (CM-2 is not_applicable to
	// them). Default "require_approval".
	BotChanges string `yaml:"bot_changes"`
	// DirectPushExempt are logins whose direct pushes are not_applicable
	// for CM-1 instead of fail. Default: none.
	DirectPushExempt []string `yaml:"direct_push_exempt"`
	// RequireAdminEnforcement makes CM-6 fail branch protection that
	// administrators can bypass. Default true.
	RequireAdminEnforcement bool `yaml:"require_admin_enforcement"`
	// ExcludeContributors makes an approval by a contributor of the pull
	// request (someone who pushed to its head branch, or authored or
	// committed one of its commits, while it was open) not count (CM-2,
	// CM-3). Default true.
	ExcludeContributors bool `yaml:"exclude_contributors"`
	// BotMinApprovals is how many qualifying (human) approvals a
	// bot-authored pull request needs, when BotChanges is
	// "require_approval"; 0 means MinApprovals. Default 0.
	BotMinApprovals int `yaml:"bot_min_approvals"`
	// AllowedBypassActors are ruleset bypass actors, "actor_type:actor_id"
	// (e.g. "Integration:12345", "RepositoryRole:5", "OrganizationAdmin:1"),
	// that do not make CM-6 fail. Default: none.
	AllowedBypassActors []string `yaml:"allowed_bypass_actors"`
	// RequiredChecks are the check run names and commit status contexts
	// that must pass on a pull request's final commit before merge (CM-7).
	// Default: none, and CM-7 is not evaluated.
	RequiredChecks []string `yaml:"required_checks"`
	// ChecksAllowNeutral counts neutral and skipped check runs as passed
	// (CM-7). Default true.
	ChecksAllowNeutral bool `yaml:"checks_allow_neutral"`
}

// Bot-change policies, the values of Policy.BotChanges.
const (
	BotChangesRequireApproval = "require_approval"
	BotChangesExempt          = "exempt"
)

// Access lists the production systems the access controls judge.
type Access struct {
	// Systems maps a system name, as access events carry it, to who may
	// access it. Only listed systems produce access findings. Default: none.
	Systems map[string]System `yaml:"systems"`
}

// System is one in-scope production system.
type System struct {
	// Authorized are the identity names or logins allowed to access the
	// system (AC-1); logins are mapped through Identities first.
	Authorized []string `yaml:"authorized"`
	// BreakGlassRoles are roles whose use is emergency access, judged by
	// AC-2 instead of AC-1 and always alerted.
	BreakGlassRoles []string `yaml:"break_glass_roles"`
	// Timezone is the IANA time zone ("Europe/Berlin") of the system's
	// classic syslog timestamps, which carry none. Default: UTC.
	Timezone string `yaml:"timezone"`
}

// Location returns the system's time zone (UTC when Timezone is empty), or
// an error naming the bad value.
func (s System) Location() (*time.Location, error) {
	if s.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Berlin)", s.Timezone)
	}
	return loc, nil
}

// Identity is one person and the logins and principals they own. A login
// listed under no identity is a person of its own.
type Identity struct {
	// Name names the person in findings; it also resolves as a login.
	// Required and unique.
	Name string `yaml:"name"`
	// Logins are the person's GitHub logins, e-mail addresses and system
	// principals (compared case-insensitively). At least one is required,
	// and no login may belong to two identities.
	Logins []string `yaml:"logins"`
	// TerminatedAt is when the person left; activity after it fails AC-3.
	// RFC 3339, or a date meaning the start of that day UTC. Default: zero,
	// meaning still employed.
	TerminatedAt Instant `yaml:"terminated_at"`
}

// Waiver accepts a known failure of one rule on one subject until it
// expires (docs/controls.md, "Waivers"). Every field is required, so that the
// waiver is evidence on its own.
type Waiver struct {
	// Rule is the waived control's ID, e.g. "CM-2".
	Rule string `yaml:"rule"`
	// Subject is the waived finding's subject, e.g. "acme/web#12".
	Subject string `yaml:"subject"`
	// Reason says why the failure is accepted.
	Reason string `yaml:"reason"`
	// ApprovedBy names who accepted it.
	ApprovedBy string `yaml:"approved_by"`
	// Expires is the last moment the waiver applies: RFC 3339, or a date
	// meaning the end of that day UTC (2026-12-31 is
	// 2026-12-31T23:59:59.999999999Z). The waiver covers failures
	// evaluated up to and including that moment.
	Expires Expiry `yaml:"expires"`
}

// Alerts configures alerting on failing findings.
type Alerts struct {
	// Grace is how long a provisional direct-push failure waits (in
	// processing time) for a late pull_request event before it is alerted.
	// Default 2m.
	Grace Duration `yaml:"grace"`
	// Digest, when set, batches alerts into at most one message per this
	// period (e.g. 1h), for noisy first imports. Default 0: one message per
	// alert.
	Digest Duration `yaml:"digest"`
	// APIURL is this server's public base URL (e.g.
	// "https://changeproof.acme.io"); alerts link to the evidence under it.
	// Default: empty, meaning messages carry no evidence link.
	APIURL string `yaml:"api_url"`
	// Slack is where alerts go. Default: nowhere (alerting off).
	Slack Slack `yaml:"slack"`
}

// Slack is the alert destination: an incoming webhook, or a bot token and
// a channel for chat.postMessage. Setting neither turns alerting off.
type Slack struct {
	// WebhookURL is an incoming-webhook URL. It embeds its own credential,
	// so it is a secret. Default "".
	WebhookURL string `yaml:"webhook_url" secret:"true"`
	// WebhookURLFile names a file holding WebhookURL. Default: none.
	WebhookURLFile string `yaml:"webhook_url_file"`
	// Token is a bot token (xoxb-...) for chat.postMessage. Default "".
	Token string `yaml:"token" secret:"true"`
	// TokenFile names a file holding Token. Default: none.
	TokenFile string `yaml:"token_file"`
	// Channel is the channel ID or name the bot posts to; required with
	// Token. Default "".
	Channel string `yaml:"channel"`
	// BaseURL replaces https://slack.com for the Web API, for tests and
	// proxies. Default: empty, meaning https://slack.com.
	BaseURL string `yaml:"base_url"`
}

// Signing configures the SSH signature of export manifests
// (manifest.json.sig), which auditors check with ssh-keygen -Y verify.
type Signing struct {
	// KeyFile is an unencrypted OpenSSH ed25519 private key
	// (ssh-keygen -t ed25519 -N ""), readable only by the service. Default:
	// empty, meaning exports are not signed.
	KeyFile string `yaml:"key_file"`
	// Identity is the principal auditors list the public key under in
	// their allowed_signers file (ssh-keygen's -I). Default "changeproof".
	Identity string `yaml:"identity"`
}

// Default returns the documented defaults, the configuration an empty file
// gives. Each call returns fresh slices, so callers may modify the result.
func Default() Config {
	return Config{
		Server: Server{
			Addr:            ":8080",
			ReadTimeout:     Duration(30 * time.Second),
			IdleTimeout:     Duration(120 * time.Second),
			MaxHeaderBytes:  64 << 10,
			ShutdownTimeout: Duration(15 * time.Second),
		},
		GitHub: GitHub{
			ReconcileEvery: Duration(time.Hour),
		},
		Kafka: Kafka{
			TopicPrefix:       "changeproof.",
			Group:             "changeproof",
			Partitions:        6,
			ReplicationFactor: 1,
		},
		ClickHouse: ClickHouse{
			Database: "changeproof",
			User:     "default",
		},
		Scope: Scope{
			ProductionEnvironments: []string{"production", "prod"},
		},
		Policy: Policy{
			MinApprovals:                 1,
			RequireApprovalOnFinalCommit: true,
			EmergencyLabels:              []string{"emergency", "hotfix"},
			EmergencyReviewWindow:        Duration(72 * time.Hour),
			TicketPattern:                "[A-Z][A-Z0-9]+-[0-9]+",
			BotChanges:                   BotChangesRequireApproval,
			RequireAdminEnforcement:      true,
			ExcludeContributors:          true,
			ChecksAllowNeutral:           true,
		},
		Alerts: Alerts{
			Grace: Duration(2 * time.Minute),
		},
		Signing: Signing{
			Identity: "changeproof",
		},
	}
}
