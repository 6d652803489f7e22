package config

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Token roles, the values of Token.Role.
const (
	RoleIngest  = "ingest"  // may post deploy and access events
	RoleAuditor = "auditor" // may read evidence, nothing else
	RoleAdmin   = "admin"   // may do everything
)

// RoleOf finds the configured token equal to token and returns its role
// and name. The comparison takes the same time whichever token matches,
// or none: tokens are hashed first so that not even their lengths leak,
// and every configured token is compared.
func (s Server) RoleOf(token string) (role, name string, ok bool) {
	if token == "" {
		return "", "", false
	}
	got := sha256.Sum256([]byte(token))
	for _, t := range s.Tokens {
		// An unset token must not match, nor a Redacted configuration's
		// placeholder, should one be used by mistake to authenticate.
		if t.Token == "" || t.Token == Redaction {
			continue
		}
		want := sha256.Sum256([]byte(t.Token))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 && !ok {
			role, name, ok = t.Role, t.Name, true
		}
	}
	return role, name, ok
}
