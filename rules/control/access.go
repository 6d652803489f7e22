package control

import (
	"slices"
	"sort"
	"strings"

	"github.com/changeproof/changeproof/model"
)

// LookupSystem finds an in-scope system by the name an event carries,
// falling back to a case-insensitive match so that "Bastion" in a log line
// is not silently out of scope when the configuration says "bastion". Keys
// are tried in sorted order so the choice is deterministic.
func LookupSystem(systems map[string]System, name string) (System, bool) {
	if s, ok := systems[name]; ok {
		return s, true
	}
	if name == "" {
		return System{}, false
	}
	keys := make([]string, 0, len(systems))
	for k := range systems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.EqualFold(k, name) {
			return systems[k], true
		}
	}
	return System{}, false
}

// IsBreakGlass reports whether role is one of the system's break-glass roles.
func IsBreakGlass(sys System, role string) bool {
	return role != "" && slices.ContainsFunc(sys.BreakGlassRoles, func(r string) bool { return strings.EqualFold(r, role) })
}

// DescribePrincipal names the person behind a principal, and the principal
// too when it is one of their other logins: "alice (as alice-admin)".
func DescribePrincipal(ids model.Identities, principal string) string {
	if principal == "" {
		return "an unknown principal"
	}
	id, ok := ids.Lookup(principal)
	if !ok || strings.EqualFold(id.Name, principal) {
		return principal
	}
	return id.Name + " (as " + principal + ")"
}
