package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in Go syntax ("72h", "90m", "2m30s").
// Units beyond hours ("3d") are refused rather than guessed: a day is not
// always 24 hours, and a review window must mean exactly what it says.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does ("72h0m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration such as 72h, 90m or 30s, got %s", describe(n))
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes d back in the syntax UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as 72h, 90m or 30s, got %q", s)
	}
	return Duration(v), nil
}

// dateLayout is the date-only form Expiry and Instant accept besides RFC 3339.
const dateLayout = "2006-01-02"

// Expiry is the last moment something applies. A bare date means the end
// of that day UTC, because "expires 2026-12-31" is read by people as
// "good through the 31st"; an RFC 3339 time means exactly that time.
type Expiry struct{ time.Time }

// UnmarshalYAML parses a date (end of that day UTC) or an RFC 3339 time.
func (e *Expiry) UnmarshalYAML(n *yaml.Node) error {
	t, err := parseTimeNode(n, true)
	if err != nil {
		return err
	}
	e.Time = t
	return nil
}

// MarshalYAML writes e as RFC 3339, which reads back to the same instant.
func (e Expiry) MarshalYAML() (any, error) { return marshalTime(e.Time), nil }

// Instant is a moment from which something holds. A bare date means the
// start of that day UTC; an RFC 3339 time means exactly that time.
type Instant struct{ time.Time }

// UnmarshalYAML parses a date (start of that day UTC) or an RFC 3339 time.
func (i *Instant) UnmarshalYAML(n *yaml.Node) error {
	t, err := parseTimeNode(n, false)
	if err != nil {
		return err
	}
	i.Time = t
	return nil
}

// MarshalYAML writes i as RFC 3339, which reads back to the same instant.
func (i Instant) MarshalYAML() (any, error) { return marshalTime(i.Time), nil }

func parseTimeNode(n *yaml.Node, endOfDay bool) (time.Time, error) {
	if n.Kind != yaml.ScalarNode {
		return time.Time{}, fmt.Errorf("%s, got %s", wantTime, describe(n))
	}
	return parseTime(n.Value, endOfDay)
}

const wantTime = "must be a date such as 2026-12-31 or an RFC 3339 time such as 2026-12-31T18:00:00Z"

// parseTime reads RFC 3339 or a date; endOfDay picks which end of the day
// a date stands for.
func parseTime(s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil // unset, as an omitted key is
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s, got %q", wantTime, s)
	}
	if endOfDay {
		return d.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
	}
	return d, nil
}

func marshalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339Nano)
}
