// Package githubfake is a GitHub REST API for tests: an httptest server that
// answers the endpoints changeproof's backfill uses with GitHub's real
// response shapes (recorded @octokit/fixtures bodies, the REST docs'
// examples, and the REST objects inside @octokit/webhooks-examples
// payloads), with Link pagination, ETag/If-None-Match, rate-limit headers
// and injected faults. The same Repo history also yields the webhook
// deliveries GitHub would have sent (Deliveries), so tests can compare a
// history learned by webhook with the same history learned by backfill.
package githubfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// Token is the only bearer token the server accepts.
const Token = "tok"

// Repo is one repository's history as the fake serves it.
type Repo struct {
	FullName, Branch string
	PRs              []fixture.PR // closed PRs (merged or not)
	Reviews          map[int][]fixture.ReviewEvent
	Commits          []Commit // default-branch history, newest first
	Protected        bool
	// PRCommits are each pull request's commits (GET /pulls/{n}/commits),
	// oldest first; Parent is unused. Deliveries sends each as a push to
	// the pull request's head branch.
	PRCommits map[int][]Commit
	// CheckRuns and Statuses are the check runs and commit statuses of a
	// commit, by SHA.
	CheckRuns map[string][]fixture.CheckRunEvent
	Statuses  map[string][]fixture.StatusEvent
	// Rulesets are the repository's rulesets as they are now.
	Rulesets []fixture.RulesetEvent
	// HiddenEvents lists PRs whose issue events the events list leaves out,
	// as it does for deleted or transferred issues.
	HiddenEvents []int
}

// Commit is one commit of the default branch's first-parent history.
type Commit struct {
	SHA, Parent, Message, Author, Committer string
	At                                      time.Time
}

// Fault is served once instead of the real answer to a matching path.
type Fault struct {
	Path   string // URL path prefix
	Status int
	Header map[string]string
	Body   string
}

// Server behaves like the REST API for the endpoints backfill uses. Its
// methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	t      testing.TB
	mu     sync.Mutex
	repos  map[string]*Repo
	faults []Fault
	total  int
	nm     int
	log    []string // "STATUS METHOD URL"
	hook   func(n int)
	app    *appState // nil until EnableApp
	// noGraphQL: /graphql answers 404 (DisableGraphQL).
	noGraphQL bool
}

// New starts a server for repos; it is closed when the test ends.
func New(t testing.TB, repos ...*Repo) *Server {
	f := &Server{t: t, repos: map[string]*Repo{}}
	for _, r := range repos {
		f.repos[r.FullName] = r
	}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Server.Close)
	return f
}

// Total is the number of requests answered so far.
func (f *Server) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// NonNotModified is the number of requests not answered 304.
func (f *Server) NonNotModified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total - f.nm
}

// Log returns "STATUS METHOD URI" of every answered request, in order.
func (f *Server) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// Requested returns the log lines whose URI contains s.
func (f *Server) Requested(s string) []string {
	var out []string
	for _, l := range f.Log() {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// AddFaults queues faults; each is served once, to the first request whose
// path starts with its Path.
func (f *Server) AddFaults(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fs...)
}

// PendingFaults returns the faults not served yet.
func (f *Server) PendingFaults() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Fault(nil), f.faults...)
}

// OnRequest sets a hook run before each answer with the request's number
// (1-based); nil removes it.
func (f *Server) OnRequest(h func(n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.total++
	n := f.total
	var ft *Fault
	for i := range f.faults {
		if strings.HasPrefix(r.URL.Path, f.faults[i].Path) {
			x := f.faults[i]
			ft = &x
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
			break
		}
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	if f.serveApp(w, r, ft) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		f.answer(w, r, http.StatusUnauthorized, nil, `{"message":"Bad credentials"}`)
		return
	}
	f.serveRepo(w, r, ft)
}

// serveRepo answers an authorised request about a repository: a queued
// fault, else the route's answer with ETag and Link.
func (f *Server) serveRepo(w http.ResponseWriter, r *http.Request, ft *Fault) {
	if ft != nil {
		f.answer(w, r, ft.Status, ft.Header, ft.Body)
		return
	}
	if isGraphQL(r) { // graphql.go; no ETag, as GitHub's GraphQL API
		status, body := f.graphql(r)
		f.answer(w, r, status, nil, body)
		return
	}
	status, body, link := f.route(r)
	if status != http.StatusOK {
		f.answer(w, r, status, nil, body)
		return
	}
	sum := sha256.Sum256([]byte(body + link))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		f.mu.Lock()
		f.nm++
		f.mu.Unlock()
		// Like GitHub, a 304 has the ETag but no body (and here no Link).
		f.answer(w, r, http.StatusNotModified, map[string]string{"ETag": etag}, "")
		return
	}
	h := map[string]string{"ETag": etag}
	if link != "" {
		h["Link"] = link
	}
	f.answer(w, r, http.StatusOK, h, body)
}

func (f *Server) answer(w http.ResponseWriter, r *http.Request, status int, h map[string]string, body string) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf("%d %s %s", status, r.Method, r.URL.RequestURI()))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if _, ok := h["X-RateLimit-Remaining"]; !ok {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4000")
		w.Header().Set("X-RateLimit-Reset", "1893456000")
	}
	for k, v := range h {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	if status != http.StatusNotModified {
		fmt.Fprint(w, body)
	}
}

func (f *Server) route(r *http.Request) (int, string, string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "repos" {
		return http.StatusNotFound, `{"message":"Not Found"}`, ""
	}
	f.mu.Lock()
	repo := f.repos[parts[1]+"/"+parts[2]]
	f.mu.Unlock()
	if repo == nil {
		return http.StatusNotFound, `{"message":"Not Found"}`, ""
	}
	q := r.URL.Query()
	rest := parts[3:]
	if status, body, link, ok := f.routeDepth(r, repo, rest); ok {
		return status, body, link
	}
	switch {
	case len(rest) == 0:
		return http.StatusOK, repoBody(f.t, repo), ""
	case len(rest) == 1 && rest[0] == "pulls":
		if q.Get("state") != "closed" || q.Get("base") != repo.Branch || q.Get("sort") != "updated" || q.Get("direction") != "desc" {
			f.t.Errorf("pulls query %v", q)
		}
		items := make([]any, 0, len(repo.PRs))
		prs := append([]fixture.PR(nil), repo.PRs...)
		sort.SliceStable(prs, func(i, j int) bool { return updatedAt(prs[i]).After(updatedAt(prs[j])) })
		for _, p := range prs {
			items = append(items, pullItem(f.t, p))
		}
		return f.page(r, items)
	case len(rest) == 2 && rest[0] == "pulls":
		n, _ := strconv.Atoi(rest[1])
		for _, p := range repo.PRs {
			if p.Number == n {
				b, _ := json.Marshal(obj(f.t, fixture.PullRequest("closed", p))["pull_request"])
				return http.StatusOK, string(b), ""
			}
		}
		return http.StatusNotFound, `{"message":"Not Found"}`, ""
	case len(rest) == 3 && rest[0] == "pulls" && rest[2] == "reviews":
		n, _ := strconv.Atoi(rest[1])
		var items []any
		for _, rv := range repo.Reviews[n] {
			items = append(items, reviewItem(f.t, rv))
		}
		return f.page(r, items)
	case len(rest) == 2 && rest[0] == "issues" && rest[1] == "events":
		return f.page(r, issueEvents(f.t, repo))
	case len(rest) == 1 && rest[0] == "commits":
		if q.Get("sha") != repo.Branch || q.Get("since") == "" {
			f.t.Errorf("commits query %v", q)
		}
		since, _ := time.Parse(time.RFC3339, q.Get("since"))
		var items []any
		for _, c := range repo.Commits {
			if !c.At.Before(since) {
				items = append(items, commitItem(f.t, repo.FullName, c))
			}
		}
		return f.page(r, items)
	case len(rest) == 1 && rest[0] == "branches":
		// Only the protected branches are listed here (protected=true):
		// the scenario's default branch when it is protected.
		var items []any
		if q := r.URL.Query(); q.Get("protected") != "true" {
			f.t.Errorf("branches query %v", q)
		} else if repo.Protected {
			var list []any
			if err := json.Unmarshal(read(f.t, "branches-protected.json"), &list); err != nil {
				f.t.Fatal(err)
			}
			b := list[0].(map[string]any)
			b["name"] = repo.Branch
			b["protection_url"] = "https://api.github.com/repos/" + repo.FullName + "/branches/" + repo.Branch + "/protection"
			items = append(items, b)
		}
		return f.page(r, items)
	case len(rest) == 3 && rest[0] == "branches" && rest[2] == "protection":
		if !repo.Protected {
			return http.StatusNotFound, string(read(f.t, "protection-404.json")), ""
		}
		return http.StatusOK, string(read(f.t, "protection.json")), ""
	}
	return http.StatusNotFound, `{"message":"Not Found"}`, ""
}

// page serves one page of items with GitHub's Link header.
func (f *Server) page(r *http.Request, items []any) (int, string, string) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg <= 0 {
		pg = 1
	}
	last := max((len(items)+per-1)/per, 1)
	lo, hi := min((pg-1)*per, len(items)), min(pg*per, len(items))
	b, err := json.Marshal(append([]any{}, items[lo:hi]...))
	if err != nil {
		f.t.Fatal(err)
	}
	link := ""
	if pg < last {
		u := func(p int) string {
			v := r.URL.Query()
			v.Set("page", strconv.Itoa(p))
			return fmt.Sprintf(`<http://%s%s?%s>`, r.Host, r.URL.Path, v.Encode())
		}
		link = u(pg+1) + `; rel="next", ` + u(last) + `; rel="last"`
	}
	return http.StatusOK, string(b), link
}
