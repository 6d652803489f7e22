package main

import (
	"sort"
	"strings"

	"github.com/changeproof/changeproof/config"
	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/control"
)

// This file holds the configuration as the parts of the product take it:
// the controls' environment, the waivers, the service a repository
// deploys as.

// controlEnv is the environment the controls judge in.
func controlEnv(cfg config.Config) control.Env {
	ids := make([]model.Identity, 0, len(cfg.Identities))
	for _, id := range cfg.Identities {
		ids = append(ids, model.Identity{Name: id.Name, Logins: id.Logins, TerminatedAt: id.TerminatedAt.Time})
	}
	systems := map[string]control.System{}
	for name, sys := range cfg.Access.Systems {
		systems[name] = control.System{Authorized: sys.Authorized, BreakGlassRoles: sys.BreakGlassRoles}
	}
	return control.Env{
		ProductionEnvironments: cfg.Scope.ProductionEnvironments,
		Systems:                systems,
		Policy:                 control.PolicyOf(cfg.Policy),
		Identities:             model.NewIdentities(ids),
	}
}

func waiversOf(cfg config.Config) []model.Waiver {
	ws := make([]model.Waiver, 0, len(cfg.Waivers))
	for _, w := range cfg.Waivers {
		ws = append(ws, model.Waiver{Rule: w.Rule, Subject: w.Subject, Reason: w.Reason, ApprovedBy: w.ApprovedBy, Expires: w.Expires.Time})
	}
	return ws
}

// serviceOf maps a repository to the service scope.services names for it,
// for GitHub deployment_status events (which name no service).
func serviceOf(cfg config.Config) func(repo string) string {
	return func(repo string) string {
		names := make([]string, 0, len(cfg.Scope.Services))
		for name := range cfg.Scope.Services {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			for _, r := range cfg.Scope.Services[name].Repos {
				if strings.EqualFold(r, repo) {
					return name
				}
			}
		}
		return ""
	}
}
