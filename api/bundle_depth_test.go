package api_test

import (
	"reflect"
	"testing"

	"github.com/changeproof/changeproof/model"
)

// The bundle shows who else contributed to the pull request, the check
// results of its final head and the rulesets as they stood at the merge.
func TestBundleShowsContributorsChecksAndRulesets(t *testing.T) {
	e := newEnv(t)
	seedBundles(t, e)
	merged := ts(t, "2026-03-01T10:00:00Z")
	e.write(t, model.Batch{
		Contributions: []model.Contribution{
			{Repo: "acme/api", PRNumber: 7, HeadRepo: "acme/api", HeadRef: "feature/x", Login: "alice", How: model.ContribOpened,
				At: ts(t, "2026-03-01T08:00:00Z"), DeliveryID: "open-7"},
			{Repo: "acme/api", HeadRef: "feature/x", Login: "carol", How: model.ContribPushed, SHA: sha('c'),
				At: ts(t, "2026-03-01T09:00:00Z"), DeliveryID: "push-x"},
		},
		Checks: []model.CheckResult{{Repo: "acme/api", SHA: sha('c'), Name: "ci/test", Kind: model.CheckKindRun, State: "failure",
			At: ts(t, "2026-03-01T09:30:00Z"), ID: 5, DeliveryID: "cr-5"}},
		Rulesets: []model.RulesetEvent{
			{Repo: "acme/api", Org: "acme", RulesetID: 42, DeliveryID: "rs-1", Action: "created", Name: "main protection",
				Enforcement: "active", Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}, BypassActors: []string{},
				OccurredAt: ts(t, "2026-02-01T00:00:00Z")},
			{Repo: "acme/api", Org: "acme", RulesetID: 42, DeliveryID: "rs-2", Action: "edited", Name: "main protection",
				Enforcement: "active", Include: []string{"~DEFAULT_BRANCH"}, Exclude: []string{}, BypassActors: []string{"RepositoryRole:5"},
				OccurredAt: ts(t, "2026-02-15T00:00:00Z")},
			{Repo: "acme/api", Org: "acme", RulesetID: 42, DeliveryID: "rs-3", Action: "deleted", Name: "main protection",
				Enforcement: "active", Include: []string{}, Exclude: []string{}, BypassActors: []string{},
				OccurredAt: merged.Add(24 * 3600 * 1e9)},
		},
	})
	b, _ := getBundle(t, e, "/v1/changes/acme/api/7")
	if want := []model.Contributor{{Login: "carol", How: model.ContribPushed, SHA: sha('c')}}; !reflect.DeepEqual(b.Change.Contributors, want) {
		t.Errorf("contributors %+v, want %+v", b.Change.Contributors, want)
	}
	if len(b.Change.Checks) != 1 || b.Change.Checks[0].Name != "ci/test" || b.Change.Checks[0].State != "failure" {
		t.Errorf("checks %+v", b.Change.Checks)
	}
	if len(b.Rulesets) != 1 || b.Rulesets[0].DeliveryID != "rs-2" {
		t.Errorf("rulesets at the merge %+v, want the edit rs-2", b.Rulesets)
	}
}
