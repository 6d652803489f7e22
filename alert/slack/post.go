package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswer bounds how much of Slack's answer is read.
const maxAnswer = 64 << 10

// payload is the JSON body both transports send.
type payload struct {
	Channel     string  `json:"channel,omitempty"`
	Text        string  `json:"text"`
	Blocks      []Block `json:"blocks,omitempty"`
	UnfurlLinks bool    `json:"unfurl_links"`
	UnfurlMedia bool    `json:"unfurl_media"`
}

func newPayload(channel string, m Message) payload {
	return payload{Channel: channel, Text: Truncate(m.Text, MaxText), Blocks: m.Blocks}
}

// post sends body to target and returns the answer's status, headers and
// (bounded) body. safeTarget names the target in errors without secrets.
func post(ctx context.Context, client *http.Client, method, target, safeTarget, token string, body payload) (*http.Response, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, &Error{Method: method, Err: fmt.Errorf("encode message: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return nil, nil, &Error{Method: method, Err: fmt.Errorf("build request for %s: %v", safeTarget, redact(err, target, safeTarget))}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, &Error{Method: method, Temporary: true, Err: fmt.Errorf("post to %s: %w", safeTarget, ctx.Err())}
		}
		return nil, nil, &Error{Method: method, Temporary: true, Err: fmt.Errorf("post to %s: %v", safeTarget, redact(err, target, safeTarget))}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode/100 != 2 {
		return nil, nil, &Error{Method: method, Status: resp.StatusCode, Temporary: true,
			Err: fmt.Errorf("read answer of %s: %v", safeTarget, redact(err, target, safeTarget))}
	}
	return resp, answer, nil
}

// redact removes the URL (which may embed a secret) from a transport error.
func redact(err error, target, safe string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if target != "" {
		msg = strings.ReplaceAll(msg, target, safe)
	}
	return errors.New(msg)
}

// rebase replaces u's scheme and host with base's, prefixing base's path.
func rebase(u, base string) (string, error) {
	target, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if base == "" {
		return target.String(), nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	target.Scheme, target.Host = b.Scheme, b.Host
	if p := trimSlash(b.Path); p != "" {
		target.Path = p + target.Path
		target.RawPath = ""
	}
	return target.String(), nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
