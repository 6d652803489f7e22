package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// writeSecret writes a secret file for one test and returns its path.
func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSecretFields(t *testing.T) {
	cfg := Default()
	cfg.Server.Tokens = []Token{{}}
	var got []string
	visitSecrets(reflect.ValueOf(&cfg).Elem(), "", false, func(key string, _, _ reflect.Value) error {
		got = append(got, key)
		return nil
	})
	want := []string{
		"server.tokens[0].token",
		"github.webhook_secret",
		"github.token",
		"kafka.sasl.password",
		"clickhouse.password",
		"alerts.slack.webhook_url",
		"alerts.slack.token",
	}
	if !slices.Equal(got, want) {
		t.Errorf("secrets = %q, want %q", got, want)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	gh := writeSecret(t, "gh", "webhook-s3cret-0123456789\n")
	ci := writeSecret(t, "ci", "ci-t0k3n-0123456789\r\n")
	ch := writeSecret(t, "ch", "pa ss\n\n")
	slack := writeSecret(t, "slack", "https://hooks.slack.com/services/T/B/x")
	path := writeConfig(t, `
github:
  webhook_secret_file: `+gh+`
server:
  tokens:
    - {name: ci, role: ingest, token_file: `+ci+`}
    - {name: admin, role: admin, token: inline-0123456789abcdef}
clickhouse:
  password_file: `+ch+`
`)
	cfg, err := LoadWithEnv(path, []string{"CHANGEPROOF_ALERTS_SLACK_WEBHOOK_URL_FILE=" + slack})
	if err != nil {
		t.Fatal(err)
	}
	for key, c := range map[string]struct{ got, want string }{
		"github.webhook_secret":                      {cfg.GitHub.WebhookSecret, "webhook-s3cret-0123456789"},
		"server.tokens[0].token":                     {cfg.Server.Tokens[0].Token, "ci-t0k3n-0123456789"},
		"server.tokens[1].token":                     {cfg.Server.Tokens[1].Token, "inline-0123456789abcdef"},
		"clickhouse.password":                        {cfg.ClickHouse.Password, "pa ss"},
		"alerts.slack.webhook_url":                   {cfg.Alerts.Slack.WebhookURL, "https://hooks.slack.com/services/T/B/x"},
		"github.webhook_secret_file (kept for logs)": {cfg.GitHub.WebhookSecretFile, gh},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", key, c.got, c.want)
		}
	}
}

func TestSecretAndFileBothSet(t *testing.T) {
	gh := writeSecret(t, "gh", "s3cret\n")
	path := writeConfig(t, "github:\n  webhook_secret: inline\n  webhook_secret_file: "+gh+"\n"+
		"server:\n  tokens:\n    - {name: ci, role: ingest, token: a, token_file: "+gh+"}\n")
	_, err := LoadWithEnv(path, nil)
	p := "config " + path + ": "
	wantError(t, err, p+"server.tokens[0].token and server.tokens[0].token_file are both set; set only one\n"+
		p+"github.webhook_secret and github.webhook_secret_file are both set; set only one")

	// Both from the environment is the same mistake.
	_, err = LoadWithEnv("", []string{"CHANGEPROOF_GITHUB_TOKEN=x", "CHANGEPROOF_GITHUB_TOKEN_FILE=" + gh})
	wantError(t, err, "config: github.token and github.token_file are both set; set only one")
}

func TestEnvSecretOverridesTheFilesOtherForm(t *testing.T) {
	gh := writeSecret(t, "gh", "from-file-0123456789\n")
	path := writeConfig(t, "github:\n  webhook_secret: inline\n  token_file: "+gh+"\n")
	cfg, err := LoadWithEnv(path, []string{
		"CHANGEPROOF_GITHUB_WEBHOOK_SECRET_FILE=" + gh,
		"CHANGEPROOF_GITHUB_TOKEN=from-env",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GitHub.WebhookSecret != "from-file-0123456789" || cfg.GitHub.Token != "from-env" || cfg.GitHub.TokenFile != "" {
		t.Errorf("github = %+v", cfg.GitHub)
	}
}

func TestSecretFileMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gh")
	path := writeConfig(t, "github:\n  webhook_secret_file: "+missing+"\n")
	_, err := LoadWithEnv(path, nil)
	wantError(t, err, "config "+path+`: github.webhook_secret_file: cannot read "`+missing+`": no such file or directory`)

	_, err = LoadWithEnv("", []string{"CHANGEPROOF_KAFKA_SASL_PASSWORD_FILE=" + missing})
	wantError(t, err, `config: kafka.sasl.password_file: cannot read "`+missing+`": no such file or directory`)
}

func TestSecretFileEmpty(t *testing.T) {
	empty := writeSecret(t, "empty", "\n")
	_, err := LoadWithEnv("", []string{"CHANGEPROOF_ALERTS_SLACK_TOKEN_FILE=" + empty})
	wantError(t, err, `config: alerts.slack.token_file: "`+empty+`" is empty`)
}

func TestRedacted(t *testing.T) {
	cfg := Default()
	cfg.GitHub.WebhookSecret = "s1"
	cfg.GitHub.TokenFile = "/run/secrets/gh"
	cfg.Kafka.SASL.Password = "s2"
	cfg.ClickHouse.Password = "s3"
	cfg.Alerts.Slack.WebhookURL = "https://hooks.slack.com/services/T/B/x"
	cfg.Server.Tokens = []Token{{Name: "ci", Role: RoleIngest, Token: "s4"}}
	r := cfg.Redacted()
	for key, c := range map[string]struct{ got, want string }{
		"github.webhook_secret":      {r.GitHub.WebhookSecret, Redaction},
		"github.token (unset)":       {r.GitHub.Token, ""},
		"github.token_file (a path)": {r.GitHub.TokenFile, "/run/secrets/gh"},
		"kafka.sasl.password":        {r.Kafka.SASL.Password, Redaction},
		"clickhouse.password":        {r.ClickHouse.Password, Redaction},
		"alerts.slack.webhook_url":   {r.Alerts.Slack.WebhookURL, Redaction},
		"alerts.slack.token (unset)": {r.Alerts.Slack.Token, ""},
		"server.tokens[0].token":     {r.Server.Tokens[0].Token, Redaction},
		"server.tokens[0].name":      {r.Server.Tokens[0].Name, "ci"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", key, c.got, c.want)
		}
	}
	if cfg.Server.Tokens[0].Token != "s4" || cfg.GitHub.WebhookSecret != "s1" {
		t.Error("Redacted modified the original")
	}
	if _, _, ok := r.Server.RoleOf(Redaction); ok {
		t.Error("a redacted configuration authenticates its placeholder")
	}
}
