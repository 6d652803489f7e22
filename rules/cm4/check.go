package cm4

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// defaultPattern stands in for a policy built without a pattern, so that a
// missing pattern cannot panic the check.
var defaultPattern = control.DefaultPolicy().TicketPattern

// place is one text of a change that may carry a ticket key.
type place struct {
	name  string // as the reason says it
	texts []string
}

// Check judges every change in ev when policy.require_ticket is true.
func (Control) Check(env control.Env, ev *model.RepoEvidence) []model.Finding {
	if !env.Policy.RequireTicket {
		return nil
	}
	pattern := env.Policy.TicketPattern
	if pattern == nil {
		pattern = defaultPattern
	}
	return control.EachChange(ev, "", func(c model.Change) (model.Finding, bool) {
		return judge(pattern, c)
	})
}

// judge looks for ticket keys in the texts of one change; a change of
// another kind than a pull request or a direct push is not a subject.
func judge(pattern *regexp.Regexp, c model.Change) (model.Finding, bool) {
	var places []place
	var searched string
	switch c.Kind {
	case model.KindPullRequest:
		places = []place{{"title", []string{c.Title}}, {"branch", []string{c.HeadRef}}, {"body", []string{c.Body}}}
		searched = "title, branch or body"
	case model.KindDirectPush:
		places = []place{{"commit messages", c.Messages}}
		searched = "commit messages"
	default:
		return model.Finding{}, false
	}
	f := control.ChangeFinding(ID, c)
	var keys, where []string
	for _, p := range places {
		found := false
		for _, t := range p.texts {
			for _, k := range control.FindTickets(pattern, t) {
				keys, found = append(keys, k), true
			}
		}
		if found {
			where = append(where, p.name)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	f.Evidence.TicketKeys = keys
	switch len(keys) {
	case 0:
		f.Outcome = model.Fail
		f.Reason = fmt.Sprintf("no ticket matching %s in %s", pattern, searched)
	case 1:
		f.Outcome = model.Pass
		f.Reason = fmt.Sprintf("ticket %s in %s", keys[0], strings.Join(where, ", "))
	default:
		f.Outcome = model.Pass
		f.Reason = fmt.Sprintf("tickets %s in %s", strings.Join(keys, ", "), strings.Join(where, ", "))
	}
	return f, true
}
