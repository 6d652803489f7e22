package slack

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a message Slack did not accept, or a request that got no answer.
type Error struct {
	// Method is "webhook" or "chat.postMessage".
	Method string
	// Status is the HTTP status; 0 when there was no answer.
	Status int
	// Code is Slack's error code: chat.postMessage's "error" field (e.g.
	// "invalid_auth"), or an incoming webhook's response body (e.g.
	// "no_service"). Empty when there was no answer.
	Code string
	// RetryAfter is the wait Slack asked for (Retry-After), 0 if none.
	RetryAfter time.Duration
	// Temporary says whether the same message may succeed later: rate
	// limits, 5xx, Slack-side errors and network failures. Everything else
	// (bad credentials, unknown channel, rejected payload) is permanent.
	Temporary bool
	// Err is the transport error when there was no answer.
	Err error
}

// Error describes the failure without secrets.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("slack " + e.Method + ": ")
	switch {
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.Status != 0 && e.Status != http.StatusOK:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Code != "" {
			b.WriteString(": " + e.Code)
		}
	default:
		b.WriteString(e.Code)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Retryable says whether a Post error may succeed on a later attempt and
// how long Slack asked to wait first (0 = not said: back off). Errors that
// are not *Error (a timeout, a cancelled context) are retryable.
func Retryable(err error) (retry bool, after time.Duration) {
	var se *Error
	if errors.As(err, &se) {
		return se.Temporary, se.RetryAfter
	}
	return err != nil, 0
}

// temporaryCodes are chat.postMessage errors that mean "try again".
var temporaryCodes = map[string]bool{
	"ratelimited": true, "rate_limited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// statusError classifies a non-2xx answer.
func statusError(method string, resp *http.Response, body string) *Error {
	e := &Error{Method: method, Status: resp.StatusCode, Code: strings.TrimSpace(body)}
	if len(e.Code) > 200 {
		e.Code = Truncate(e.Code, 200)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Temporary = true
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode >= 500:
		e.Temporary = true
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode == http.StatusRequestTimeout:
		e.Temporary = true
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
