package githubapp_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/ingest/githubapp"
	"github.com/changeproof/changeproof/internal/testkit/githubfake"
	"github.com/changeproof/changeproof/model"
)

const appID = 4242

// newKey generates an App key and writes it as GitHub hands it out: a
// PKCS#1 "RSA PRIVATE KEY" PEM file.
func newKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "changeproof.2026-12-07.private-key.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return k, path
}

// twoInstallations serves four repositories: acme's two and globex's api
// through two installations, and globex/web, which the App cannot see.
func twoInstallations(t *testing.T, pub *rsa.PublicKey, ttl time.Duration, now func() time.Time) *githubfake.Server {
	t.Helper()
	ledger := githubfake.Scenario("acme/ledger", 12, 4)
	ledger.HiddenEvents = []int{3} // its merger is read from the pull request itself
	f := githubfake.New(t,
		ledger,
		githubfake.Scenario("acme/billing", 7, 0),
		githubfake.Scenario("globex/api", 9, 3),
		githubfake.Scenario("globex/web", 5, 0))
	f.EnableApp(githubfake.AppOptions{ID: appID, Key: pub, TokenTTL: ttl, Now: now, Installations: []githubfake.AppInstallation{
		{ID: 101, Account: "acme", Repos: []string{"acme/ledger", "acme/billing"}},
		{ID: 202, Account: "globex", Repos: []string{"globex/api"}},
	}})
	return f
}

func newApp(t *testing.T, f *githubfake.Server, keyPath string, only ...int64) *githubapp.App {
	t.Helper()
	key, err := githubapp.ReadKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := githubapp.New(githubapp.Options{AppID: appID, Key: key, BaseURL: f.URL, Installations: only})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type sink struct {
	mu     sync.Mutex
	merged map[string]map[int]bool
}

func (s *sink) Write(_ context.Context, b model.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.merged == nil {
		s.merged = map[string]map[int]bool{}
	}
	for _, p := range b.PullRequests {
		if p.Merged {
			if s.merged[p.Repo] == nil {
				s.merged[p.Repo] = map[int]bool{}
			}
			s.merged[p.Repo][p.Number] = true
		}
	}
	return nil
}

func (s *sink) count(repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.merged[repo])
}

func allRepos(ins []githubapp.Installation) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Repos...)
	}
	sort.Strings(out)
	return out
}

// noStatus fails the test if the fake answered any request with status.
func noStatus(t *testing.T, f *githubfake.Server, status string) {
	t.Helper()
	for _, l := range f.Log() {
		if strings.HasPrefix(l, status+" ") {
			t.Errorf("fake answered %s", l)
		}
	}
}

// TestBackfillAndReconcileTwoInstallations: the App's two installations
// are discovered with their repositories (not the one the App cannot see),
// backfilled through real HTTP with each installation's own token, then
// reconciled: the merged pull requests a store did not know are learned
// in the repositories of both installations.
func TestBackfillAndReconcileTwoInstallations(t *testing.T) {
	key, path := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 0, nil)
	app := newApp(t, f, path)
	ctx := context.Background()
	ins, err := app.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []githubapp.Installation{
		{ID: 101, Account: "acme", Repos: []string{"acme/billing", "acme/ledger"}},
		{ID: 202, Account: "globex", Repos: []string{"globex/api"}},
	}
	if !reflect.DeepEqual(ins, want) {
		t.Fatalf("Discover = %+v, want %+v", ins, want)
	}

	s := &sink{}
	o := backfill.Options{BaseURL: f.URL, Transport: app.Transport(), Since: githubfake.Since}
	stats, err := backfill.Run(ctx, o, &backfill.MemState{}, s, allRepos(ins))
	if err != nil {
		t.Fatal(err)
	}
	for repo, n := range map[string]int{"acme/ledger": 12, "acme/billing": 7, "globex/api": 9} {
		if got := s.count(repo); got != n {
			t.Errorf("%s: %d merged PRs backfilled, want %d", repo, got, n)
		}
	}
	if stats.Repos != 3 {
		t.Errorf("stats.Repos = %d, want 3", stats.Repos)
	}
	noStatus(t, f, "401")
	noStatus(t, f, "404 GET /repos/globex/web")
	if len(f.Requested("/repos/globex/web")) != 0 {
		t.Error("a repository no installation holds was read")
	}
	if a, g := f.TokensIssued(101), f.TokensIssued(202); a != 1 || g != 1 {
		t.Errorf("tokens issued: acme %d, globex %d; want one each (cached)", a, g)
	}

	// Reconciliation: the store knew only the first five of each repository.
	known := func(_ context.Context, _ string, numbers []int) (map[int]bool, error) {
		k := map[int]bool{}
		for _, n := range numbers {
			k[n] = n <= 5
		}
		return k, nil
	}
	var mu sync.Mutex
	learned := map[string]int{}
	r := &backfill.Reconciler{
		Options: o, State: &backfill.MemState{}, Sink: &sink{}, Every: time.Hour, Known: known,
		Repos: func(ctx context.Context) ([]string, error) {
			ins, err := app.Discover(ctx)
			return allRepos(ins), err
		},
		Learned: func(repo string, ns []int) { mu.Lock(); learned[repo] += len(ns); mu.Unlock() },
	}
	if _, err := r.Round(ctx, githubfake.Since); err != nil {
		t.Fatal(err)
	}
	if w := map[string]int{"acme/ledger": 7, "acme/billing": 2, "globex/api": 4}; !reflect.DeepEqual(learned, w) {
		t.Fatalf("reconciliation learned %v, want %v", learned, w)
	}
	noStatus(t, f, "401")
}

// TestInstallationTokenRefreshed: with tokens living 61 seconds, the
// library mints a new one a minute before expiry, so a second run a
// second and a half later uses a fresh token and GitHub never answers 401.
func TestInstallationTokenRefreshed(t *testing.T) {
	key, path := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 61*time.Second, nil)
	app := newApp(t, f, path, 101)
	ctx := context.Background()
	ins, err := app.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].ID != 101 {
		t.Fatalf("Discover with installation 101 only = %+v", ins)
	}
	o := backfill.Options{BaseURL: f.URL, Transport: app.Transport(), Since: githubfake.Since}
	st := &backfill.MemState{}
	if _, err := backfill.Run(ctx, o, st, &sink{}, ins[0].Repos); err != nil {
		t.Fatal(err)
	}
	first := f.TokensIssued(101)
	time.Sleep(1500 * time.Millisecond)
	if _, err := backfill.Run(ctx, o, st, &sink{}, ins[0].Repos); err != nil {
		t.Fatal(err)
	}
	if got := f.TokensIssued(101); got <= first {
		t.Fatalf("tokens issued %d after expiry neared, %d before: not refreshed", got, first)
	}
	noStatus(t, f, "401")
	// The other installation was left out: no token for it.
	if f.TokensIssued(202) != 0 {
		t.Error("a token was requested for an installation not listed")
	}
}

// TestExpiredTokenRefused: the fake answers an expired installation token
// with 401 "Bad credentials", as GitHub does, and a repository of another
// installation with 404.
func TestExpiredTokenRefused(t *testing.T) {
	key, _ := newKey(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := twoInstallations(t, &key.PublicKey, time.Hour, clock)
	jwt := sign(t, key, map[string]any{"iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(5 * time.Minute).Unix(), "iss": "4242"})
	code, body := do(t, http.MethodPost, f.URL+"/app/installations/101/access_tokens", "Bearer "+jwt)
	if code != http.StatusCreated {
		t.Fatalf("access_tokens: %d %s", code, body)
	}
	var tok struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" || !tok.ExpiresAt.After(now) {
		t.Fatalf("token response %s: %v", body, err)
	}
	if code, body := do(t, http.MethodGet, f.URL+"/repos/acme/ledger", "token "+tok.Token); code != http.StatusOK {
		t.Fatalf("fresh token: %d %s", code, body)
	}
	if code, _ := do(t, http.MethodGet, f.URL+"/repos/globex/api", "token "+tok.Token); code != http.StatusNotFound {
		t.Fatalf("another installation's repository: %d, want 404", code)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	code, body = do(t, http.MethodGet, f.URL+"/repos/acme/ledger", "token "+tok.Token)
	if code != http.StatusUnauthorized || !strings.Contains(body, `"Bad credentials"`) {
		t.Fatalf("expired token: %d %s, want 401 Bad credentials", code, body)
	}
}

// TestJWTChecks: the fake holds the App's JWT to GitHub's rules.
func TestJWTChecks(t *testing.T) {
	key, _ := newKey(t)
	other, _ := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 0, nil)
	now := time.Now()
	ok := map[string]any{"iat": now.Add(-60 * time.Second).Unix(), "exp": now.Add(9 * time.Minute).Unix(), "iss": "4242"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range ok {
			m[a] = b
		}
		m[k] = v
		return m
	}
	cases := []struct {
		name string
		jwt  string
		want string // "" = accepted
	}{
		{"valid", sign(t, key, ok), ""},
		{"numeric iss", sign(t, key, with("iss", appID)), ""},
		{"another key", sign(t, other, ok), "A JSON web token could not be decoded"},
		{"another app", sign(t, key, with("iss", "4243")), "A JSON web token could not be decoded"},
		{"exp beyond 10 minutes", sign(t, key, with("exp", now.Add(11*time.Minute).Unix())), "is too far in the future"},
		{"expired", sign(t, key, with("exp", now.Add(-time.Second).Unix())), "'Expiration time' claim ('exp') must be"},
		{"issued in the future", sign(t, key, with("iat", now.Add(5*time.Minute).Unix())), "'Issued at' claim ('iat')"},
		{"not a JWT", "not-a-jwt", "A JSON web token could not be decoded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, http.MethodGet, f.URL+"/app/installations", "Bearer "+c.jwt)
			switch {
			case c.want == "" && code != http.StatusOK:
				t.Fatalf("%d %s, want 200", code, body)
			case c.want != "" && (code != http.StatusUnauthorized || !strings.Contains(body, c.want)):
				t.Fatalf("%d %s, want 401 %q", code, body, c.want)
			}
		})
	}
}

// TestWrongKeyRefused: a key that is not the App's is refused by GitHub,
// and the error names the App and what to check.
func TestWrongKeyRefused(t *testing.T) {
	key, _ := newKey(t)
	_, wrongPath := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 0, nil)
	app := newApp(t, f, wrongPath)
	_, err := app.Discover(context.Background())
	if !errors.Is(err, githubapp.ErrJWTRefused) {
		t.Fatalf("Discover with another key: %v, want ErrJWTRefused", err)
	}
	for _, s := range []string{"GitHub App 4242", "401 A JSON web token could not be decoded", "App ID is 4242", "private key"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if f.TokensIssued(101)+f.TokensIssued(202) != 0 {
		t.Error("tokens issued to a wrong key")
	}
	// Neither the JWT (base64 of `{"...`) nor a token is in the error.
	if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "ghs_") {
		t.Errorf("error carries a credential: %v", err)
	}
}

// TestUnknownInstallationAndAccount: an installation ID the App does not
// have is an error naming it; a request about an account no installation
// covers fails before it is sent.
func TestUnknownInstallationAndAccount(t *testing.T) {
	key, path := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 0, nil)
	_, err := newApp(t, f, path, 101, 999).Discover(context.Background())
	if err == nil || !strings.Contains(err.Error(), "installation 999: not an installation of this App") {
		t.Fatalf("Discover with installation 999: %v", err)
	}
	app := newApp(t, f, path)
	if _, err := app.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := f.Total()
	req, _ := http.NewRequest(http.MethodGet, f.URL+"/repos/initech/tps/pulls", nil)
	_, err = app.Transport().RoundTrip(req)
	if !errors.Is(err, githubapp.ErrNoInstallation) || !strings.Contains(err.Error(), `"initech"`) {
		t.Fatalf("request about initech: %v", err)
	}
	if f.Total() != before {
		t.Error("a request without an installation was sent")
	}
	if id, ok := app.InstallationOf("GLOBEX"); !ok || id != 202 {
		t.Errorf("InstallationOf(GLOBEX) = %d, %v", id, ok)
	}
}

// TestReadKey: what a user might point app_private_key_file at.
func TestReadKey(t *testing.T) {
	_, good := newKey(t)
	if _, err := githubapp.ReadKey(good); err != nil {
		t.Fatalf("PKCS#1 key: %v", err)
	}
	dir := t.TempDir()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	files := map[string][]byte{
		"pkcs8.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		"public.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"text.pem":   []byte("ghp_notakey\n"),
		"broken.pem": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("junk")}),
	}
	want := map[string]string{"pkcs8.pem": "", "public.pem": `PEM block "PUBLIC KEY" is not a private key`,
		"text.pem": "not a PEM file", "broken.pem": "RSA private key:"}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := githubapp.ReadKey(p)
		switch w := want[name]; {
		case w == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case w != "" && (err == nil || !strings.Contains(err.Error(), w)):
			t.Errorf("%s: %v, want %q", name, err, w)
		}
	}
	if _, err := githubapp.ReadKey(filepath.Join(dir, "absent.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

// sign makes an RS256 JWT by hand, so the fake's checks are tested
// independently of the library changeproof signs with.
func sign(t *testing.T, k *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(head))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func do(t *testing.T, method, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDiscoverPages: more than 100 installations, and an installation
// with more than 100 repositories, are read page by page (Link rel="next").
func TestDiscoverPages(t *testing.T) {
	key, path := newKey(t)
	var repos []*githubfake.Repo
	var names []string
	for i := range 130 {
		r := &githubfake.Repo{FullName: fmt.Sprintf("acme/r%03d", i), Branch: "main"}
		repos = append(repos, r)
		names = append(names, r.FullName)
	}
	f := githubfake.New(t, repos...)
	ins := []githubfake.AppInstallation{{ID: 1, Account: "acme", Repos: names}}
	for i := range 104 {
		ins = append(ins, githubfake.AppInstallation{ID: int64(1000 + i), Account: fmt.Sprintf("org%d", i)})
	}
	f.EnableApp(githubfake.AppOptions{ID: appID, Key: &key.PublicKey, Installations: ins})
	got, err := newApp(t, f, path).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 105 || len(got[0].Repos) != 130 || got[0].Repos[129] != "acme/r129" {
		t.Fatalf("%d installations, the first with %d repositories", len(got), len(got[0].Repos))
	}
	if len(f.Requested("/app/installations?page=2")) != 1 || len(f.Requested("/installation/repositories?page=2")) != 1 {
		t.Errorf("second pages not read: %v", f.Requested("page=2"))
	}
}

// TestEnterpriseBasePath: on GitHub Enterprise Server the API lives under
// /api/v3/; tokens, discovery and routing all keep the prefix.
func TestEnterpriseBasePath(t *testing.T) {
	key, path := newKey(t)
	f := twoInstallations(t, &key.PublicKey, 0, nil)
	ghes := httptest.NewServer(http.StripPrefix("/api/v3", f))
	t.Cleanup(ghes.Close)
	k, err := githubapp.ReadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	app, err := githubapp.New(githubapp.Options{AppID: appID, Key: k, BaseURL: ghes.URL + "/api/v3/"})
	if err != nil {
		t.Fatal(err)
	}
	ins, err := app.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	o := backfill.Options{BaseURL: ghes.URL + "/api/v3/", Transport: app.Transport(), Since: githubfake.Since}
	if _, err := backfill.Run(context.Background(), o, &backfill.MemState{}, s, allRepos(ins)); err != nil {
		t.Fatal(err)
	}
	if s.count("globex/api") != 9 || s.count("acme/billing") != 7 {
		t.Fatalf("backfilled %v", s.merged)
	}
}
