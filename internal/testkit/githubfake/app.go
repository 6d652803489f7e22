package githubfake

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/internal/testkit/fixture"
)

// AppInstallation is one installation of the fake's GitHub App.
type AppInstallation struct {
	ID      int64
	Account string   // the organisation it is installed on
	Repos   []string // full names of the server's repositories it can read
}

// AppOptions make the server also the API of one GitHub App.
type AppOptions struct {
	ID int64
	// Key is the public half of the App's private key: the App's JWTs are
	// verified against it.
	Key           *rsa.PublicKey
	Installations []AppInstallation
	// TokenTTL is how long an installation token lives; GitHub's is an
	// hour, which is the default.
	TokenTTL time.Duration
	// Now is the server's clock for JWT and token expiry; default time.Now.
	Now func() time.Time
}

type appState struct {
	o      AppOptions
	tokens map[string]issued // token -> what it is for
	minted map[int64]int     // installation -> tokens issued
}

type issued struct {
	installation int64
	expires      time.Time
}

// EnableApp serves the App endpoints besides the repositories' ones:
//
//	GET  /app/installations                         (App JWT)
//	POST /app/installations/{id}/access_tokens      (App JWT) -> 201, a token living TokenTTL
//	GET  /installation/repositories                 (installation token), paged
//
// and accepts an installation token (Authorization "token T" or "Bearer
// T") on /repos/{owner}/{repo}/... for the repositories of its
// installation; another repository answers 404, as GitHub answers for a
// repository the installation cannot see. A JWT must be RS256, signed by
// Key, with iss = ID, exp in the future and at most 10 minutes ahead, iat
// not in the future; an expired or unknown token answers 401 "Bad
// credentials". The Token constant stays accepted everywhere.
func (f *Server) EnableApp(o AppOptions) {
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.app = &appState{o: o, tokens: map[string]issued{}, minted: map[int64]int{}}
}

// TokensIssued is the number of installation tokens issued to installation id.
func (f *Server) TokensIssued(id int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.app == nil {
		return 0
	}
	return f.app.minted[id]
}

const docsURL = "https://docs.github.com/rest"

func unauthorized(msg string) (int, string) {
	b, _ := json.Marshal(map[string]string{"message": msg, "documentation_url": docsURL})
	return http.StatusUnauthorized, string(b)
}

// serveApp answers the App endpoints and checks installation tokens. It
// returns false when the request is left to the repository routes.
func (f *Server) serveApp(w http.ResponseWriter, r *http.Request, ft *Fault) bool {
	f.mu.Lock()
	app := f.app
	f.mu.Unlock()
	if app == nil {
		return false
	}
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case path == "app/installations" && r.Method == http.MethodGet:
		if code, msg := f.checkJWT(app, r); code != 0 {
			f.answer(w, r, code, nil, msg)
			return true
		}
		var items []any
		for _, in := range f.installations() {
			items = append(items, f.installationItem(app, in))
		}
		status, body, link := f.page(r, items)
		h := map[string]string{}
		if link != "" {
			h["Link"] = link
		}
		f.answer(w, r, status, h, body)
		return true
	case strings.HasPrefix(path, "app/installations/") && strings.HasSuffix(path, "/access_tokens") && r.Method == http.MethodPost:
		if code, msg := f.checkJWT(app, r); code != 0 {
			f.answer(w, r, code, nil, msg)
			return true
		}
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "app/installations/"), "/access_tokens"), 10, 64)
		if _, ok := f.findInstallation(id); !ok {
			f.answer(w, r, http.StatusNotFound, nil, `{"message":"Not Found","documentation_url":"`+docsURL+`"}`)
			return true
		}
		buf := make([]byte, 18)
		_, _ = rand.Read(buf)
		tok := "ghs_" + hex.EncodeToString(buf)
		exp := app.o.Now().Add(app.o.TokenTTL).UTC().Truncate(time.Second)
		f.mu.Lock()
		app.tokens[tok] = issued{installation: id, expires: exp}
		app.minted[id]++
		f.mu.Unlock()
		b, _ := json.Marshal(map[string]any{"token": tok, "expires_at": exp.Format(time.RFC3339),
			"permissions": appPermissions, "repository_selection": "selected"})
		f.answer(w, r, http.StatusCreated, nil, string(b))
		return true
	case path == "installation/repositories" && r.Method == http.MethodGet:
		in, code, msg := f.checkToken(app, r)
		if code != 0 {
			f.answer(w, r, code, nil, msg)
			return true
		}
		var items []any
		f.mu.Lock()
		repos := make([]*Repo, 0, len(in.Repos))
		for _, name := range in.Repos {
			if rp := f.repos[name]; rp != nil {
				repos = append(repos, rp)
			}
		}
		f.mu.Unlock()
		for _, rp := range repos {
			items = append(items, obj(f.t, []byte(repoBody(f.t, rp))))
		}
		status, body, link := f.page(r, items)
		var list []any
		_ = json.Unmarshal([]byte(body), &list)
		b, _ := json.Marshal(map[string]any{"total_count": len(items), "repository_selection": "selected", "repositories": list})
		h := map[string]string{}
		if link != "" {
			h["Link"] = link
		}
		f.answer(w, r, status, h, string(b))
		return true
	}
	auth := r.Header.Get("Authorization")
	if auth == "Bearer "+Token || auth == "" {
		return false // the personal token, or none (refused by the caller)
	}
	in, code, msg := f.checkToken(app, r)
	if code != 0 {
		f.answer(w, r, code, nil, msg)
		return true
	}
	if isGraphQL(r) {
		// The query's repository must be one of the installation's, else
		// GitHub cannot resolve it.
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var q struct {
			Variables struct{ Owner, Name string } `json:"variables"`
		}
		_ = json.Unmarshal(b, &q)
		if full := q.Variables.Owner + "/" + q.Variables.Name; !contains(in.Repos, full) {
			f.answer(w, r, http.StatusOK, nil, marshal(map[string]any{"data": map[string]any{"repository": nil},
				"errors": []any{map[string]any{"type": "NOT_FOUND", "path": []string{"repository"},
					"message": fmt.Sprintf("Could not resolve to a Repository with the name '%s'.", full)}}}))
			return true
		}
		f.serveRepo(w, r, ft)
		return true
	}
	parts := strings.SplitN(path, "/", 4)
	if len(parts) < 3 || parts[0] != "repos" || !contains(in.Repos, parts[1]+"/"+parts[2]) {
		f.answer(w, r, http.StatusNotFound, nil, `{"message":"Not Found","documentation_url":"`+docsURL+`"}`)
		return true
	}
	f.serveRepo(w, r, ft)
	return true
}

// appPermissions are the permissions the fake's tokens carry.
var appPermissions = map[string]string{"metadata": "read", "contents": "read", "pull_requests": "read", "issues": "read",
	"checks": "read", "statuses": "read", "administration": "read", "deployments": "read"}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// installations copies the installations under the lock (a test may add
// repositories while the server answers).
func (f *Server) installations() []AppInstallation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AppInstallation(nil), f.app.o.Installations...)
}

func (f *Server) findInstallation(id int64) (AppInstallation, bool) {
	for _, in := range f.installations() {
		if in.ID == id {
			return in, true
		}
	}
	return AppInstallation{}, false
}

// installationItem is GET /app/installations' item: the installation object
// of a real installation webhook, re-aimed at in.
func (f *Server) installationItem(app *appState, in AppInstallation) any {
	m := obj(f.t, fixture.Template("installation.created"))
	inst := m["installation"].(map[string]any)
	inst["id"], inst["app_id"] = in.ID, app.o.ID
	inst["target_type"] = "Organization"
	inst["permissions"] = appPermissions
	inst["access_tokens_url"] = fmt.Sprintf("https://api.github.com/app/installations/%d/access_tokens", in.ID)
	acc := inst["account"].(map[string]any)
	acc["login"], acc["type"] = in.Account, "Organization"
	return inst
}

// checkToken checks an installation token: 401 "Bad credentials" when it
// is unknown or expired, as GitHub answers.
func (f *Server) checkToken(app *appState, r *http.Request) (AppInstallation, int, string) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "token ")
	if !ok {
		tok, _ = strings.CutPrefix(auth, "Bearer ")
	}
	f.mu.Lock()
	is, known := app.tokens[tok]
	f.mu.Unlock()
	if !known || !app.o.Now().Before(is.expires) {
		code, msg := unauthorized("Bad credentials")
		return AppInstallation{}, code, msg
	}
	in, _ := f.findInstallation(is.installation)
	return in, 0, ""
}

// checkJWT verifies an App JWT the way GitHub documents it, independently
// of the library that signed it.
func (f *Server) checkJWT(app *appState, r *http.Request) (int, string) {
	jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return unauthorized("A JSON web token could not be decoded")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return unauthorized("A JSON web token could not be decoded")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iat json.Number     `json:"iat"`
		Exp json.Number     `json:"exp"`
		Iss json.RawMessage `json:"iss"`
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	c, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &hdr) != nil || json.Unmarshal(c, &claims) != nil || hdr.Alg != "RS256" {
		return unauthorized("A JSON web token could not be decoded")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(app.o.Key, crypto.SHA256, sum[:], sig) != nil {
		return unauthorized("A JSON web token could not be decoded")
	}
	if strings.Trim(string(claims.Iss), `"`) != strconv.FormatInt(app.o.ID, 10) {
		return unauthorized("A JSON web token could not be decoded")
	}
	now := app.o.Now().Unix()
	iat, err1 := claims.Iat.Int64()
	exp, err2 := claims.Exp.Int64()
	switch {
	case err1 != nil || iat > now+60:
		return unauthorized("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	case err2 != nil || exp <= now:
		return unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case exp > now+600:
		return unauthorized("'Expiration time' claim ('exp') is too far in the future")
	}
	return 0, ""
}

// AddInstallationRepos gives installation id more of the server's
// repositories, as a user adding repositories to an installation does.
func (f *Server) AddInstallationRepos(id int64, repos ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.app == nil {
		return
	}
	for i := range f.app.o.Installations {
		if f.app.o.Installations[i].ID == id {
			f.app.o.Installations[i].Repos = append(append([]string(nil), f.app.o.Installations[i].Repos...), repos...)
		}
	}
}
