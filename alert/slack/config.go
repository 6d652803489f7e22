package slack

import (
	"context"
	"errors"
	"net/http"
)

// Poster posts one message. *Webhook and *PostMessage implement it.
type Poster interface {
	Post(ctx context.Context, m Message) error
}

// Config is the alerts.slack configuration.
type Config struct {
	WebhookURL string
	Token      string
	Channel    string
	BaseURL    string
}

// Enabled reports whether a destination is configured.
func (c Config) Enabled() bool { return c.WebhookURL != "" || c.Token != "" }

// ErrNotConfigured is New's error when neither a webhook URL nor a token
// is set.
var ErrNotConfigured = errors.New("slack: no destination: set alerts.slack.webhook_url, or alerts.slack.token and alerts.slack.channel")

// New returns the transport the configuration names: an incoming webhook
// when WebhookURL is set, chat.postMessage when Token is set. Errors name
// the configuration key.
func New(c Config, client *http.Client) (Poster, error) {
	switch {
	case c.WebhookURL != "" && c.Token != "":
		return nil, errors.New("alerts.slack: set webhook_url or token, not both")
	case c.WebhookURL != "":
		w := &Webhook{URL: c.WebhookURL, BaseURL: c.BaseURL, Client: client}
		if err := checkHTTPURL(c.WebhookURL); err != nil {
			return nil, errors.New("alerts.slack.webhook_url: must be an absolute http(s) URL")
		}
		if c.BaseURL != "" {
			if err := checkHTTPURL(c.BaseURL); err != nil {
				return nil, errors.New("alerts.slack.base_url: " + err.Error())
			}
		}
		return w, nil
	case c.Token != "":
		if c.Channel == "" {
			return nil, errors.New("alerts.slack.channel: empty (required with alerts.slack.token)")
		}
		if c.BaseURL != "" {
			if err := checkHTTPURL(c.BaseURL); err != nil {
				return nil, errors.New("alerts.slack.base_url: " + err.Error())
			}
		}
		return &PostMessage{Token: c.Token, Channel: c.Channel, BaseURL: c.BaseURL, Client: client}, nil
	}
	return nil, ErrNotConfigured
}
