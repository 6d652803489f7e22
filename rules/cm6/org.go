package cm6

import (
	"fmt"
	"path"
	"strings"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// judgeOrgRuleset judges one state of an organisation ruleset (a webhook
// without a repository) seen from repo, one of the organisation's in-scope
// repositories, whose default branch is branch ("" when no record names
// it). The subject is the organisation's, ORG:ruleset/<id>@<delivery>: the
// event is judged once for the organisation, whichever of its repositories
// it protects (each repository's evaluation that it protects gives the
// same verdict on the same subject). ok is false when the ruleset does not
// protect repo's default branch. A ruleset that picks repositories by id
// or property cannot be resolved from its record: that is an error
// finding, never a pass or fail.
func judgeOrgRuleset(pol control.Policy, r model.RulesetEvent, repo, branch string) (model.Finding, bool) {
	r.Repo, r.DefaultBranch = repo, branch
	if !protectsDefault(r) {
		return model.Finding{}, false
	}
	switch r.RepoTargeting {
	case "id", "property":
		name := fmt.Sprintf("ruleset %q (id %d)", r.Name, r.RulesetID)
		by := strings.ToLower(r.Action)
		if r.Sender != "" {
			by += " by " + r.Sender
		}
		return model.Finding{
			Rule:       ID,
			Subject:    orgSubject(r),
			Repo:       repo,
			OccurredAt: r.OccurredAt,
			Outcome:    model.Error,
			Reason: fmt.Sprintf("%s %s targets repositories by repository_%s, which the event does not resolve: "+
				"cannot tell which repositories it protects", name, by, r.RepoTargeting),
			Evidence: model.Evidence{ChangeEvidence: model.ChangeEvidence{Author: r.Sender, URL: r.URL},
				SourceEvidence: model.SourceEvidence{DeliveryIDs: []string{r.DeliveryID}}},
		}, true
	}
	if !targetsRepo(r, repo) {
		return model.Finding{}, false
	}
	f, ok := judgeRuleset(pol, r)
	f.Subject = orgSubject(r)
	return f, ok
}

// orgSubject is an organisation ruleset event's subject.
func orgSubject(r model.RulesetEvent) string {
	return fmt.Sprintf("%s:ruleset/%d@%s", r.Org, r.RulesetID, r.DeliveryID)
}

// targetsRepo reports whether an organisation ruleset's repository_name
// condition includes repo's name (a pattern, fnmatch, case-insensitive as
// GitHub's names are, or ~ALL) and does not exclude it; exclude wins. A
// ruleset without repository conditions targets every repository.
func targetsRepo(r model.RulesetEvent, repo string) bool {
	if r.RepoTargeting != "name" {
		return r.RepoTargeting == ""
	}
	_, name, _ := strings.Cut(repo, "/")
	name = strings.ToLower(name)
	match := func(p string) bool {
		if p == "~ALL" {
			return true
		}
		ok, err := path.Match(strings.ToLower(p), name)
		return err == nil && ok
	}
	in := false
	for _, p := range r.RepoInclude {
		in = in || match(p)
	}
	for _, p := range r.RepoExclude {
		if match(p) {
			return false
		}
	}
	return in
}

// defaultBranch is repo's default branch as its newest record that names
// it says: a default-branch push, else one of its own rulesets.
func defaultBranch(ev *model.RepoEvidence) string {
	for i := len(ev.Pushes) - 1; i >= 0; i-- {
		if b := ev.Pushes[i].DefaultBranch; b != "" {
			return b
		}
	}
	for i := len(ev.Rulesets) - 1; i >= 0; i-- {
		if r := ev.Rulesets[i]; r.Repo == ev.Repo && r.DefaultBranch != "" {
			return r.DefaultBranch
		}
	}
	return ""
}
