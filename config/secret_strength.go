package config

import (
	"fmt"
	"strings"
)

// MinSecretBytes is the shortest bearer token or webhook secret the server
// accepts: 16 bytes resist guessing; `openssl rand -hex 32` makes a good one.
const MinSecretBytes = 16

// placeholders are words that mark a value copied from an example and never
// replaced. Compared case-insensitively, ignoring "-", "_", " " and ".".
var placeholders = []string{"replaceme", "changeme", "changethis", "placeholder", "yoursecret", "yourtoken", "yourpassword", "insertsecret", "inserttoken"}

// placeholder returns the placeholder word s contains ("" for none).
func placeholder(s string) string {
	norm := strings.NewReplacer("-", "", "_", "", " ", "", ".", "").Replace(strings.ToLower(s))
	for _, w := range placeholders {
		if strings.Contains(norm, w) {
			return w
		}
	}
	return ""
}

// secretStrength refuses secrets that anyone could guess: placeholders left
// from an example in any secret, and bearer tokens or the webhook secret
// shorter than MinSecretBytes. Messages name the key, never the value.
func (p *problems) secretStrength(c Config) {
	check := func(key, v string, minLen bool) {
		if v == "" || v == Redaction {
			return
		}
		if w := placeholder(v); w != "" {
			p.add(key, "is a placeholder (contains %q): set a generated secret, e.g. `openssl rand -hex 32`", w)
			return
		}
		if minLen && len(v) < MinSecretBytes {
			p.add(key, "is %d bytes, shorter than %d: a guessable secret; generate one, e.g. `openssl rand -hex 32`", len(v), MinSecretBytes)
		}
	}
	for i, t := range c.Server.Tokens {
		check(fmt.Sprintf("server.tokens[%d].token", i), t.Token, true)
	}
	check("github.webhook_secret", c.GitHub.WebhookSecret, true)
	check("github.token", c.GitHub.Token, false)
	check("kafka.sasl.password", c.Kafka.SASL.Password, false)
	check("clickhouse.password", c.ClickHouse.Password, false)
	check("alerts.slack.webhook_url", c.Alerts.Slack.WebhookURL, false)
	check("alerts.slack.token", c.Alerts.Slack.Token, false)
}
