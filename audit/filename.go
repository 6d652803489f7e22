package audit

import (
	"strconv"
	"strings"
)

// maxNameLen bounds SafeName, so that "<n>-<name>.json" stays well inside
// every file system's limit on a name.
const maxNameLen = 120

// SafeName maps a subject to a portable file name: every character (Unicode
// code point) outside [A-Za-z0-9._-] becomes "_", and the result is cut to
// 120 characters. In Python: re.sub(r"[^A-Za-z0-9._-]", "_", subject)[:120].
// Different subjects may map to the same name; EvidencePath's number keeps
// files apart.
func SafeName(subject string) string {
	var b strings.Builder
	n := 0
	for _, r := range subject {
		if n == maxNameLen {
			break
		}
		if r < 128 && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		n++
	}
	return b.String()
}

// EvidencePath is the export-relative path of sample member n's (1-based)
// evidence bundle: evidence/<n>-<SafeName(subject)>.json.
func EvidencePath(n int, subject string) string {
	return "evidence/" + strconv.Itoa(n) + "-" + SafeName(subject) + ".json"
}
