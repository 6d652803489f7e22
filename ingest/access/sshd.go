package access

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"regexp"
	"time"

	"github.com/changeproof/changeproof/model"
)

// sshdPrograms are the syslog tags OpenSSH's server logs authentication
// under (sshd-session since OpenSSH 9.8, sshd-auth since 10.0).
var sshdPrograms = map[string]bool{"sshd": true, "sshd-session": true, "sshd-auth": true}

// OpenSSH's messages (auth.c): auth_log's
// "%s %s%s%s for %s%.100s from %.200s port %d ssh2%s%s"
// (Accepted|Failed, method, "/" submethod, "invalid user ", user, address,
// port, ": " info) and getpwnamallow's "Invalid user %.100s from %.100s port
// %d" (older releases: no port).
var (
	reAuthLog     = regexp.MustCompile(`^(Accepted|Failed) (\S+) for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh2)?(?:: .*)?$`)
	reInvalidUser = regexp.MustCompile(`^Invalid user (.*) from (\S+?)(?: port (\d+))?$`)
)

var errEmptyUser = errors.New("sshd: empty user name")

func parseSSHD(line []byte, o Options, now time.Time) (model.AccessEvent, error) {
	raw := string(line)
	sl, err := parseSyslog(raw, now, o.Location)
	if err != nil {
		return model.AccessEvent{}, err
	}
	if !sshdPrograms[sl.program] {
		return model.AccessEvent{}, errSkip
	}
	ev := model.AccessEvent{
		System: o.System,
		Time:   sl.time,
		Source: "sshd@" + sl.host,
		Format: string(SSHD),
	}
	var ip string
	if m := reAuthLog.FindStringSubmatch(sl.msg); m != nil {
		ev.Principal, ip = m[4], m[5]
		ev.Result = "success"
		if m[1] == "Failed" {
			ev.Result = "failure"
		}
		ev.Action = "ssh login (" + m[2] + ")"
		if m[3] != "" {
			ev.Action = "ssh login (" + m[2] + ", invalid user)"
		}
	} else if m := reInvalidUser.FindStringSubmatch(sl.msg); m != nil {
		ev.Principal, ip = m[1], m[2]
		ev.Result = "failure"
		ev.Action = "ssh login (invalid user)"
	} else {
		return model.AccessEvent{}, errSkip
	}
	if ev.Principal == "" {
		return model.AccessEvent{}, errEmptyUser
	}
	if _, err := netip.ParseAddr(ip); err == nil {
		ev.SourceIP = ip
	}
	sum := sha256.Sum256([]byte(o.System + "\n" + raw))
	ev.ID = hex.EncodeToString(sum[:])
	ev.Raw = raw
	ev.ReceivedAt = now.UTC()
	return ev, nil
}
