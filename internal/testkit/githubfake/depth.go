package githubfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// The newer endpoints: a pull request's commits, a commit's check runs and
// combined status, and rulesets. Their bodies are the REST objects built
// from the same real webhook payloads the deliveries use (a check_run
// webhook's check_run is the REST check run; a repository_ruleset webhook's
// repository_ruleset is GET /rulesets/{id}; a status webhook carries the
// fields of a combined status's statuses[] item).

// checkRunItem is a REST check run.
func checkRunItem(t testing.TB, c fixture.CheckRunEvent) map[string]any {
	return obj(t, fixture.CheckRun(c))["check_run"].(map[string]any)
}

// combinedStatus is GET /commits/{sha}/status.
func combinedStatus(t testing.TB, full, sha string, ss []fixture.StatusEvent) map[string]any {
	items := make([]any, 0, len(ss))
	state := "success"
	for _, s := range ss {
		doc := obj(t, fixture.Status(s))
		item := map[string]any{"url": "https://api.github.com/repos/" + full + "/statuses/" + sha}
		for _, k := range []string{"id", "state", "description", "target_url", "context", "created_at", "updated_at"} {
			item[k] = doc[k]
		}
		item["creator"] = doc["sender"]
		items = append(items, item)
		if s.State != "success" {
			state = s.State
		}
	}
	if len(ss) == 0 {
		state = "pending"
	}
	return map[string]any{"state": state, "statuses": items, "sha": sha, "total_count": len(items),
		"commit_url": "https://api.github.com/repos/" + full + "/commits/" + sha,
		"url":        "https://api.github.com/repos/" + full + "/commits/" + sha + "/status"}
}

// rulesetItem is GET /rulesets/{id}; full false gives the list item,
// which has no rules, conditions or bypass actors.
func rulesetItem(t testing.TB, e fixture.RulesetEvent, full bool) map[string]any {
	m := obj(t, fixture.RepositoryRuleset(e))["repository_ruleset"].(map[string]any)
	if !full {
		for _, k := range []string{"rules", "conditions", "bypass_actors"} {
			delete(m, k)
		}
	}
	return m
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// routeDepth answers the newer endpoints; ok is false for other paths.
func (f *Server) routeDepth(r *http.Request, repo *Repo, rest []string) (status int, body, link string, ok bool) {
	switch {
	case len(rest) == 3 && rest[0] == "pulls" && rest[2] == "commits":
		n, _ := strconv.Atoi(rest[1])
		var items []any
		for _, c := range repo.PRCommits[n] {
			items = append(items, commitItem(f.t, repo.FullName, c))
		}
		s, b, l := f.page(r, items)
		return s, b, l, true
	case len(rest) == 3 && rest[0] == "commits" && rest[2] == "check-runs":
		runs := make([]any, 0)
		for _, c := range repo.CheckRuns[rest[1]] {
			runs = append(runs, checkRunItem(f.t, c))
		}
		return http.StatusOK, marshal(map[string]any{"total_count": len(runs), "check_runs": runs}), "", true
	case len(rest) == 3 && rest[0] == "commits" && rest[2] == "status":
		return http.StatusOK, marshal(combinedStatus(f.t, repo.FullName, rest[1], repo.Statuses[rest[1]])), "", true
	case len(rest) == 1 && rest[0] == "rulesets":
		if r.URL.Query().Get("includes_parents") != "true" {
			f.t.Errorf("rulesets query %v", r.URL.Query())
		}
		items := make([]any, 0, len(repo.Rulesets))
		for _, e := range repo.Rulesets {
			items = append(items, rulesetItem(f.t, e, false))
		}
		return http.StatusOK, marshal(items), "", true
	case len(rest) == 2 && rest[0] == "rulesets":
		id, _ := strconv.ParseInt(rest[1], 10, 64)
		for _, e := range repo.Rulesets {
			if e.ID == id {
				return http.StatusOK, marshal(rulesetItem(f.t, e, true)), "", true
			}
		}
		return http.StatusNotFound, `{"message":"Not Found"}`, "", true
	}
	return 0, "", "", false
}
