package access

import (
	"errors"
	"strings"
	"time"
)

// syslogLine is the header of one syslog line and its message.
type syslogLine struct {
	time    time.Time
	host    string // "" on a hostless line
	program string // the tag before "[pid]"
	msg     string
}

var (
	errNoTimestamp = errors.New(`not a syslog line: no timestamp (want "Mar  2 10:15:03", "Feb 7 16:01:07" or RFC 3339 at the start, or an RFC 5424 header)`)
	errNoTag       = errors.New(`not a syslog line: no "program[pid]:" after the timestamp and host`)
	errNoTime5424  = errors.New("timestamp: RFC 5424 line without a time (\"-\")")
)

var months = map[string]time.Month{
	"Jan": time.January, "Feb": time.February, "Mar": time.March, "Apr": time.April,
	"May": time.May, "Jun": time.June, "Jul": time.July, "Aug": time.August,
	"Sep": time.September, "Oct": time.October, "Nov": time.November, "Dec": time.December,
}

// parseSyslog splits a syslog line:
//
//	[<PRI>]Mmm dd hh:mm:ss [HOST ]PROGRAM[PID]: MESSAGE     (RFC 3164; day padded or not)
//	[<PRI>]RFC3339 [HOST ]PROGRAM[PID]: MESSAGE             (rsyslog high precision)
//	<PRI>1 RFC3339 HOST APP PROCID MSGID SD MESSAGE         (RFC 5424)
//
// A classic timestamp is read in o.Location, in o.Year or else the latest
// year that does not put it more than a day after now (clock skew).
func parseSyslog(s string, now time.Time, o Options) (syslogLine, error) {
	var l syslogLine
	if strings.HasPrefix(s, "<") {
		if i := strings.IndexByte(s, '>'); i >= 2 && i <= 4 && allDigits(s[1:i]) {
			s = s[i+1:]
			if rest, ok := strings.CutPrefix(s, "1 "); ok {
				return parse5424(rest)
			}
		}
	}
	var rest string
	if s != "" && '0' <= s[0] && s[0] <= '9' {
		ts, r, _ := strings.Cut(s, " ")
		t, err := parseISO(ts)
		if err != nil {
			return l, errNoTimestamp
		}
		l.time, rest = t, r
	} else {
		t, r, ok := parseClassic(s, now, o)
		if !ok {
			return l, errNoTimestamp
		}
		l.time, rest = t, r
	}
	rest = strings.TrimLeft(rest, " ")
	// HOST is absent when the first word is already the tag ("sshd[1]:",
	// "[sshd]:", "[sshd]").
	first, after, _ := strings.Cut(rest, " ")
	if !isTag(first) {
		l.host, rest = first, after
	}
	var program, msg string
	if strings.HasPrefix(rest, "[") { // "[sshd]: msg" or "[sshd] msg"
		i := strings.IndexByte(rest, ']')
		if i < 2 {
			return l, errNoTag
		}
		program, msg = rest[1:i], strings.TrimPrefix(rest[i+1:], ":")
	} else {
		tag, m, ok := strings.Cut(rest, ":")
		if !ok || tag == "" || strings.ContainsAny(tag, " \t") {
			return l, errNoTag
		}
		program, msg = tag, m
		if i := strings.IndexByte(tag, '['); i >= 0 {
			if i == 0 || !strings.HasSuffix(tag, "]") || !allDigits(tag[i+1:len(tag)-1]) {
				return l, errNoTag
			}
			program = tag[:i]
		}
	}
	if strings.ContainsAny(program, " \t") || program == "" || allDigits(program) {
		return l, errNoTag
	}
	l.program, l.msg = program, strings.TrimPrefix(msg, " ")
	return l, nil
}

// isTag reports a word that is a syslog tag rather than a host name.
func isTag(w string) bool {
	if strings.HasSuffix(w, ":") {
		return true
	}
	if strings.HasPrefix(w, "[") && strings.HasSuffix(strings.TrimSuffix(w, ":"), "]") {
		return true
	}
	i := strings.IndexByte(w, '[')
	return i > 0 && strings.HasSuffix(w, "]:")
}

// parse5424 reads "TIMESTAMP HOST APP PROCID MSGID SD MSG" (after "<PRI>1 ").
func parse5424(s string) (syslogLine, error) {
	var l syslogLine
	f := strings.SplitN(s, " ", 6)
	if len(f) < 6 {
		return l, errNoTag
	}
	if f[0] == "-" {
		return l, errNoTime5424
	}
	t, err := parseISO(f[0])
	if err != nil {
		return l, errNoTimestamp
	}
	l.time = t
	if f[1] != "-" {
		l.host = f[1]
	}
	if f[2] == "-" {
		return l, errNoTag
	}
	l.program = f[2]
	rest := f[5] // SD then MSG
	if strings.HasPrefix(rest, "-") {
		rest = rest[1:]
	} else {
		for strings.HasPrefix(rest, "[") {
			end := sdEnd(rest)
			if end < 0 {
				return l, errors.New("structured data: unterminated")
			}
			rest = rest[end+1:]
		}
	}
	// rsyslog writes " " + the message, which starts with a space itself.
	l.msg = strings.TrimLeft(strings.TrimPrefix(strings.TrimLeft(rest, " "), "\ufeff"), " ")
	return l, nil
}

// sdEnd returns the index of the "]" closing the SD element s starts with,
// skipping quoted values (which escape '"', '\' and ']').
func sdEnd(s string) int {
	inQ := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQ && c == '\\':
			i++
		case c == '"':
			inQ = !inQ
		case !inQ && c == ']':
			return i
		}
	}
	return -1
}

// parseISO reads an RFC 3339 time; journalctl -o short-iso writes the offset
// without a colon.
func parseISO(ts string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.999999999Z0700", ts); err != nil {
			return t, err
		}
	}
	return t.UTC(), nil
}

// parseClassic reads "Mmm dd hh:mm:ss" (day padded with a space or a zero,
// or not padded) at the start of s and returns the time and the rest.
func parseClassic(s string, now time.Time, o Options) (time.Time, string, bool) {
	if len(s) < 3 {
		return time.Time{}, "", false
	}
	mon, ok := months[s[:3]]
	if !ok || len(s) < 5 || s[3] != ' ' {
		return time.Time{}, "", false
	}
	r := strings.TrimLeft(s[4:], " ")
	ds, r, ok := strings.Cut(r, " ")
	if !ok || len(ds) < 1 || len(ds) > 2 || !allDigits(ds) || len(r) < 8 {
		return time.Time{}, "", false
	}
	day := atoi(ds)
	hms := r[:8]
	if hms[2] != ':' || hms[5] != ':' || !allDigits(hms[:2]) || !allDigits(hms[3:5]) || !allDigits(hms[6:8]) {
		return time.Time{}, "", false
	}
	h, m, sec := atoi(hms[:2]), atoi(hms[3:5]), atoi(hms[6:8])
	if day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 {
		return time.Time{}, "", false
	}
	if len(r) > 8 && r[8] != ' ' {
		return time.Time{}, "", false
	}
	rest := ""
	if len(r) > 8 {
		rest = r[9:]
	}
	var t time.Time
	if o.Year != 0 {
		t = time.Date(o.Year, mon, day, h, m, sec, 0, o.Location)
		if t.Day() != day {
			return time.Time{}, "", false // Feb 30, or Feb 29 of a common year
		}
	} else {
		t = withYear(mon, day, h, m, sec, now, o.Location)
	}
	return t.UTC(), rest, true
}

// withYear dates a time without a year in the latest year, from now's back,
// in which the date exists and is at most a day after now.
func withYear(mon time.Month, day, h, m, s int, now time.Time, loc *time.Location) time.Time {
	limit := now.Add(24 * time.Hour)
	year := now.In(loc).Year()
	for y := year; y > year-8; y-- {
		c := time.Date(y, mon, day, h, m, s, 0, loc)
		if c.Day() != day || c.After(limit) {
			continue // Feb 29 of a non-leap year, or in the future
		}
		return c
	}
	return time.Date(year, mon, day, h, m, s, 0, loc)
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
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
