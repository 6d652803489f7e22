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
	Generic    Format = "generic"
	K8sAudit   Format = "k8s-audit"
	SSHD       Format = "sshd"
	Syslog     Format = "syslog" // the same lines as SSHD: a syslog file holding sshd's
	Journald   Format = "journald"
	CloudTrail Format = "cloudtrail"
	Okta       Format = "okta"
	GCPAudit   Format = "gcp-audit"
	Teleport   Format = "teleport"
)

// Formats lists every format, in the order the documentation gives them.
var Formats = []Format{Generic, SSHD, Syslog, Journald, K8sAudit, CloudTrail, Okta, GCPAudit, Teleport}

var formatList = func() string {
	var b strings.Builder
	for i, f := range Formats {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(f))
	}
	return b.String()
}()

func known(f Format) bool {
	for _, k := range Formats {
		if k == f {
			return true
		}
	}
	return false
}

// wholeDocuments reports a JSON format whose input may be one document of
// records (a CloudTrail log file, an EventList, an API answer), on one line
// or pretty-printed over many.
func (f Format) wholeDocuments() bool {
	switch f {
	case K8sAudit, CloudTrail, Okta, GCPAudit, Teleport, Journald:
		return true
	}
	return false
}

// ParseFormat returns the format named by a ?format= value (see Formats) or
// by a Content-Type: application/x-ndjson, application/ndjson,
// application/jsonl, application/json (generic), and
// application/vnd.changeproof.FORMAT[+suffix], e.g.
// application/vnd.changeproof.k8s-audit+ndjson. Empty means generic, the
// default. Other types (text/plain among them) are an error asking for
// ?format=.
func ParseFormat(contentTypeOrName string) (Format, error) {
	s := strings.ToLower(strings.TrimSpace(contentTypeOrName))
	if s == "" {
		return Generic, nil
	}
	if known(Format(s)) {
		return Format(s), nil
	}
	if !strings.Contains(s, "/") {
		return "", fmt.Errorf("unknown format %q: use %s", contentTypeOrName, formatList)
	}
	mt, _, err := mime.ParseMediaType(s)
	if err != nil {
		return "", fmt.Errorf("bad Content-Type %q: %v; say the format with ?format= (%s)", contentTypeOrName, err, formatList)
	}
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
		"application/jsonlines", "application/json":
		return Generic, nil
	}
	if name, ok := strings.CutPrefix(mt, "application/vnd.changeproof."); ok {
		name, _, _ = strings.Cut(name, "+")
		if known(Format(name)) {
			return Format(name), nil
		}
		return "", fmt.Errorf("unknown format %q in Content-Type %q: use %s", name, mt, formatList)
	}
	return "", fmt.Errorf("cannot tell the format from Content-Type %s: add ?format= (%s)", mt, formatList)
}
