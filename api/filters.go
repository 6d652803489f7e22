package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// FilterError is a query filter value refused before it reaches the store:
// an answer to a filter that cannot match (outcome=bogus, rule=cm-2) would
// look like "no findings", which an auditor reads as "no failures". Param
// names the parameter; the HTTP API answers 400.
type FilterError struct {
	Param string
	Msg   string
}

func (e *FilterError) Error() string { return e.Param + ": " + e.Msg }

var outcomes = []model.Outcome{model.Pass, model.Fail, model.Pending, model.Waived, model.NotApplicable, model.Error}

// checkFilters validates the filters shared by findings and changes.
func (s *Service) checkFilters(rule, outcome, repo string, from, to time.Time) error {
	if rule != "" && s.Rules != nil {
		known := false
		for _, r := range s.Rules {
			if r == rule {
				known = true
			}
		}
		if !known {
			for _, r := range s.Rules {
				if strings.EqualFold(r, rule) {
					return &FilterError{"rule", fmt.Sprintf("unknown rule %q; rule ids are written %s", rule, r)}
				}
			}
			return &FilterError{"rule", fmt.Sprintf("unknown rule %q (one of %s)", rule, strings.Join(s.Rules, ", "))}
		}
	}
	if outcome != "" {
		ok := false
		names := make([]string, len(outcomes))
		for i, o := range outcomes {
			names[i] = string(o)
			ok = ok || outcome == string(o)
		}
		if !ok {
			return &FilterError{"outcome", fmt.Sprintf("unknown outcome %q (one of %s)", outcome, strings.Join(names, ", "))}
		}
	}
	if repo != "" {
		owner, name, found := strings.Cut(repo, "/")
		if !found || owner == "" || name == "" || strings.Contains(name, "/") || strings.ContainsFunc(repo, isControl) {
			return &FilterError{"repo", fmt.Sprintf("must be owner/name, got %q", repo)}
		}
	}
	for _, b := range []struct {
		param string
		t     time.Time
	}{{"from", from}, {"to", to}} {
		if err := model.CheckTime(b.param, b.t); err != nil {
			return &FilterError{b.param, fmt.Sprintf("%s is out of range (1970-01-01 .. 2299-12-31 UTC)", b.t.UTC().Format(time.RFC3339Nano))}
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
