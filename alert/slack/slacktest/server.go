// Package slacktest is a fake Slack for tests: an HTTP server that takes
// incoming-webhook posts (any path but /api/…) and chat.postMessage calls,
// records them, and answers as scripted: success, 429 with Retry-After,
// 5xx, {"ok":false}, or a hang until the client gives up.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/alert/slack"
)

// WebhookPath is the path of the fake's incoming webhook.
const WebhookPath = "/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"

// Answer is one scripted response.
type Answer struct {
	// Status is the HTTP status; 0 = 200.
	Status int
	// RetryAfter is the Retry-After header, if any.
	RetryAfter string
	// Body is the response body; "" = Slack's success body for the
	// endpoint ("ok", or {"ok":true,…}).
	Body string
	// Hang holds the request until the client gives up (or Close).
	Hang bool
}

// Request is one request the fake received.
type Request struct {
	Path          string
	Authorization string
	ContentType   string
	Body          []byte
	// Channel, Text and Blocks are the decoded body.
	Channel string
	Message slack.Message
	// Delivered says whether the fake answered with success: the message
	// is "in the channel".
	Delivered bool
	// At is when the request arrived.
	At time.Time
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	*httptest.Server
	// Token, if set, is the only bot token chat.postMessage accepts
	// (others get {"ok":false,"error":"invalid_auth"}).
	Token string

	mu       sync.Mutex
	script   []Answer
	requests []Request
	stop     chan struct{}
	once     sync.Once
}

// New starts a fake that answers success until scripted otherwise.
func New() *Server {
	s := &Server{stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.stop) })
	s.Server.Close()
}

// WebhookURL is the fake's incoming-webhook URL.
func (s *Server) WebhookURL() string { return s.URL + WebhookPath }

// Script queues answers for the next requests, in order; once they are
// used up, requests succeed.
func (s *Server) Script(as ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, as...)
}

// Requests returns every request received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Delivered returns the requests answered with success, in order.
func (s *Server) Delivered() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Delivered {
			out = append(out, r)
		}
	}
	return out
}

// Texts returns the fallback text of every delivered message, in order.
func (s *Server) Texts() []string {
	var out []string
	for _, r := range s.Delivered() {
		out = append(out, r.Message.Text)
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{At: time.Now(), Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Body: body}
	var p struct {
		Channel string        `json:"channel"`
		Text    string        `json:"text"`
		Blocks  []slack.Block `json:"blocks"`
	}
	decodeErr := json.Unmarshal(body, &p)
	req.Channel, req.Message = p.Channel, slack.Message{Text: p.Text, Blocks: p.Blocks}
	api := strings.HasPrefix(r.URL.Path, "/api/")

	s.mu.Lock()
	var a Answer
	if len(s.script) > 0 {
		a, s.script = s.script[0], s.script[1:]
	}
	idx := len(s.requests)
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if a.Hang {
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	answer := a.Body
	ok := status/100 == 2 && answer == ""
	switch {
	case decodeErr != nil || p.Text == "":
		status, answer, ok = http.StatusBadRequest, "invalid_payload", false
		if api {
			status, answer = http.StatusOK, `{"ok":false,"error":"invalid_arguments"}`
		}
	case api && r.URL.Path != "/api/chat.postMessage":
		status, answer, ok = http.StatusNotFound, `{"ok":false,"error":"unknown_method"}`, false
	case api && s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token && ok:
		answer, ok = `{"ok":false,"error":"invalid_auth"}`, false
	case api && ok:
		answer = fmt.Sprintf(`{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, p.Channel, idx)
	case ok:
		answer = "ok"
	}
	if ok {
		s.mu.Lock()
		s.requests[idx].Delivered = true
		s.mu.Unlock()
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	if api {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html")
	}
	w.WriteHeader(status)
	io.WriteString(w, answer) //nolint:errcheck
}

// OKFalse is an answer chat.postMessage gives for an error: HTTP 200 with
// {"ok":false,"error":code}.
func OKFalse(code string) Answer {
	return Answer{Body: fmt.Sprintf(`{"ok":false,"error":%q}`, code)}
}
