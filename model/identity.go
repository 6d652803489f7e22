package model

import (
	"sort"
	"strings"
	"time"
)

// Identity is one person, who may own several logins or principals.
type Identity struct {
	Name         string
	Logins       []string
	TerminatedAt time.Time // zero: still employed
}

// Identities maps logins to people. The zero value maps every login to
// itself. It is safe for concurrent reads.
type Identities struct {
	byLogin map[string]*Identity
}

// NewIdentities indexes ids. Logins compare case-insensitively, as GitHub's do.
func NewIdentities(ids []Identity) Identities {
	m := make(map[string]*Identity, len(ids))
	for i := range ids {
		id := &ids[i]
		m[strings.ToLower(id.Name)] = id
		for _, l := range id.Logins {
			m[strings.ToLower(l)] = id
		}
	}
	return Identities{byLogin: m}
}

// Person returns the identity name a login belongs to; an unlisted login is
// its own identity.
func (ids Identities) Person(login string) string {
	if id, ok := ids.byLogin[strings.ToLower(login)]; ok {
		return id.Name
	}
	return strings.ToLower(login)
}

// SamePerson reports whether two logins belong to one identity.
func (ids Identities) SamePerson(a, b string) bool {
	return ids.Person(a) == ids.Person(b)
}

// Lookup returns the identity that lists login, if any.
func (ids Identities) Lookup(login string) (Identity, bool) {
	id, ok := ids.byLogin[strings.ToLower(login)]
	if !ok {
		return Identity{}, false
	}
	return *id, true
}

// All returns every identity, once each, sorted by name then logins: a
// stable listing, for fingerprinting the configuration.
func (ids Identities) All() []Identity {
	seen := make(map[*Identity]bool, len(ids.byLogin))
	var out []Identity
	for _, id := range ids.byLogin {
		if !seen[id] {
			seen[id] = true
			out = append(out, *id)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return strings.Join(out[i].Logins, "\x00") < strings.Join(out[j].Logins, "\x00")
	})
	return out
}
