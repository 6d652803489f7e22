package backfill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/fixture"
)

// fakeRepo is one repository's history as the fake GitHub serves it.
type fakeRepo struct {
	full, branch string
	prs          []fixture.PR // closed PRs (merged or not)
	reviews      map[int][]fixture.ReviewEvent
	commits      []fakeCommit // default-branch history, newest first
	protected    bool
}

type fakeCommit struct {
	sha, parent, message, author, committer string
	at                                      time.Time
}

// fault is served once instead of the real answer to a matching path.
type fault struct {
	path   string // URL path prefix
	status int
	header map[string]string
	body   string
}

// fakeGitHub behaves like the REST API for the endpoints backfill uses:
// Link pagination, ETag/If-None-Match, rate-limit headers, injected faults.
type fakeGitHub struct {
	t      *testing.T
	mu     sync.Mutex
	repos  map[string]*fakeRepo
	faults []fault
	// counts
	total, notModified int
	log                []string // "STATUS METHOD URL"
	// onRequest, if set, runs before each answer with the request count.
	onRequest func(n int)
}

func newFake(t *testing.T, repos ...*fakeRepo) (*fakeGitHub, *httptest.Server) {
	f := &fakeGitHub{t: t, repos: map[string]*fakeRepo{}}
	for _, r := range repos {
		f.repos[r.full] = r
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGitHub) nonNotModified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total - f.notModified
}

func (f *fakeGitHub) requested(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if strings.Contains(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.total++
	n := f.total
	var ft *fault
	for i := range f.faults {
		if strings.HasPrefix(r.URL.Path, f.faults[i].path) {
			x := f.faults[i]
			ft = &x
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
			break
		}
	}
	hook := f.onRequest
	f.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	if r.Header.Get("Authorization") != "Bearer tok" {
		f.answer(w, r, http.StatusUnauthorized, nil, `{"message":"Bad credentials"}`)
		return
	}
	if ft != nil {
		f.answer(w, r, ft.status, ft.header, ft.body)
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
		f.notModified++
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

func (f *fakeGitHub) answer(w http.ResponseWriter, r *http.Request, status int, h map[string]string, body string) {
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

func (f *fakeGitHub) route(r *http.Request) (int, string, string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "repos" {
		return http.StatusNotFound, `{"message":"Not Found"}`, ""
	}
	repo := f.repos[parts[1]+"/"+parts[2]]
	if repo == nil {
		return http.StatusNotFound, `{"message":"Not Found"}`, ""
	}
	q := r.URL.Query()
	rest := parts[3:]
	switch {
	case len(rest) == 0:
		return http.StatusOK, repoBody(f.t, repo), ""
	case len(rest) == 1 && rest[0] == "pulls":
		if q.Get("state") != "closed" || q.Get("base") != repo.branch || q.Get("sort") != "updated" || q.Get("direction") != "desc" {
			f.t.Errorf("pulls query %v", q)
		}
		items := make([]any, 0, len(repo.prs))
		prs := append([]fixture.PR(nil), repo.prs...)
		sort.SliceStable(prs, func(i, j int) bool { return updatedAt(prs[i]).After(updatedAt(prs[j])) })
		for _, p := range prs {
			items = append(items, pullItem(f.t, p))
		}
		return f.page(r, items)
	case len(rest) == 3 && rest[0] == "pulls" && rest[2] == "reviews":
		n, _ := strconv.Atoi(rest[1])
		var items []any
		for _, rv := range repo.reviews[n] {
			items = append(items, reviewItem(f.t, rv))
		}
		return f.page(r, items)
	case len(rest) == 1 && rest[0] == "commits":
		if q.Get("sha") != repo.branch || q.Get("since") == "" {
			f.t.Errorf("commits query %v", q)
		}
		since, _ := time.Parse(time.RFC3339, q.Get("since"))
		var items []any
		for _, c := range repo.commits {
			if !c.at.Before(since) {
				items = append(items, commitItem(f.t, repo.full, c))
			}
		}
		return f.page(r, items)
	case len(rest) == 3 && rest[0] == "branches" && rest[2] == "protection":
		if !repo.protected {
			return http.StatusNotFound, string(read(f.t, "protection-404.json")), ""
		}
		return http.StatusOK, string(read(f.t, "protection.json")), ""
	}
	return http.StatusNotFound, `{"message":"Not Found"}`, ""
}

// page serves one page of items with GitHub's Link header.
func (f *fakeGitHub) page(r *http.Request, items []any) (int, string, string) {
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

func read(t *testing.T, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(t *testing.T, b []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func repoBody(t *testing.T, r *fakeRepo) string {
	m := obj(t, read(t, "repo.json"))
	m["full_name"], m["default_branch"] = r.full, r.branch
	m["name"] = strings.SplitN(r.full, "/", 2)[1]
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
func pullItem(t *testing.T, p fixture.PR) map[string]any {
	m := obj(t, fixture.PullRequest("closed", p))["pull_request"].(map[string]any)
	for _, k := range []string{"merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments",
		"review_comments", "maintainer_can_modify", "commits", "additions", "deletions", "changed_files"} {
		delete(m, k)
	}
	return m
}

// reviewItem is a REST review: the webhook's review object with the
// upper-case state the REST API uses.
func reviewItem(t *testing.T, r fixture.ReviewEvent) map[string]any {
	action := "submitted"
	if r.State == "dismissed" {
		action = "dismissed"
	}
	m := obj(t, fixture.PullRequestReview(action, r))["review"].(map[string]any)
	m["state"] = strings.ToUpper(m["state"].(string))
	return m
}

func commitItem(t *testing.T, full string, c fakeCommit) map[string]any {
	m := obj(t, read(t, "commit.json"))
	api := "https://api.github.com/repos/" + full + "/commits/"
	m["sha"], m["url"], m["html_url"] = c.sha, api+c.sha, "https://github.com/"+full+"/commit/"+c.sha
	cm := m["commit"].(map[string]any)
	cm["message"] = c.message
	cm["author"].(map[string]any)["date"] = c.at.UTC().Format(time.RFC3339)
	cm["committer"].(map[string]any)["date"] = c.at.UTC().Format(time.RFC3339)
	m["author"].(map[string]any)["login"] = c.author
	m["committer"].(map[string]any)["login"] = c.committer
	m["parents"] = []any{map[string]any{"sha": c.parent, "url": api + c.parent}}
	return m
}

// fakeClock is Options.Now/Sleep for tests: Sleep records and advances.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}
