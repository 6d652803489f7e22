// Package github receives GitHub webhook deliveries: it checks the
// HMAC-SHA256 signature, the size and the JSON, and answers 202 only once the
// delivery is durable.
package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/changeproof/changeproof/ingest"
	"github.com/changeproof/changeproof/internal/jsonscan"
	"github.com/changeproof/changeproof/model"
)

// MaxBody is GitHub's cap on a webhook payload (25 MiB).
const MaxBody = 25 << 20

// Handler serves POST /webhooks/github. Safe for concurrent use.
type Handler struct {
	// Secret returns the webhook secret; a func so a reloaded config applies.
	Secret func() string
	Sink   ingest.Log
	Log    *zap.Logger
	// Now is the receipt clock; nil = time.Now.
	Now func() time.Time
	// Accepted, if set, is told of each delivery once it is durable,
	// before the 202 (e.g. a GitHub App's installation events wake
	// reconciliation). It must not block. Optional.
	Accepted func(model.Delivery)
}

type reply struct {
	Status   string `json:"status"`
	Delivery string `json:"delivery,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ingest.Received.WithLabelValues("github").Inc()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, http.StatusMethodNotAllowed, "method", "use POST")
		return
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.reject(w, http.StatusRequestEntityTooLarge, "too_large", "body exceeds 25 MiB (GitHub's cap)")
			return
		}
		h.reject(w, http.StatusBadRequest, "read", "could not read body: "+err.Error())
		return
	}
	secret := ""
	if h.Secret != nil {
		secret = h.Secret()
	}
	if secret == "" {
		h.reject(w, http.StatusServiceUnavailable, "no_secret", "github.webhook_secret is not configured; deliveries cannot be verified")
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		h.reject(w, http.StatusUnauthorized, "signature", "missing X-Hub-Signature-256")
		return
	}
	if !strings.HasPrefix(sig, "sha256=") {
		h.reject(w, http.StatusUnauthorized, "signature", "X-Hub-Signature-256 must be sha256=<hex>")
		return
	}
	payload, err := verify(r.Header.Get("Content-Type"), body, sig, secret)
	if err != nil {
		if errors.Is(err, ErrBadSignature) {
			h.reject(w, http.StatusUnauthorized, "signature", "signature does not match the body")
		} else {
			h.reject(w, http.StatusBadRequest, "body", err.Error())
		}
		return
	}
	if !jsonscan.Valid(payload) {
		h.reject(w, http.StatusBadRequest, "json", "body is not JSON")
		return
	}
	id := r.Header.Get("X-GitHub-Delivery")
	event := r.Header.Get("X-GitHub-Event")
	if id == "" || event == "" {
		h.reject(w, http.StatusBadRequest, "headers", "missing X-GitHub-Delivery or X-GitHub-Event")
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	sum := sha256.Sum256(payload)
	d := model.Delivery{Source: "github", Event: event, DeliveryID: id, ReceivedAt: now().UTC(),
		SHA256: hex.EncodeToString(sum[:]), Body: payload}
	refused, err := h.Sink.Append(r.Context(), []model.Delivery{d})
	if err != nil {
		if h.Log != nil {
			h.Log.Error("delivery not stored", zap.String("delivery", id), zap.String("event", event), zap.Error(err))
		}
		h.reject(w, http.StatusServiceUnavailable, "store", "delivery could not be stored; retry")
		return
	}
	if len(refused) == 1 && refused[0] != nil {
		// Another body under a delivery id already accepted: the first
		// stays the evidence; this one is kept as a conflict.
		if h.Log != nil {
			h.Log.Warn("delivery id re-used with another body", zap.String("delivery", id), zap.String("event", event), zap.Error(refused[0]))
		}
		h.reject(w, http.StatusConflict, "conflict", refused[0].Error())
		return
	}
	ingest.Accepted.WithLabelValues("github").Inc()
	if h.Accepted != nil {
		h.Accepted(d)
	}
	writeJSON(w, http.StatusAccepted, reply{Status: "accepted", Delivery: id})
}

// readChunk is how much readBody reads at a time. The buffer grows only as
// bytes arrive: a client declaring a large Content-Length and sending one
// byte costs one chunk, not the declared size.
const readChunk = 32 << 10

// readBody reads a request body in bounded chunks; it never sizes its
// buffer from the Content-Length header, which the client chooses.
func readBody(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, readChunk)
	for {
		if cap(buf)-len(buf) < readChunk/2 {
			buf = append(buf, make([]byte, readChunk)...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// ErrBadSignature is a delivery whose X-Hub-Signature-256 is not the
// HMAC-SHA256 of its body under the webhook secret (or has the wrong
// length): a forgery, a wrong secret, or a body changed on the way.
var ErrBadSignature = errors.New("signature does not match the body")

// verify checks the body's HMAC-SHA256 in constant time and returns the
// JSON payload: the body itself for application/json (parameters such as
// charset=utf-8 allowed), the payload= field of a form-encoded delivery.
// A mismatch is ErrBadSignature; other errors are a malformed request.
func verify(contentType string, body []byte, sig, secret string) ([]byte, error) {
	want, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil {
		return nil, errors.New("X-Hub-Signature-256 is not sha256=<hex>")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		return nil, ErrBadSignature
	}
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	switch media {
	case "application/json":
		return body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		payload := form.Get("payload")
		if payload == "" {
			return nil, errors.New("form body has no payload field")
		}
		return []byte(payload), nil
	default:
		return nil, fmt.Errorf("Content-Type %q: want application/json or application/x-www-form-urlencoded", contentType)
	}
}

func (h *Handler) reject(w http.ResponseWriter, code int, reason, msg string) {
	ingest.Rejected.WithLabelValues("github", reason).Inc()
	writeJSON(w, code, reply{Status: "rejected", Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
