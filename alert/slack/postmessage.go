package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// DefaultBaseURL is Slack's Web API host.
const DefaultBaseURL = "https://slack.com"

// PostMessage posts with the chat.postMessage Web API method and a bot
// token. The zero value is not usable: set Token and Channel.
type PostMessage struct {
	// Token is the bot token (xoxb-…). Errors and logs never show it.
	Token string
	// Channel is the channel ID or name to post to.
	Channel string
	// BaseURL replaces DefaultBaseURL, for tests and proxies.
	BaseURL string
	// Client sends the request; nil = http.DefaultClient.
	Client *http.Client
}

// Validate checks the configuration; errors name the field.
func (p *PostMessage) Validate() error {
	if p.Token == "" {
		return errors.New("slack chat.postMessage: Token: empty")
	}
	if p.Channel == "" {
		return errors.New("slack chat.postMessage: Channel: empty (required with Token)")
	}
	if p.BaseURL != "" {
		if err := checkHTTPURL(p.BaseURL); err != nil {
			return errors.New("slack chat.postMessage: BaseURL: " + err.Error())
		}
	}
	return nil
}

// Post sends m as {channel, text, blocks} with Authorization: Bearer.
// Slack reports most errors as HTTP 200 with {"ok": false, "error": code}:
// ok:false is a failure, temporary for rate limits and Slack-side errors
// ("ratelimited", "internal_error", "service_unavailable", …) and
// permanent otherwise ("invalid_auth", "channel_not_found",
// "not_in_channel", …). HTTP 429 and 5xx are temporary.
func (p *PostMessage) Post(ctx context.Context, m Message) error {
	base := strings.TrimRight(p.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	target := base + "/api/chat.postMessage"
	resp, body, err := post(ctx, p.Client, "chat.postMessage", target, target, p.Token, newPayload(p.Channel, m))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return statusError("chat.postMessage", resp, string(body))
	}
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		// Not Slack (a proxy's page?): whether the message was posted is
		// unknown, and retrying could post it twice.
		return &Error{Method: "chat.postMessage", Status: resp.StatusCode, Code: "unreadable answer: " + Truncate(strings.TrimSpace(string(body)), 100)}
	}
	if answer.OK {
		return nil
	}
	e := &Error{Method: "chat.postMessage", Status: resp.StatusCode, Code: answer.Error}
	if e.Code == "" {
		e.Code = "ok:false without an error code"
	}
	if temporaryCodes[answer.Error] {
		e.Temporary = true
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}
