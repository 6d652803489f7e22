package access

import (
	"errors"
	"strings"
	"time"
)

// syslogLine is the header of one syslog line and its message.
type syslogLine struct {
	time    time.Time
	host    string
	program string // the tag before "[pid]"
	msg     string
}

var (
	errNoTimestamp = errors.New(`not a syslog line: no timestamp (want "Mar  2 10:15:03" or RFC 3339 at the start)`)
	errNoHost      = errors.New("not a syslog line: no host after the timestamp")
	errNoTag       = errors.New(`not a syslog line: no "program[pid]:" after the host`)
)

// classicLayout is the BSD syslog (RFC 3164) timestamp: no year, no zone,
// the day padded with a space.
const classicLayout = "Jan _2 15:04:05"

// parseSyslog splits "[<PRI>]TIMESTAMP HOST PROGRAM[PID]: MESSAGE". A classic
// timestamp is read in loc and given the latest year that does not put it
// more than a day after now.
func parseSyslog(s string, now time.Time, loc *time.Location) (syslogLine, error) {
	var l syslogLine
	if strings.HasPrefix(s, "<") {
		if i := strings.IndexByte(s, '>'); i >= 2 && i <= 4 && allDigits(s[1:i]) {
			s = s[i+1:]
		}
	}
	var rest string
	if s != "" && '0' <= s[0] && s[0] <= '9' {
		ts, r, _ := strings.Cut(s, " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			// journalctl -o short-iso writes the offset without a colon.
			if t, err = time.Parse("2006-01-02T15:04:05.999999999Z0700", ts); err != nil {
				return l, errNoTimestamp
			}
		}
		l.time, rest = t.UTC(), r
	} else {
		if len(s) < len(classicLayout)+1 || s[len(classicLayout)] != ' ' {
			return l, errNoTimestamp
		}
		t, err := time.ParseInLocation(classicLayout, s[:len(classicLayout)], loc)
		if err != nil {
			return l, errNoTimestamp
		}
		l.time, rest = withYear(t, now, loc).UTC(), s[len(classicLayout)+1:]
	}
	host, rest, ok := strings.Cut(rest, " ")
	if !ok || host == "" {
		return l, errNoHost
	}
	tag, msg, ok := strings.Cut(rest, ":")
	if !ok || tag == "" || strings.ContainsAny(tag, " \t") {
		return l, errNoTag
	}
	program := tag
	if i := strings.IndexByte(tag, '['); i >= 0 {
		if i == 0 || !strings.HasSuffix(tag, "]") || !allDigits(tag[i+1:len(tag)-1]) {
			return l, errNoTag
		}
		program = tag[:i]
	}
	l.host, l.program, l.msg = host, program, strings.TrimPrefix(msg, " ")
	return l, nil
}

// withYear dates t (parsed without a year) in the latest year, from now's
// back, in which the date exists and is at most a day after now.
func withYear(t, now time.Time, loc *time.Location) time.Time {
	limit := now.Add(24 * time.Hour)
	year := now.In(loc).Year()
	for y := year; y > year-8; y-- {
		c := time.Date(y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
		if c.Day() != t.Day() || c.After(limit) {
			continue // Feb 29 of a non-leap year, or in the future
		}
		return c
	}
	return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
