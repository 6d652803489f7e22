package config

import (
	"path"
	"strings"
)

// InScope reports whether the repository "owner/name" is in scope: matched
// by a pattern of Repos and by none of ExcludeRepos, ignoring case as
// GitHub does. With no Repos nothing is in scope: the audited population
// is something to declare, and an empty list must not declare everything.
func (s Scope) InScope(repo string) bool {
	repo = strings.ToLower(repo)
	return matchAny(s.Repos, repo) && !matchAny(s.ExcludeRepos, repo)
}

// IsProductionEnvironment reports whether a deploy environment is one of
// ProductionEnvironments, ignoring case as GitHub does for environment
// names.
func (s Scope) IsProductionEnvironment(env string) bool {
	for _, e := range s.ProductionEnvironments {
		if strings.EqualFold(e, env) {
			return true
		}
	}
	return false
}

// matchAny reports whether a lower-case name matches one of the patterns.
// A malformed pattern matches nothing; Validate reports it.
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), name); ok {
			return true
		}
	}
	return false
}
