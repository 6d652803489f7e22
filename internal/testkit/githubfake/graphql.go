package githubfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// PullsOperation is the operationName of the one GraphQL query the fake
// answers: changeproof backfill's page of merged pull requests. The fake
// is not a GraphQL engine: it reads that query's variables (owner, name,
// base, first, after, commits, checks) and answers in the shape the query
// asks for, from the same Repo data the REST endpoints serve (each node
// is built from the REST object of the same thing, so both paths see one
// history). Any other operation is answered with a GraphQL error.
const PullsOperation = "ChangeproofMergedPulls"

// Connection sizes the product's query asks for.
const (
	gqlReviews   = 100
	gqlCommits   = 100
	gqlRuns      = 50
	gqlLabelsMax = 100
)

// DisableGraphQL makes the server answer 404 to /graphql, as a
// GitHub-compatible server without GraphQL does.
func (f *Server) DisableGraphQL() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noGraphQL = true
}

// isGraphQL reports whether r is for the GraphQL endpoint
// (api.github.com's /graphql or GitHub Enterprise Server's /api/graphql).
func isGraphQL(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/graphql" || r.URL.Path == "/api/graphql")
}

func gqlError(msg string) string {
	return marshal(map[string]any{"errors": []any{map[string]any{"message": msg}}})
}

// graphql answers a POST to the GraphQL endpoint.
func (f *Server) graphql(r *http.Request) (int, string) {
	f.mu.Lock()
	off := f.noGraphQL
	f.mu.Unlock()
	if off {
		return http.StatusNotFound, `{"message":"Not Found"}`
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return http.StatusBadRequest, gqlError(err.Error())
	}
	var req struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return http.StatusBadRequest, gqlError("Problems parsing JSON")
	}
	if req.OperationName != PullsOperation || !strings.Contains(req.Query, "query "+PullsOperation+"(") {
		return http.StatusOK, gqlError(fmt.Sprintf("githubfake answers only the %s query, not %q", PullsOperation, req.OperationName))
	}
	v := req.Variables
	str := func(k string) string { s, _ := v[k].(string); return s }
	flag := func(k string) bool { b, _ := v[k].(bool); return b }
	first, _ := v["first"].(float64)
	if first < 1 || first > 100 {
		return http.StatusOK, gqlError(fmt.Sprintf("first: %v is not between 1 and 100", v["first"]))
	}
	f.mu.Lock()
	repo := f.repos[str("owner")+"/"+str("name")]
	f.mu.Unlock()
	if repo == nil {
		return http.StatusOK, marshal(map[string]any{"data": map[string]any{"repository": nil}, "errors": []any{map[string]any{
			"type": "NOT_FOUND", "path": []any{"repository"},
			"message": fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", str("owner"), str("name"))}}})
	}
	var prs []fixture.PR
	for _, p := range repo.PRs {
		base := p.BaseRef
		if base == "" {
			base = repo.Branch
		}
		if p.Merged && base == str("base") {
			prs = append(prs, p)
		}
	}
	sort.SliceStable(prs, func(i, j int) bool { return updatedAt(prs[i]).After(updatedAt(prs[j])) })
	lo := 0
	if a := str("after"); a != "" {
		raw, err := base64.StdEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "cursor:v2:"))
		if err != nil || err2 != nil {
			return http.StatusOK, gqlError(fmt.Sprintf("`%s` does not appear to be a valid cursor.", a))
		}
		lo = min(n, len(prs))
	}
	hi := min(lo+int(first), len(prs))
	nodes := make([]any, 0, hi-lo)
	for _, p := range prs[lo:hi] {
		nodes = append(nodes, f.gqlPR(f.t, repo, p, flag("commits"), flag("checks")))
	}
	var end any
	if hi > lo {
		end = base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(hi)))
	}
	return http.StatusOK, marshal(map[string]any{"data": map[string]any{"repository": map[string]any{"pullRequests": map[string]any{
		"pageInfo": map[string]any{"hasNextPage": hi < len(prs), "endCursor": end}, "nodes": nodes}}}})
}

// gqlActor is a GraphQL Actor from a REST user object: a bot's login has
// no "[bot]" suffix in GraphQL.
func gqlActor(u any) any {
	m, ok := u.(map[string]any)
	if !ok || m == nil {
		return nil
	}
	login, _ := m["login"].(string)
	if m["type"] == "Bot" {
		return map[string]any{"__typename": "Bot", "login": strings.TrimSuffix(login, "[bot]")}
	}
	return map[string]any{"__typename": "User", "login": login}
}

// gitActor is a GraphQL GitActor from a REST commit's author or committer
// user and the commit's git identity: its user is a User, so a bot's is
// null and only the email says who it was.
func gitActor(u any, git any) any {
	email, _ := git.(map[string]any)["email"].(string)
	m, ok := u.(map[string]any)
	if !ok || m == nil || m["type"] == "Bot" {
		return map[string]any{"email": email, "user": nil}
	}
	return map[string]any{"email": email, "user": map[string]any{"login": m["login"]}}
}

func conn(total int, nodes []any) map[string]any {
	if nodes == nil {
		nodes = []any{}
	}
	return map[string]any{"totalCount": total, "nodes": nodes}
}

func (f *Server) gqlPR(t testing.TB, repo *Repo, p fixture.PR, commits, checks bool) map[string]any {
	pr := obj(t, fixture.PullRequest("closed", p))["pull_request"].(map[string]any)
	head, _ := pr["head"].(map[string]any)
	base, _ := pr["base"].(map[string]any)
	n := map[string]any{"number": pr["number"], "title": pr["title"], "body": pr["body"], "url": pr["html_url"],
		"createdAt": pr["created_at"], "updatedAt": pr["updated_at"], "mergedAt": pr["merged_at"],
		"baseRefName": base["ref"], "headRefName": head["ref"], "headRefOid": head["sha"], "headRepository": nil,
		"author": gqlActor(pr["user"]), "mergedBy": gqlActor(pr["merged_by"]), "mergeCommit": nil}
	if hr, ok := head["repo"].(map[string]any); ok && hr != nil {
		n["headRepository"] = map[string]any{"nameWithOwner": hr["full_name"]}
	}
	if s, ok := pr["merge_commit_sha"].(string); ok && s != "" {
		n["mergeCommit"] = map[string]any{"oid": s}
	}
	var labels []any
	ls, _ := pr["labels"].([]any)
	for _, l := range ls[:min(len(ls), gqlLabelsMax)] {
		labels = append(labels, map[string]any{"name": l.(map[string]any)["name"]})
	}
	n["labels"] = conn(len(ls), labels)
	var reviews []any
	rvs := repo.Reviews[p.Number]
	for _, rv := range rvs[:min(len(rvs), gqlReviews)] {
		m := reviewItem(t, rv)
		node := map[string]any{"fullDatabaseId": strconv.FormatInt(int64(m["id"].(float64)), 10), "state": m["state"],
			"submittedAt": m["submitted_at"], "url": m["html_url"], "author": gqlActor(m["user"]), "commit": nil}
		if c, ok := m["commit_id"].(string); ok && c != "" {
			node["commit"] = map[string]any{"oid": c}
		}
		reviews = append(reviews, node)
	}
	n["reviews"] = conn(len(rvs), reviews)
	pcs := repo.PRCommits[p.Number]
	if commits {
		var cs []any
		for _, c := range pcs[:min(len(pcs), gqlCommits)] {
			m := commitItem(t, repo.FullName, c)
			cm := m["commit"].(map[string]any)
			cs = append(cs, map[string]any{"commit": map[string]any{"oid": m["sha"],
				"committedDate": cm["committer"].(map[string]any)["date"], "author": gitActor(m["author"], cm["author"]), "committer": gitActor(m["committer"], cm["committer"])}})
		}
		n["commits"] = conn(len(pcs), cs)
	}
	if checks {
		var last []any
		if len(pcs) > 0 {
			sha := pcs[len(pcs)-1].SHA
			var runs []any
			crs := repo.CheckRuns[sha]
			for _, c := range crs[:min(len(crs), gqlRuns)] {
				m := checkRunItem(t, c)
				runs = append(runs, map[string]any{"databaseId": m["id"], "name": m["name"], "status": strings.ToUpper(str(m["status"])),
					"conclusion": upperOrNil(m["conclusion"]), "startedAt": m["started_at"], "completedAt": m["completed_at"], "url": m["html_url"]})
			}
			var suites []any
			if len(crs) > 0 {
				suites = []any{map[string]any{"checkRuns": conn(len(crs), runs)}}
			}
			var status any
			if ss := repo.Statuses[sha]; len(ss) > 0 {
				status = map[string]any{"state": strings.ToUpper(str(combinedStatus(t, repo.FullName, sha, ss)["state"]))}
			}
			last = []any{map[string]any{"commit": map[string]any{"oid": sha, "status": status, "checkSuites": conn(len(suites), suites)}}}
		}
		n["headCommit"] = conn(len(pcs), last)
	}
	return n
}

func str(v any) string { s, _ := v.(string); return s }

func upperOrNil(v any) any {
	if s, ok := v.(string); ok && s != "" {
		return strings.ToUpper(s)
	}
	return nil
}
