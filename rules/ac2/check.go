package ac2

import (
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// defaultPattern stands in for a policy built without a pattern, so that a
// missing pattern cannot panic the check.
var defaultPattern = control.DefaultPolicy().TicketPattern

// CheckAccess judges every break-glass event of an in-scope system in ev,
// in order.
func (Control) CheckAccess(env control.Env, ev *model.AccessEvidence) []model.Finding {
	pattern := env.Policy.TicketPattern
	if pattern == nil {
		pattern = defaultPattern
	}
	var out []model.Finding
	for _, e := range ev.Events {
		if e.System == "" {
			e.System = ev.System
		}
		sys, ok := control.LookupSystem(env.Systems, e.System)
		if !ok || !control.IsBreakGlass(sys, e.Role) {
			continue
		}
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
		access := fmt.Sprintf("break-glass access by %s as %s", control.DescribePrincipal(env.Identities, e.Principal), e.Role)
		keys := control.FindTickets(pattern, e.Ticket)
		slices.Sort(keys)
		keys = slices.Compact(keys)
		f.Evidence.TicketKeys = keys
		switch {
		case len(keys) == 1:
			f.Outcome = model.Pass
			f.Reason = fmt.Sprintf("%s with ticket %s", access, keys[0])
		case len(keys) > 1:
			f.Outcome = model.Pass
			f.Reason = fmt.Sprintf("%s with tickets %s", access, strings.Join(keys, ", "))
		default:
			f.Outcome = model.Fail
			f.Reason = fmt.Sprintf("%s without a ticket matching %s", access, pattern)
			if t := strings.TrimSpace(e.Ticket); t != "" {
				// What was given instead tells the reviewer whether this is a
				// typo or no justification at all.
				f.Reason += fmt.Sprintf(" (given %q)", t)
			}
		}
		if strings.EqualFold(e.Result, "failure") {
			f.Reason += " (attempt failed)"
		}
		out = append(out, f)
	}
	return out
}
