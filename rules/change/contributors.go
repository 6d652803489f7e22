package change

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/model"
)

// Contributors returns the contributors of pull request number of repo
// besides its author, one per login: the logins that pushed to its head
// branch headRef while it was open (from its created_at, recorded by any
// event carrying it, to mergedAt), or are recorded against the pull request
// itself (synchronize senders, backfilled commit authors and committers).
// Each login's evidence is its first by kind (authored, committed, pushed)
// and then commit, so that webhooks and backfill, which learn the same
// commits, name the same one. cs may hold any repository's contributions.
func Contributors(cs []model.Contribution, repo string, number int, headRef, author string, mergedAt time.Time) []model.Contributor {
	var from time.Time
	headRepo := repo
	for _, c := range cs {
		if c.Repo == repo && c.PRNumber == number && c.How == model.ContribOpened {
			from = c.At
			if c.HeadRepo != "" {
				headRepo = c.HeadRepo
			}
		}
	}
	best := map[string]model.Contributor{}
	for _, c := range cs {
		if c.Repo != repo || c.How == model.ContribOpened || c.Login == "" || strings.EqualFold(c.Login, author) {
			continue
		}
		switch {
		case c.PRNumber == number:
		case c.PRNumber == 0 && headRef != "" && c.HeadRef == headRef && headRepo == repo &&
			!c.At.Before(from) && !c.At.After(mergedAt):
		default:
			continue
		}
		k := strings.ToLower(c.Login)
		cand := model.Contributor{Login: c.Login, How: c.How, SHA: c.SHA}
		if prev, ok := best[k]; !ok || compareContributor(cand, prev) < 0 {
			best[k] = cand
		}
	}
	if len(best) == 0 {
		return nil
	}
	out := make([]model.Contributor, 0, len(best))
	for _, c := range best {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b model.Contributor) int {
		return cmp.Compare(strings.ToLower(a.Login), strings.ToLower(b.Login))
	})
	return out
}

func howRank(how string) int {
	switch how {
	case model.ContribAuthored:
		return 0
	case model.ContribCommitted:
		return 1
	}
	return 2
}

func compareContributor(a, b model.Contributor) int {
	if c := cmp.Compare(howRank(a.How), howRank(b.How)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.SHA, b.SHA); c != 0 {
		return c
	}
	return cmp.Compare(a.Login, b.Login)
}
