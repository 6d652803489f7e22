package alert

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/changeproof/changeproof/alert/outbox"
)

var (
	// OWNER/REPO#N, or an AC-3 review OWNER/REPO#N/review/ID.
	prSubject = regexp.MustCompile(`^([^/#@:\s]+)/([^/#@:\s]+)#([0-9]+)(/review/[0-9]+)?$`)
	// OWNER/REPO@<sha>: a (provisional) direct push.
	pushSubject = regexp.MustCompile(`^([^/#@:\s]+)/([^/#@:\s]+)@([0-9a-fA-F]{7,64})$`)
)

// IsDirectPush reports whether subject names a direct push,
// OWNER/REPO@<sha>.
func IsDirectPush(subject string) bool { return pushSubject.MatchString(subject) }

// EvidenceURL is where the API shows the evidence behind an alert, under
// apiBase (e.g. "https://changeproof.acme.io"; "" = no link):
//   - a change (OWNER/REPO#N, its reviews, OWNER/REPO@<sha>): its evidence
//     bundle, /v1/changes/OWNER/REPO/N or /v1/changes/OWNER/REPO/commit/SHA;
//   - anything else: the rule's findings, /v1/findings?rule=R (and
//     &repo=REPO when known, &outcome=fail for a fail).
func EvidenceURL(apiBase string, a outbox.Alert) string {
	base := strings.TrimRight(apiBase, "/")
	if base == "" {
		return ""
	}
	if m := prSubject.FindStringSubmatch(a.Subject); m != nil {
		return base + "/v1/changes/" + url.PathEscape(m[1]) + "/" + url.PathEscape(m[2]) + "/" + m[3]
	}
	if m := pushSubject.FindStringSubmatch(a.Subject); m != nil {
		return base + "/v1/changes/" + url.PathEscape(m[1]) + "/" + url.PathEscape(m[2]) + "/commit/" + m[3]
	}
	q := url.Values{}
	q.Set("rule", a.Rule)
	if a.Repo != "" {
		q.Set("repo", a.Repo)
	}
	if a.Transition == TransitionFail {
		q.Set("outcome", "fail")
	}
	return base + "/v1/findings?" + q.Encode()
}
