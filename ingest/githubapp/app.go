// Package githubapp authenticates changeproof as a GitHub App: it signs the
// App's JSON Web Token (RS256, through ghinstallation), finds the App's
// installations and the repositories each one can read, and gives backfill
// an http.RoundTripper that sends every request with the installation
// access token of the installation that holds the repository it is about.
//
// An installation belongs to one account (an organisation or a user), so
// the installation of a request is found from the owner in its path
// (/repos/{owner}/..., /orgs/{org}/...). Installation tokens live one hour;
// ghinstallation caches each and mints a new one a minute before it
// expires. Tokens and the JWT are never logged or put in an error.
package githubapp

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

// Options configure New.
type Options struct {
	// AppID is the App's numeric ID (its settings page, "App ID").
	AppID int64
	// Key is the App's private key, PEM as GitHub gives it ("RSA PRIVATE
	// KEY", PKCS#1; PKCS#8 "PRIVATE KEY" is accepted too).
	Key []byte
	// BaseURL is the REST API root; empty means https://api.github.com/.
	// For GitHub Enterprise Server: https://HOST/api/v3/.
	BaseURL string
	// Installations, when set, are the only installations used; empty
	// means every installation of the App.
	Installations []int64
	// Transport carries the requests (token requests included); default
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Installation is one installation of the App as Discover found it.
type Installation struct {
	ID int64
	// Account is the login of the organisation or user it is installed on.
	Account string
	// Suspended installations get no token; their Repos are empty.
	Suspended bool
	// Repos are the repositories the installation can read (owner/name),
	// archived ones left out (nothing changes there), sorted.
	Repos []string
}

// App is a GitHub App's client side. Safe for concurrent use.
type App struct {
	id       int64
	base     string // REST root without the trailing slash
	basePath string // its path, e.g. "/api/v3", or ""
	tr       http.RoundTripper
	apps     *ghinstallation.AppsTransport
	only     map[int64]bool

	mu     sync.Mutex
	inst   map[int64]*ghinstallation.Transport // kept across Discover: cached tokens
	owners map[string]int64                    // lower-cased account login -> installation
}

// ErrJWTRefused is GitHub refusing the App's JWT (401 on an /app endpoint):
// the App ID is wrong, or the key is not that App's private key (or was
// revoked), or the clock of this host is far off.
var ErrJWTRefused = errors.New("GitHub refused the App's JSON Web Token")

// ErrNoInstallation is a request about an account no discovered
// installation of the App covers.
var ErrNoInstallation = errors.New("no installation of the App covers this account")

// RefusedError is a refused App JWT, naming the App and GitHub's reason.
type RefusedError struct {
	AppID   int64
	Status  int
	Message string // GitHub's "message"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("GitHub App %d: GitHub refused the App's JSON Web Token (%d %s): check that the App ID is %d and that the private key file is a current private key of that App, and that this host's clock is right",
		e.AppID, e.Status, e.Message, e.AppID)
}

// Is makes errors.Is(err, ErrJWTRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrJWTRefused }

// ReadKey reads a private key file as GitHub gives it and checks that it is
// an RSA private key in PEM.
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := parseKey(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func parseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM file (want the .pem private key GitHub generated for the App)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("RSA private key: %w", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS#8 private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is %T, GitHub Apps sign with RSA", k)
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
}

// New checks o and returns the App; it sends no request.
func New(o Options) (*App, error) {
	if o.AppID <= 0 {
		return nil, fmt.Errorf("github app: app id must be positive, got %d", o.AppID)
	}
	key, err := parseKey(o.Key)
	if err != nil {
		return nil, fmt.Errorf("github app %d: private key: %w", o.AppID, err)
	}
	base := o.BaseURL
	if base == "" {
		base = "https://api.github.com/"
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("github app %d: base url: %w", o.AppID, err)
	}
	tr := o.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	a := &App{id: o.AppID, base: strings.TrimSuffix(base, "/"), basePath: strings.TrimSuffix(u.Path, "/"), tr: tr,
		only: map[int64]bool{}, inst: map[int64]*ghinstallation.Transport{}, owners: map[string]int64{}}
	a.apps = ghinstallation.NewAppsTransportFromPrivateKey(tr, o.AppID, key)
	a.apps.BaseURL = a.base
	for _, id := range o.Installations {
		a.only[id] = true
	}
	return a, nil
}

// ID is the App's ID.
func (a *App) ID() int64 { return a.id }

func (a *App) client(rt http.RoundTripper) *github.Client {
	c := github.NewClient(&http.Client{Transport: rt})
	c.BaseURL, _ = url.Parse(a.base + "/")
	return c
}

// Discover lists the App's installations (GET /app/installations, as the
// App) and each one's repositories (GET /installation/repositories, with
// the installation's token), and routes later requests by account. It
// blocks for about 1 + 2 requests per installation (more for more than 100
// of either). A refused JWT is a *RefusedError (ErrJWTRefused); an
// installation named in Options.Installations that the App does not have
// is an error too.
func (a *App) Discover(ctx context.Context) ([]Installation, error) {
	gh := a.client(a.apps)
	var all []*github.Installation
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := gh.Apps.ListInstallations(ctx, opt)
		if err != nil {
			return nil, a.refused(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	seen := map[int64]bool{}
	var out []Installation
	for _, in := range all {
		id := in.GetID()
		if len(a.only) > 0 && !a.only[id] {
			continue
		}
		seen[id] = true
		inst := Installation{ID: id, Account: in.GetAccount().GetLogin(), Suspended: in.SuspendedAt != nil}
		if !inst.Suspended {
			repos, err := a.repos(ctx, id)
			if err != nil {
				return nil, err
			}
			inst.Repos = repos
		}
		out = append(out, inst)
	}
	var missing []string
	for id := range a.only {
		if !seen[id] {
			missing = append(missing, fmt.Sprint(id))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("github app %d: installation %s: not an installation of this App (GET /app/installations lists %d)",
			a.id, strings.Join(missing, ", "), len(all))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	a.mu.Lock()
	a.owners = map[string]int64{}
	for _, in := range out {
		if !in.Suspended {
			a.owners[strings.ToLower(in.Account)] = in.ID
		}
	}
	a.mu.Unlock()
	return out, nil
}

// refused turns a 401 from an /app endpoint into a *RefusedError.
func (a *App) refused(err error) error {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized {
		return &RefusedError{AppID: a.id, Status: er.Response.StatusCode, Message: er.Message}
	}
	return fmt.Errorf("github app %d: list installations: %w", a.id, err)
}

// installation returns the token transport of installation id, making it
// once: its cached token outlives a Discover.
func (a *App) installation(id int64) *ghinstallation.Transport {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.inst[id]
	if t == nil {
		t = ghinstallation.NewFromAppsTransport(a.apps, id)
		t.BaseURL = a.base
		a.inst[id] = t
	}
	return t
}

func (a *App) repos(ctx context.Context, id int64) ([]string, error) {
	gh := a.client(a.installation(id))
	var out []string
	opt := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := gh.Apps.ListRepos(ctx, opt)
		if err != nil {
			var he *ghinstallation.HTTPError
			if errors.As(err, &he) && he.Response != nil && he.Response.StatusCode == http.StatusUnauthorized {
				return nil, &RefusedError{AppID: a.id, Status: he.Response.StatusCode, Message: "installation token refused"}
			}
			return nil, fmt.Errorf("github app %d: repositories of installation %d: %w", a.id, id, err)
		}
		for _, r := range page.Repositories {
			if !r.GetArchived() {
				out = append(out, r.GetFullName())
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	sort.Strings(out)
	return out, nil
}

// InstallationOf returns the installation that covers owner (an account
// login, any case), as the last Discover found it.
func (a *App) InstallationOf(owner string) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.owners[strings.ToLower(owner)]
	return id, ok
}

// Transport returns the RoundTripper backfill sends its requests through:
// each request about /repos/{owner}/... or /orgs/{owner}/..., and each
// GraphQL query whose variables name the owner, goes with the token of
// the installation on owner (found by the last Discover). A
// request about an account no installation covers fails with an error
// wrapping ErrNoInstallation, before anything is sent.
func (a *App) Transport() http.RoundTripper { return router{a} }

type router struct{ a *App }

func (r router) RoundTrip(req *http.Request) (*http.Response, error) {
	owner := ownerOf(strings.TrimPrefix(req.URL.Path, r.a.basePath))
	if owner == "" && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/graphql") {
		var err error
		if owner, err = graphqlOwner(req); err != nil {
			return nil, fmt.Errorf("github app %d: %s: %w", r.a.id, req.URL.Path, err)
		}
	}
	id, ok := r.a.InstallationOf(owner)
	if !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("github app %d: %s %s: %w %q (install the App there, or list the installation)",
			r.a.id, req.Method, req.URL.Path, ErrNoInstallation, owner)
	}
	return r.a.installation(id).RoundTrip(req)
}

// graphqlOwner reads the account a GraphQL request is about from its
// variables ("owner", as backfill's queries name it), leaving the body for
// the request to send.
func graphqlOwner(req *http.Request) (string, error) {
	var body io.ReadCloser
	var err error
	switch {
	case req.GetBody != nil:
		body, err = req.GetBody()
	case req.Body != nil:
		var b []byte
		b, err = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		body = io.NopCloser(bytes.NewReader(b))
	default:
		return "", errors.New("GraphQL request without a body")
	}
	if err != nil {
		return "", err
	}
	defer body.Close()
	var q struct {
		Variables struct {
			Owner string `json:"owner"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&q); err != nil {
		return "", fmt.Errorf("GraphQL request: %w", err)
	}
	return q.Variables.Owner, nil
}

// ownerOf returns the account a REST path is about: {owner} of
// /repos/{owner}/{repo}/... and {org} of /orgs/{org}/...; "" otherwise.
func ownerOf(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) >= 2 && (parts[0] == "repos" || parts[0] == "orgs") {
		return parts[1]
	}
	return ""
}
