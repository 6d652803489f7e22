package ac1

import (
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// CheckAccess judges every event of an in-scope system in ev, in order.
func (Control) CheckAccess(env control.Env, ev *model.AccessEvidence) []model.Finding {
	var out []model.Finding
	for _, e := range ev.Events {
		name := e.System
		if name == "" {
			name = ev.System
		}
		sys, ok := control.LookupSystem(env.Systems, name)
		if !ok {
			continue
		}
		e.System = name
		out = append(out, judge(env, sys, e))
	}
	return out
}

func judge(env control.Env, sys control.System, e model.AccessEvent) model.Finding {
	person := e.Principal // an unlisted principal is its own person
	if id, ok := env.Identities.Lookup(e.Principal); ok {
		person = id.Name
	}
	f := model.Finding{
		Rule:       ID,
		Subject:    e.Subject(),
		OccurredAt: e.Time,
		Evidence:   model.Evidence{PrincipalEvidence: model.PrincipalEvidence{Principal: e.Principal, Person: person, System: e.System, Role: e.Role, Ticket: e.Ticket}},
	}
	who := control.DescribePrincipal(env.Identities, e.Principal)
	attempt := ""
	if strings.EqualFold(e.Result, "failure") {
		attempt = " (attempt failed)"
	}
	switch {
	case control.IsBreakGlass(sys, e.Role):
		f.Outcome = model.NotApplicable
		f.Reason = fmt.Sprintf("break-glass access by %s as %s: judged by AC-2", who, e.Role)
	case e.Principal == "":
		f.Outcome = model.Error
		f.Reason = fmt.Sprintf("access event on %s names no principal", e.System)
	case authorized(env.Identities, sys, e.Principal):
		f.Outcome = model.Pass
		f.Reason = fmt.Sprintf("%s is authorized on %s%s", who, e.System, attempt)
	default:
		f.Outcome = model.Fail
		f.Reason = fmt.Sprintf("%s is not authorized on %s%s", who, e.System, attempt)
	}
	return f
}

// authorized compares people, not logins: listing a person authorizes every
// login and principal they own, and listing one login authorizes its
// owner's others. A glob pattern ("system:serviceaccount:kube-system:*")
// matches the principal as written or the name of its person.
func authorized(ids model.Identities, sys control.System, principal string) bool {
	return slices.ContainsFunc(sys.Authorized, func(a string) bool {
		if !control.IsPrincipalPattern(a) {
			return ids.SamePerson(a, principal)
		}
		if control.MatchPrincipal(a, principal) {
			return true
		}
		id, ok := ids.Lookup(principal)
		return ok && control.MatchPrincipal(a, id.Name)
	})
}
