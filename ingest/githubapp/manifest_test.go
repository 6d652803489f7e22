package githubapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/enrich"
	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
)

const manifestPath = "../../deploy/github-app/manifest.json"

// manifest is GitHub's App manifest, with only the parameters GitHub
// documents for the manifest flow (decoding refuses any other key).
type manifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	HookAttributes struct {
		URL    string `json:"url"`
		Active bool   `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL           string            `json:"redirect_url"`
	CallbackURLs          []string          `json:"callback_urls"`
	SetupURL              string            `json:"setup_url"`
	Public                bool              `json:"public"`
	DefaultEvents         []string          `json:"default_events"`
	DefaultPermissions    map[string]string `json:"default_permissions"`
	RequestOAuthOnInstall bool              `json:"request_oauth_on_install"`
	SetupOnUpdate         bool              `json:"setup_on_update"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", manifestPath, err)
	}
	return m
}

// eventPermission is the repository permission a GitHub App needs to
// subscribe to each webhook event (GitHub's "Webhook events and payloads").
var eventPermission = map[string]string{
	"branch_protection_rule": "administration",
	"check_run":              "checks",
	"deployment_status":      "deployments",
	"pull_request":           "pull_requests",
	"pull_request_review":    "pull_requests",
	"push":                   "contents",
	"repository_ruleset":     "administration",
	"status":                 "statuses",
}

// endpoint is a REST endpoint backfill or discovery calls and the App
// permission it needs, as GitHub's REST reference names it in "Fine-grained
// access tokens for ..." ("" for endpoints an App reaches by its JWT or
// installation token alone).
type endpoint struct {
	name      string
	perms     []string
	path      *regexp.Regexp
	tokenOnly bool // not called with an App (organisation listing)
}

var endpoints = []endpoint{
	{"Get a repository", []string{"metadata"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+$`), false},
	{"List issue events for a repository", []string{"issues"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/issues/events$`), false},
	{"List pull requests", []string{"pull_requests"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/pulls$`), false},
	{"Get a pull request", []string{"pull_requests"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/pulls/\d+$`), false},
	{"List reviews for a pull request", []string{"pull_requests"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/pulls/\d+/reviews$`), false},
	{"List commits on a pull request", []string{"pull_requests"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/pulls/\d+/commits$`), false},
	{"List commits", []string{"contents"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/commits$`), false},
	{"List check runs for a Git reference", []string{"checks"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/commits/[^/]+/check-runs$`), false},
	{"Get the combined status for a specific reference", []string{"statuses"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/commits/[^/]+/status$`), false},
	{"List branches", []string{"contents"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/branches$`), false},
	{"Get branch protection", []string{"administration"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/branches/[^/]+/protection$`), false},
	{"Get all repository rulesets", []string{"metadata"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/rulesets$`), false},
	{"Get a repository ruleset", []string{"metadata"}, regexp.MustCompile(`^/repos/[^/]+/[^/]+/rulesets/\d+$`), false},
	// The merged pull requests with their reviews, commits and the head
	// commit's check runs and status, in one query per page.
	{"GraphQL: repository.pullRequests", []string{"pull_requests", "contents", "checks", "statuses"}, regexp.MustCompile(`^/graphql$`), false},
	{"List organization repositories", []string{"metadata"}, regexp.MustCompile(`^/orgs/[^/]+/repos$`), true},
	{"List installations for the authenticated app", nil, regexp.MustCompile(`^/app/installations$`), false},
	{"Create an installation access token for an app", nil, regexp.MustCompile(`^/app/installations/\d+/access_tokens$`), false},
	{"List repositories accessible to the app installation", nil, regexp.MustCompile(`^/installation/repositories$`), false},
}

// TestManifestEventsAndPermissions: the manifest subscribes to exactly the
// events the webhook receiver turns into records, grants only read
// access, and grants what each of those events needs.
func TestManifestEventsAndPermissions(t *testing.T) {
	m := readManifest(t)
	if m.Name == "" || m.Public {
		t.Errorf("name %q, public %v: want a named, private App", m.Name, m.Public)
	}
	for key, raw := range map[string]string{"url": m.URL, "hook_attributes.url": m.HookAttributes.URL, "redirect_url": m.RedirectURL} {
		if u, err := url.Parse(raw); err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("%s %q: want an https URL", key, raw)
		}
	}
	if !m.HookAttributes.Active || !strings.HasSuffix(m.HookAttributes.URL, "/webhooks/github") {
		t.Errorf("hook_attributes %+v: want the active webhook at /webhooks/github", m.HookAttributes)
	}
	events := slices.Clone(m.DefaultEvents)
	sort.Strings(events)
	want := slices.Clone(enrich.GitHubEvents)
	sort.Strings(want)
	if !slices.Equal(events, want) {
		t.Errorf("default_events %v, want the events the receiver reads %v", events, want)
	}
	for p, level := range m.DefaultPermissions {
		if level != "read" {
			t.Errorf("default_permissions.%s is %q: every permission must be read", p, level)
		}
	}
	for _, ev := range m.DefaultEvents {
		p, ok := eventPermission[ev]
		switch {
		case !ok:
			t.Errorf("event %s: no permission known for it (add it to eventPermission)", ev)
		case m.DefaultPermissions[p] != "read":
			t.Errorf("event %s needs %s: read, which the manifest does not grant", ev, p)
		}
	}
}

// TestManifestCoversBackfill: every request a backfill and a discovery
// make, with every optional read on (contributors, required checks, a
// merger the issue events leave out), over GraphQL and over REST only, is
// an endpoint of the table above,
// and the manifest grants each one's permission; the manifest grants no
// permission that no endpoint or event needs.
func TestManifestCoversBackfill(t *testing.T) {
	m := readManifest(t)
	key, path := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 0, nil)
	app := newApp(t, f, path)
	ins, err := app.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Pull requests over GraphQL, then the same over REST only (the path
	// taken where a server has no GraphQL endpoint).
	for _, restOnly := range []bool{false, true} {
		o := backfill.Options{BaseURL: f.URL, Transport: app.Transport(), Since: githubfake.Since, Contributors: true,
			RequiredChecks: []string{"ci/test", "ci/lint"}, RESTOnly: restOnly}
		if _, err := backfill.Run(context.Background(), o, &backfill.MemState{}, &sink{}, allRepos(ins)); err != nil {
			t.Fatal(err)
		}
	}
	hit := map[string]bool{}
	for _, line := range f.Log() {
		fields := strings.Fields(line) // STATUS METHOD URI
		u, err := url.Parse(fields[2])
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range endpoints {
			if e.path.MatchString(u.Path) {
				found, hit[e.name] = true, true
				for _, p := range e.perms {
					if m.DefaultPermissions[p] != "read" {
						t.Errorf("%s (%s) needs %s: read, which the manifest does not grant", u.Path, e.name, p)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s %s: an endpoint with no permission in the table; add it, with the permission GitHub documents", fields[1], u.Path)
		}
	}
	used := map[string]bool{}
	for _, p := range eventPermission {
		used[p] = true
	}
	for _, e := range endpoints {
		for _, p := range e.perms {
			used[p] = true
		}
		if !hit[e.name] && !e.tokenOnly {
			t.Errorf("%s was not called: the run no longer exercises it", e.name)
		}
	}
	for p := range m.DefaultPermissions {
		if !used[p] {
			t.Errorf("default_permissions.%s: no endpoint or event needs it", p)
		}
	}
}
