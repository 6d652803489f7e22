package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/alert/slack"
	"github.com/changeproof/changeproof/alert/slack/slacktest"
)

var msg = slack.Message{Text: "CM-2 independent-approval failed: acme/pay#7",
	Blocks: []slack.Block{slack.Header("CM-2 independent-approval failed"), slack.Section("*Subject:* acme/pay#7")}}

const secretURL = "https://hooks.slack.com" + slacktest.WebhookPath

func TestWebhookPostsJSONToTheRebasedURL(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	w := &slack.Webhook{URL: secretURL, BaseURL: fake.URL}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := w.Post(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	reqs := fake.Delivered()
	if len(reqs) != 1 {
		t.Fatalf("%d delivered", len(reqs))
	}
	r := reqs[0]
	if r.Path != slacktest.WebhookPath || r.ContentType != "application/json; charset=utf-8" || r.Authorization != "" {
		t.Errorf("path %q content type %q auth %q", r.Path, r.ContentType, r.Authorization)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["text"] != msg.Text || body["channel"] != nil || len(body["blocks"].([]any)) != 2 {
		t.Errorf("body = %s", r.Body)
	}
	if r.Message.Blocks[0].Type != "header" || r.Message.Blocks[0].Text.Type != "plain_text" {
		t.Errorf("blocks = %+v", r.Message.Blocks)
	}

	// A base URL with a path prefixes the webhook's path (a proxy).
	w.BaseURL = fake.URL + "/proxy/"
	if err := w.Post(context.Background(), msg); err != nil {
		t.Error(err)
	} else if reqs := fake.Requests(); reqs[len(reqs)-1].Path != "/proxy"+slacktest.WebhookPath {
		t.Errorf("proxied path = %q", reqs[len(reqs)-1].Path)
	}
}

func TestWebhookErrors(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	w := &slack.Webhook{URL: secretURL, BaseURL: fake.URL}
	for _, tc := range []struct {
		answer slacktest.Answer
		retry  bool
		after  time.Duration
		text   string
	}{
		{slacktest.Answer{Status: 429, RetryAfter: "7", Body: "rate_limited"}, true, 7 * time.Second, "slack webhook: HTTP 429: rate_limited (retry after 7s)"},
		{slacktest.Answer{Status: 500, Body: "rollup_error"}, true, 0, "slack webhook: HTTP 500: rollup_error"},
		{slacktest.Answer{Status: 503, RetryAfter: "30"}, true, 30 * time.Second, "slack webhook: HTTP 503 (retry after 30s)"},
		{slacktest.Answer{Status: 404, Body: "no_service"}, false, 0, "slack webhook: HTTP 404: no_service"},
		{slacktest.Answer{Status: 403, Body: "invalid_token"}, false, 0, "slack webhook: HTTP 403: invalid_token"},
		{slacktest.Answer{Status: 400, Body: "invalid_payload"}, false, 0, "slack webhook: HTTP 400: invalid_payload"},
	} {
		fake.Script(tc.answer)
		err := w.Post(context.Background(), msg)
		retry, after := slack.Retryable(err)
		if err == nil || err.Error() != tc.text || retry != tc.retry || after != tc.after {
			t.Errorf("answer %+v: err %v, retry %v after %v; want %q, %v, %v", tc.answer, err, retry, after, tc.text, tc.retry, tc.after)
		}
	}
}

func TestNetworkErrorsAreRetryableAndHideTheSecret(t *testing.T) {
	fake := slacktest.New()
	base := fake.URL
	fake.Close()
	for _, w := range []*slack.Webhook{{URL: secretURL, BaseURL: base}, {URL: base + slacktest.WebhookPath}} {
		err := w.Post(context.Background(), msg)
		if retry, _ := slack.Retryable(err); err == nil || !retry {
			t.Errorf("connection refused: err %v retry %v", err, retry)
		}
		if strings.Contains(err.Error(), "T0000") || strings.Contains(err.Error(), "services") {
			t.Errorf("error shows the webhook's secret path: %v", err)
		}
	}
}

func TestHangIsBoundedByTheContext(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	fake.Script(slacktest.Answer{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := (&slack.Webhook{URL: fake.WebhookURL()}).Post(ctx, msg)
	if retry, _ := slack.Retryable(err); err == nil || !retry || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err %v retry %v", err, retry)
	}
}

func TestPostMessage(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	fake.Token = "xoxb-1"
	p := &slack.PostMessage{Token: "xoxb-1", Channel: "C123", BaseURL: fake.URL + "/"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := p.Post(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	r := fake.Delivered()[0]
	if r.Path != "/api/chat.postMessage" || r.Authorization != "Bearer xoxb-1" || r.Channel != "C123" || r.Message.Text != msg.Text {
		t.Errorf("request = %+v", r)
	}
	for _, tc := range []struct {
		answer slacktest.Answer
		retry  bool
		after  time.Duration
		text   string
	}{
		{slacktest.OKFalse("channel_not_found"), false, 0, "slack chat.postMessage: channel_not_found"},
		{slacktest.OKFalse("not_in_channel"), false, 0, "slack chat.postMessage: not_in_channel"},
		{slacktest.OKFalse("ratelimited"), true, 0, "slack chat.postMessage: ratelimited"},
		{slacktest.Answer{Body: `{"ok":false,"error":"ratelimited"}`, RetryAfter: "2"}, true, 2 * time.Second, "slack chat.postMessage: ratelimited (retry after 2s)"},
		{slacktest.OKFalse("internal_error"), true, 0, "slack chat.postMessage: internal_error"},
		{slacktest.Answer{Status: 429, RetryAfter: "5", Body: `{"ok":false,"error":"ratelimited"}`}, true, 5 * time.Second,
			`slack chat.postMessage: HTTP 429: {"ok":false,"error":"ratelimited"} (retry after 5s)`},
		{slacktest.Answer{Status: 502, Body: "<html>bad gateway</html>"}, true, 0, "slack chat.postMessage: HTTP 502: <html>bad gateway</html>"},
		{slacktest.Answer{Body: "<html>proxy login</html>"}, false, 0, "slack chat.postMessage: unreadable answer: <html>proxy login</html>"},
	} {
		fake.Script(tc.answer)
		err := p.Post(context.Background(), msg)
		retry, after := slack.Retryable(err)
		if err == nil || err.Error() != tc.text || retry != tc.retry || after != tc.after {
			t.Errorf("answer %+v: err %v, retry %v after %v; want %q, %v, %v", tc.answer, err, retry, after, tc.text, tc.retry, tc.after)
		}
	}
	bad := &slack.PostMessage{Token: "xoxb-revoked", Channel: "C123", BaseURL: fake.URL}
	err := bad.Post(context.Background(), msg)
	if retry, _ := slack.Retryable(err); err == nil || retry || strings.Contains(err.Error(), "xoxb") {
		t.Errorf("invalid_auth: err %v retry %v", err, retry)
	}
	var se *slack.Error
	if !errors.As(err, &se) || se.Code != "invalid_auth" || se.Status != 200 {
		t.Errorf("invalid_auth: %#v", err)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		c    slack.Config
		want string
	}{
		{slack.Config{}, slack.ErrNotConfigured.Error()},
		{slack.Config{WebhookURL: secretURL, Token: "x"}, "alerts.slack: set webhook_url or token, not both"},
		{slack.Config{Token: "x"}, "alerts.slack.channel: empty (required with alerts.slack.token)"},
		{slack.Config{WebhookURL: "hooks.slack.com/services/x"}, "alerts.slack.webhook_url: must be an absolute http(s) URL"},
		{slack.Config{Token: "x", Channel: "C1", BaseURL: "localhost:1"}, "alerts.slack.base_url: must be an absolute http(s) URL"},
	} {
		if _, err := slack.New(tc.c, nil); err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
	if p, err := slack.New(slack.Config{WebhookURL: secretURL, BaseURL: "http://127.0.0.1:1"}, nil); err != nil {
		t.Error(err)
	} else if _, ok := p.(*slack.Webhook); !ok {
		t.Errorf("webhook config gave %T", p)
	}
	if p, err := slack.New(slack.Config{Token: "x", Channel: "C1"}, nil); err != nil {
		t.Error(err)
	} else if _, ok := p.(*slack.PostMessage); !ok {
		t.Errorf("token config gave %T", p)
	}
}

func TestTextHelpers(t *testing.T) {
	if got := slack.Escape("a & <b>"); got != "a &amp; &lt;b&gt;" {
		t.Errorf("Escape = %q", got)
	}
	if got := slack.Link("https://x/?a=1&b=2", "acme/pay#7"); got != "<https://x/?a=1&amp;b=2|acme/pay#7>" {
		t.Errorf("Link = %q", got)
	}
	if got := slack.Link("", "a<b"); got != "a&lt;b" {
		t.Errorf("Link without URL = %q", got)
	}
	if got := slack.Truncate("héllo wörld", 8); got != "héll…" || len(got) > 8 {
		t.Errorf("Truncate = %q", got)
	}
	if h := slack.Header(strings.Repeat("x", 200)); len(h.Text.Text) > slack.MaxHeader {
		t.Errorf("header of %d bytes", len(h.Text.Text))
	}
}
