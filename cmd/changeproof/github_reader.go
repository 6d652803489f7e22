package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/ingest/backfill"
	"github.com/changeproof/changeproof/ingest/githubapp"
	"github.com/changeproof/changeproof/model"
)

// githubReader is the identity backfill and reconciliation read GitHub
// with: github.token, or the GitHub App of github.app_id (configuration
// validation refuses both at once).
type githubReader struct {
	cfg config.GitHub
	app *githubapp.App // nil: the token
}

// errNoGitHubIdentity is a command that reads GitHub without a way to
// authenticate.
var errNoGitHubIdentity = errors.New("github.token: required for backfill (a fine-grained, read-only token; or github.token_file), unless changeproof is a GitHub App: github.app_id and github.app_private_key_file (docs/github-app.md)")

// newGitHubReader reads the App's private key when an App is configured;
// it sends no request.
func newGitHubReader(cfg config.GitHub) (*githubReader, error) {
	if !cfg.App() {
		if cfg.Token == "" {
			return nil, errNoGitHubIdentity
		}
		return &githubReader{cfg: cfg}, nil
	}
	key, err := githubapp.ReadKey(cfg.AppPrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("github.app_private_key_file: %w", err)
	}
	ids := make([]int64, len(cfg.AppInstallationIDs))
	for i, id := range cfg.AppInstallationIDs {
		ids[i] = int64(id)
	}
	app, err := githubapp.New(githubapp.Options{AppID: int64(cfg.AppID), Key: key, BaseURL: cfg.BaseURL, Installations: ids})
	if err != nil {
		return nil, err
	}
	return &githubReader{cfg: cfg, app: app}, nil
}

// options sets how o authenticates: the token, or the App's routing of
// each request to the token of the installation holding its repository.
func (g *githubReader) options(o backfill.Options) backfill.Options {
	o.BaseURL = g.cfg.BaseURL
	if g.app != nil {
		o.Token, o.Transport = "", g.app.Transport()
	} else {
		o.Token = g.cfg.Token
	}
	return o
}

// installed lists the repositories of the App's installations (and routes
// later requests by them); with orgs, only those accounts' repositories.
// Only for an App.
func (g *githubReader) installed(ctx context.Context, orgs []string) ([]string, error) {
	ins, err := g.app.Discover(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range ins {
		if len(orgs) > 0 && !containsFold(orgs, in.Account) {
			continue
		}
		out = append(out, in.Repos...)
	}
	return out, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// installationEvent reports whether d tells a GitHub App that its
// installations or their repositories changed.
func installationEvent(d model.Delivery) bool {
	return d.Source == model.SourceGitHub && (d.Event == "installation" || d.Event == "installation_repositories")
}
