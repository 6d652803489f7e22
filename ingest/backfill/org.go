package backfill

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"
)

// OrgRepos lists the repositories of a GitHub organisation (owner/name),
// through the same rate-limited, ETag-caching client as Run; archived
// repositories are left out (nothing changes there).
func OrgRepos(ctx context.Context, o Options, st State, org string) ([]string, error) {
	o = o.withDefaults()
	var stats Stats
	c, _, err := newClient(o, st, &stats)
	if err != nil {
		return nil, err
	}
	var out []string
	opt := &github.RepositoryListByOrgOptions{Type: "all", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		repos, resp, err := c.Repositories.ListByOrg(ctx, org, opt)
		if err != nil {
			return nil, fmt.Errorf("list repositories of %s: %w", org, err)
		}
		for _, r := range repos {
			if !r.GetArchived() {
				out = append(out, r.GetFullName())
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
