package slack

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Webhook posts to a Slack incoming webhook. The zero value is not usable:
// set URL.
type Webhook struct {
	// URL is the incoming-webhook URL (https://hooks.slack.com/services/…).
	// Its path is a credential: errors and logs never show it.
	URL string
	// BaseURL, if set, replaces the URL's scheme and host (its path, if
	// any, prefixes the webhook's path), for tests and proxies.
	BaseURL string
	// Client sends the request; nil = http.DefaultClient. Bound each Post
	// with ctx: the client's own timeout is not relied on.
	Client *http.Client
}

// Validate checks the configuration; errors name the field.
func (w *Webhook) Validate() error {
	if w.URL == "" {
		return errors.New("slack webhook: URL: empty")
	}
	if err := checkHTTPURL(w.URL); err != nil {
		return errors.New("slack webhook: URL: must be an absolute http(s) URL") // a secret: not echoed
	}
	if w.BaseURL != "" {
		if err := checkHTTPURL(w.BaseURL); err != nil {
			return errors.New("slack webhook: BaseURL: " + err.Error())
		}
	}
	return nil
}

// Post sends m as {text, blocks}. Slack answers 200 "ok"; any 2xx is
// success. 429 and 5xx are temporary (*Error.RetryAfter from Retry-After);
// other statuses (400 invalid_payload, 403 invalid_token, 404 no_service,
// 410 channel_is_archived, …) are permanent.
func (w *Webhook) Post(ctx context.Context, m Message) error {
	target, err := rebase(w.URL, w.BaseURL)
	if err != nil {
		return &Error{Method: "webhook", Err: errors.New("URL: not a URL")}
	}
	safe := safeURL(target)
	resp, body, err := post(ctx, w.Client, "webhook", target, safe, "", newPayload("", m))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return statusError("webhook", resp, string(body))
}

// safeURL is u without its path: the webhook's credential.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the webhook URL"
	}
	return p.Scheme + "://" + p.Host + "/…"
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}
