package access

import (
	"fmt"
	"mime"
	"strings"
)

// Format is an access log format.
type Format string

// The formats.
const (
	Generic  Format = "generic"
	K8sAudit Format = "k8s-audit"
	SSHD     Format = "sshd"
)

// ParseFormat returns the format named by a ?format= value ("generic",
// "k8s-audit", "sshd") or by a Content-Type: application/x-ndjson,
// application/ndjson, application/jsonl, application/json (generic), and
// application/vnd.changeproof.FORMAT[+suffix], e.g.
// application/vnd.changeproof.k8s-audit+ndjson. Empty means generic, the
// default. Other types (text/plain among them) are an error asking for
// ?format=.
func ParseFormat(contentTypeOrName string) (Format, error) {
	s := strings.ToLower(strings.TrimSpace(contentTypeOrName))
	switch Format(s) {
	case "", Generic:
		return Generic, nil
	case K8sAudit:
		return K8sAudit, nil
	case SSHD:
		return SSHD, nil
	}
	if !strings.Contains(s, "/") {
		return "", fmt.Errorf("unknown format %q: use generic, k8s-audit or sshd", contentTypeOrName)
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil {
		return "", fmt.Errorf("bad Content-Type %q: %v; say the format with ?format=generic, k8s-audit or sshd", contentTypeOrName, err)
	}
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
		"application/jsonlines", "application/json":
		return Generic, nil
	}
	if name, ok := strings.CutPrefix(mt, "application/vnd.changeproof."); ok {
		name, _, _ = strings.Cut(name, "+")
		switch Format(name) {
		case Generic, K8sAudit, SSHD:
			return Format(name), nil
		}
		return "", fmt.Errorf("unknown format %q in Content-Type %q: use generic, k8s-audit or sshd", name, mt)
	}
	return "", fmt.Errorf("cannot tell the format from Content-Type %s: add ?format=generic, ?format=k8s-audit or ?format=sshd", mt)
}
