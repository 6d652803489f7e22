package control

import (
	"regexp"
	"strings"
	"sync"
)

// IsPrincipalPattern reports whether an `authorized` entry is a glob pattern
// rather than a name: it holds "*", "?" or "[".
func IsPrincipalPattern(entry string) bool { return strings.ContainsAny(entry, "*?[") }

// MatchPrincipal reports whether principal matches the glob pattern, case
// ignored as logins are: "*" is any run of characters (":" and "/"
// included, so "system:serviceaccount:kube-system:*" and
// "arn:aws:sts::123456789012:assumed-role/deploy-*" work), "?" one
// character, "[abc]", "[a-z]" and "[!abc]" one character of (not of) a set.
// A malformed pattern (an unclosed "[") matches nothing; config validation
// reports it with ValidPrincipalPattern. Safe for concurrent use.
func MatchPrincipal(pattern, principal string) bool {
	re := compiledPattern(pattern)
	return re != nil && re.MatchString(principal)
}

// ValidPrincipalPattern returns why pattern cannot be used, or "".
func ValidPrincipalPattern(pattern string) string {
	if _, err := globRegexp(pattern); err != "" {
		return err
	}
	return ""
}

var patterns sync.Map // pattern -> *regexp.Regexp (nil when malformed)

func compiledPattern(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, _ := globRegexp(p)
	patterns.Store(p, re)
	return re
}

func globRegexp(p string) (*regexp.Regexp, string) {
	var b strings.Builder
	b.WriteString(`(?is)\A`)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(p) && (p[j] == '!' || p[j] == '^') {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				return nil, `unclosed "[" in ` + p
			}
			set := p[i+1 : j]
			b.WriteByte('[')
			if strings.HasPrefix(set, "!") || strings.HasPrefix(set, "^") {
				b.WriteByte('^')
				set = set[1:]
			}
			for _, r := range set {
				if r == '\\' || r == '[' || r == ']' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, "bad pattern " + p + ": " + err.Error()
	}
	return re, ""
}
