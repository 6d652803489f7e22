package access

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// sshdPrograms are the syslog tags OpenSSH's server logs authentication
// under (sshd-session since OpenSSH 9.8, sshd-auth since 10.0).
var sshdPrograms = map[string]bool{"sshd": true, "sshd-session": true, "sshd-auth": true}

// maxRepeats bounds rsyslog's "message repeated N times": a larger N is
// rejected rather than turned into that many events, so that one line
// cannot make an upload a thousand times larger in the store. Repeats of
// one sshd message come from one connection (the port is in the message),
// which OpenSSH closes after MaxAuthTries (default 6).
const maxRepeats = 1000

// sshdAttempt is one authentication attempt read from an sshd message.
type sshdAttempt struct {
	principal, addr, result, action string
}

func parseSSHD(line []byte, o Options, now time.Time) ([]model.AccessEvent, error) {
	raw := string(line)
	sl, err := parseSyslog(raw, now, o)
	if err != nil {
		return nil, err
	}
	if !sshdPrograms[sl.program] {
		return nil, errSkip
	}
	if err := model.CheckTime("timestamp", sl.time); err != nil {
		return nil, err
	}
	source := "sshd"
	if sl.host != "" {
		source = "sshd@" + sl.host
	}
	return sshdEvents(sl.msg, raw, sl.time, source, SSHD, o, now)
}

// sshdEvents turns an sshd message into its events (N for an rsyslog
// "message repeated N times: [ MESSAGE]"), each with Raw = raw.
func sshdEvents(msg, raw string, t time.Time, source string, f Format, o Options, now time.Time) ([]model.AccessEvent, error) {
	n := 1
	if rest, ok := strings.CutPrefix(msg, "message repeated "); ok {
		ns, inner, ok := strings.Cut(rest, " times: [")
		if !ok || !allDigits(ns) || !strings.HasSuffix(inner, "]") {
			return nil, errSkip
		}
		if len(ns) > 9 {
			return nil, errRepeats(ns)
		}
		n = atoi(ns)
		if n < 1 || n > maxRepeats {
			return nil, errRepeats(ns)
		}
		msg = strings.TrimSpace(strings.TrimSuffix(inner, "]"))
	}
	a, ok := sshdMessage(msg)
	if !ok {
		return nil, errSkip
	}
	ev := model.AccessEvent{
		System:     o.System,
		Time:       t,
		Principal:  a.principal,
		Action:     a.action,
		Result:     a.result,
		Source:     source,
		Format:     string(f),
		Raw:        raw,
		ReceivedAt: now.UTC(),
	}
	if ip, err := netip.ParseAddr(a.addr); err == nil {
		ev.SourceIP = ip.Unmap().String()
	}
	evs := make([]model.AccessEvent, n)
	for i := range evs {
		evs[i] = ev
		evs[i].ID = lineID(o.System, raw, i, n)
	}
	return evs, nil
}

type errRepeats string

func (e errRepeats) Error() string {
	return "message repeated: " + string(e) + " times is outside 1.." + strconv.Itoa(maxRepeats)
}

// lineID is the hex SHA-256 of system and the raw line, so an identical
// line sent again is the same event; the events of a repeated message
// (n > 1) add their 1-based index.
func lineID(system, raw string, i, n int) string {
	s := system + "\n" + raw
	if n > 1 {
		s += "\n" + strconv.Itoa(i+1)
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sshdMessage reads the authentication messages of OpenSSH (auth.c,
// auth2.c, auth-pam.c) and their historical variants; other messages are
// not attempts (ok false).
func sshdMessage(msg string) (a sshdAttempt, ok bool) {
	// Solaris prefixes "[ID 800047 auth.info] "; errors come as "error: ".
	if strings.HasPrefix(msg, "[ID ") {
		if i := strings.IndexByte(msg, ']'); i > 0 {
			msg = strings.TrimPrefix(msg[i+1:], " ")
		}
	}
	msg = strings.TrimPrefix(msg, "error: ")
	switch {
	case strings.HasPrefix(msg, "Accepted "), strings.HasPrefix(msg, "Failed "):
		return authLog(msg)
	case strings.HasPrefix(msg, "Invalid user "), strings.HasPrefix(msg, "Illegal user "):
		user, addr := userFrom(msg[len("Invalid user "):])
		return sshdAttempt{user, addr, "failure", "ssh login (invalid user)"}, true
	case strings.HasPrefix(msg, "ROOT LOGIN REFUSED FROM "):
		addr, _, _ := strings.Cut(msg[len("ROOT LOGIN REFUSED FROM "):], " ")
		return sshdAttempt{"root", addr, "failure", "ssh login (root login refused)"}, true
	case strings.HasPrefix(msg, "User ") && strings.Contains(msg, " not allowed because "):
		i := strings.LastIndex(msg, " not allowed because ")
		reason := strings.TrimSuffix(msg[i+len(" not allowed because "):], " [preauth]")
		user, addr := msg[len("User "):i], ""
		if j := strings.LastIndex(user, " from "); j >= 0 && !strings.Contains(user[j+6:], " ") {
			user, addr = user[:j], user[j+6:]
		}
		return sshdAttempt{user, addr, "failure", "ssh login (not allowed because " + reason + ")"}, true
	case strings.HasPrefix(msg, "PAM: "):
		return pamFailure(msg[len("PAM: "):])
	}
	return a, false
}

// authLog reads auth_log()'s "%s %s%s%s for %s%.100s from %.200s port %d
// ssh2%s%s": Accepted|Failed, the method, "invalid user ", the user, the
// address, the port, ": " and information (a key's type and fingerprint).
// The address is taken from the last " from ADDR port N" (the last
// " from ADDR" on older lines without a port), so a user name, which OpenSSH
// writes before the address, cannot move it.
func authLog(msg string) (a sshdAttempt, ok bool) {
	verb, rest, _ := strings.Cut(msg, " ")
	method, rest, ok := strings.Cut(rest, " for ")
	if !ok || method == "" || strings.Contains(method, " ") {
		return a, false
	}
	if verb != "Accepted" && verb != "Failed" {
		return a, false
	}
	invalid := false
	if r, ok := strings.CutPrefix(rest, "invalid user "); ok {
		invalid, rest = true, r
	}
	at, addr := lastAddress(rest)
	if at < 0 {
		return a, false
	}
	a = sshdAttempt{principal: rest[:at], addr: addr, result: "success", action: "ssh login (" + method + ")"}
	if verb == "Failed" {
		a.result = "failure"
	}
	if invalid {
		a.action = "ssh login (" + method + ", invalid user)"
	}
	if a.principal == "<invalid username>" { // Solaris
		a.principal = ""
	}
	return a, true
}

// lastAddress finds in s (USER from ADDR[ port N][ sshV][: INFO]) the last
// " from ADDR port N" whose port is followed by the end, " sshV" or ": ",
// else the last " from ADDR" at the end. It returns where the " from "
// starts (-1 if none) and ADDR.
func lastAddress(s string) (int, string) {
	withPort, noPort := -1, -1
	var addrP, addrN string
	for i := 0; ; {
		j := strings.Index(s[i:], " from ")
		if j < 0 {
			break
		}
		at := i + j
		tail := s[at+len(" from "):]
		addr, after, _ := strings.Cut(tail, " ")
		if addr != "" {
			if after == "" && !strings.Contains(tail, " ") {
				noPort, addrN = at, addr
			} else if p, ok := strings.CutPrefix(after, "port "); ok {
				digits := p
				if k := strings.IndexAny(p, " :"); k >= 0 {
					digits = p[:k]
				}
				end := p[len(digits):]
				end = strings.TrimPrefix(strings.TrimPrefix(end, " ssh2"), " ssh1")
				if allDigits(digits) && (end == "" || strings.HasPrefix(end, ": ") || end == " [preauth]") {
					withPort, addrP = at, addr
				}
			}
		}
		i = at + 1
	}
	if withPort >= 0 {
		return withPort, addrP
	}
	return noPort, addrN
}

// userFrom splits "USER from ADDR[ port N]" at its last " from ".
func userFrom(s string) (user, addr string) {
	at, a := lastAddress(s)
	if at < 0 {
		return "", ""
	}
	return s[:at], a
}

// pamFailure reads sshd's PAM messages ("PAM: Authentication failure for
// USER from HOST", "PAM: authentication error for ...", "PAM: User not
// known to the underlying authentication module for illegal user USER from
// HOST"), with or without " via ADDR" (the local address).
func pamFailure(m string) (a sshdAttempt, ok bool) {
	lower := strings.ToLower(m)
	var rest string
	switch {
	case strings.HasPrefix(lower, "authentication failure for "), strings.HasPrefix(lower, "authentication error for "):
		_, rest, _ = strings.Cut(m, " for ")
	case strings.HasPrefix(m, "User not known to the underlying authentication module for "):
		rest = m[len("User not known to the underlying authentication module for "):]
	default:
		return a, false
	}
	action := "ssh login (pam)"
	for _, p := range []string{"illegal user ", "invalid user "} {
		if r, ok := strings.CutPrefix(rest, p); ok {
			rest, action = r, "ssh login (pam, invalid user)"
		}
	}
	if i := strings.LastIndex(rest, " via "); i >= 0 && !strings.Contains(rest[i+5:], " ") {
		rest = rest[:i]
	}
	rest = strings.TrimRight(rest, " ")
	i := strings.LastIndex(rest, " from ")
	if i < 0 || strings.Contains(rest[i+6:], " ") {
		return a, false
	}
	return sshdAttempt{rest[:i], rest[i+6:], "failure", action}, true
}
