package slack

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 30 ":                          30 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"Mon, 02 Mar 2026 09:31:00 GMT": time.Minute,
		"Mon, 02 Mar 2026 09:29:00 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestRebase(t *testing.T) {
	for _, tc := range []struct{ u, base, want string }{
		{"https://hooks.slack.com/services/T/B/x", "", "https://hooks.slack.com/services/T/B/x"},
		{"https://hooks.slack.com/services/T/B/x", "http://127.0.0.1:8080", "http://127.0.0.1:8080/services/T/B/x"},
		{"https://hooks.slack.com/services/T/B/x", "http://proxy:3128/slack/", "http://proxy:3128/slack/services/T/B/x"},
	} {
		if got, err := rebase(tc.u, tc.base); err != nil || got != tc.want {
			t.Errorf("rebase(%q, %q) = %q, %v; want %q", tc.u, tc.base, got, err, tc.want)
		}
	}
}
