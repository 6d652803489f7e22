package githubfake

import (
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

//go:embed testdata/*.json
var testdata embed.FS

func read(t testing.TB, name string) []byte {
	b, err := testdata.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(t testing.TB, b []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func repoBody(t testing.TB, r *Repo) string {
	m := obj(t, read(t, "repo.json"))
	m["full_name"], m["default_branch"] = r.FullName, r.Branch
	m["name"] = strings.SplitN(r.FullName, "/", 2)[1]
	b, _ := json.Marshal(m)
	return string(b)
}

func updatedAt(p fixture.PR) time.Time {
	var m map[string]any
	_ = json.Unmarshal(fixture.PullRequest("closed", p), &m)
	s, _ := m["pull_request"].(map[string]any)["updated_at"].(string)
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// pullItem is the list endpoint's item: the webhook's pull_request object
// without the keys of the full PR that "pull-request-simple" lacks.
func pullItem(t testing.TB, p fixture.PR) map[string]any {
	m := obj(t, fixture.PullRequest("closed", p))["pull_request"].(map[string]any)
	for _, k := range []string{"merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments",
		"review_comments", "maintainer_can_modify", "commits", "additions", "deletions", "changed_files"} {
		delete(m, k)
	}
	return m
}

// reviewItem is a REST review: the webhook's review object with the
// upper-case state the REST API uses.
func reviewItem(t testing.TB, r fixture.ReviewEvent) map[string]any {
	action := "submitted"
	if r.State == "dismissed" {
		action = "dismissed"
	}
	m := obj(t, fixture.PullRequestReview(action, r))["review"].(map[string]any)
	m["state"] = strings.ToUpper(m["state"].(string))
	return m
}

func commitItem(t testing.TB, full string, c Commit) map[string]any {
	m := obj(t, read(t, "commit.json"))
	api := "https://api.github.com/repos/" + full + "/commits/"
	m["sha"], m["url"], m["html_url"] = c.SHA, api+c.SHA, "https://github.com/"+full+"/commit/"+c.SHA
	cm := m["commit"].(map[string]any)
	cm["message"] = c.Message
	cm["author"].(map[string]any)["date"] = c.At.UTC().Format(time.RFC3339)
	cm["committer"].(map[string]any)["date"] = c.At.UTC().Format(time.RFC3339)
	for _, who := range []struct{ part, login string }{{"author", c.Author}, {"committer", c.Committer}} {
		user := m[who.part].(map[string]any)
		user["login"] = who.login
		if strings.HasSuffix(who.login, "[bot]") {
			// A GitHub App's bot commits under its noreply address,
			// "<id>+<login>@users.noreply.github.com" (e.g. Dependabot's
			// 49699333+dependabot[bot]@...), which is how GitHub ties the
			// commit to the bot account.
			id := botID(who.login)
			user["type"], user["id"] = "Bot", id
			git := cm[who.part].(map[string]any)
			git["name"], git["email"] = who.login, fmt.Sprintf("%d+%s@users.noreply.github.com", id, who.login)
		}
	}
	m["parents"] = []any{map[string]any{"sha": c.Parent, "url": api + c.Parent}}
	return m
}

// issueEvents is GET /repos/{o}/{r}/issues/events: every PR's issue events,
// newest first, in the shape of the REST docs' example ("List issue events
// for a repository"). The actor and issue objects are the user and
// pull-request objects of the PR's real webhook payload. Besides "closed"
// and "merged" (actor: the merger), each PR has the "labeled" and
// "head_ref_deleted" events busy repositories are full of, so pagination
// costs what it would.
func issueEvents(t testing.TB, r *Repo) []any {
	type ev struct {
		at   time.Time
		id   int64
		item map[string]any
	}
	var evs []ev
	for _, p := range r.PRs {
		if slices.Contains(r.HiddenEvents, p.Number) {
			continue
		}
		doc := obj(t, fixture.PullRequest("closed", p))
		pr := doc["pull_request"].(map[string]any)
		sender := doc["sender"].(map[string]any)
		closedAt := p.ClosedAt
		if closedAt.IsZero() {
			closedAt = p.MergedAt
		}
		issue := map[string]any{}
		for _, k := range []string{"id", "node_id", "html_url", "number", "state", "locked", "title", "user", "body", "labels",
			"assignee", "assignees", "milestone", "created_at", "updated_at", "closed_at", "author_association", "draft"} {
			issue[k] = pr[k]
		}
		api := "https://api.github.com/repos/" + r.FullName
		issue["url"] = api + "/issues/" + jsonNum(pr["number"])
		issue["repository_url"] = api
		issue["comments"] = 0
		issue["pull_request"] = map[string]any{"url": pr["url"], "html_url": pr["html_url"], "diff_url": pr["diff_url"],
			"patch_url": pr["patch_url"], "merged_at": pr["merged_at"]}
		add := func(kind string, at time.Time, actor map[string]any, commit any) {
			id := eventID(r.FullName, p.Number, kind)
			item := map[string]any{"id": id, "node_id": "IE_" + jsonNum(float64(id)), "url": api + "/issues/events/" + jsonNum(float64(id)),
				"actor": actor, "event": kind, "commit_id": commit, "commit_url": nil, "created_at": at.UTC().Format(time.RFC3339),
				"issue": issue, "performed_via_github_app": nil}
			if s, ok := commit.(string); ok {
				item["commit_url"] = api + "/commits/" + s
			}
			evs = append(evs, ev{at, id, item})
		}
		author := pr["user"].(map[string]any)
		if !p.CreatedAt.IsZero() {
			add("labeled", p.CreatedAt, author, nil)
		}
		add("closed", closedAt, sender, nil)
		if p.Merged {
			add("merged", p.MergedAt, sender, p.MergeCommitSHA)
			add("head_ref_deleted", p.MergedAt.Add(time.Second), sender, nil)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].at.Equal(evs[j].at) {
			return evs[i].at.After(evs[j].at)
		}
		return evs[i].id > evs[j].id
	})
	out := make([]any, len(evs))
	for i, e := range evs {
		out[i] = e.item
	}
	return out
}

func eventID(repo string, n int, kind string) int64 {
	s := sha256.Sum256([]byte(repo + "#" + jsonNum(float64(n)) + kind))
	return int64(binary.BigEndian.Uint32(s[:4]))
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// botID is a bot account's id: Dependabot's and GitHub Actions' real ones,
// a stable made-up one for any other bot.
func botID(login string) int64 {
	switch login {
	case "dependabot[bot]":
		return 49699333
	case "github-actions[bot]":
		return 41898282
	}
	h := fnv.New32a()
	h.Write([]byte(login))
	return 100000000 + int64(h.Sum32()%100000000)
}
