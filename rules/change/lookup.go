package change

import (
	"github.com/changeproof/changeproof/model"
)

// Lookup finds the change each key names among the changes rec derives
// (rec may hold several repositories' rows): for a key with a Number, the
// merged pull request of that number; for a key with a SHA, the merged
// pull request whose merge commit it is (the lowest number, when several
// are), else the direct push of that commit. A key naming both gets the
// lower-numbered of the two pull requests. A key without a change is
// absent from the answer.
//
// The answer is what Derive gives for the same change, provided rec holds
// every row of the change's pull request (snapshots, reviews), the
// default-branch pushes of each SHA asked for, every merged pull request
// whose merge commit is one of those SHAs, and the contributions and check
// results Derive would bind.
func Lookup(rec model.ChangeRecords, keys []model.ChangeKey) map[model.ChangeKey]model.Change {
	out := make(map[model.ChangeKey]model.Change, len(keys))
	if len(keys) == 0 {
		return out
	}
	type repoSHA struct{ repo, sha string }
	type repoNumber struct {
		repo   string
		number int
	}
	prs := mergedPullRequests(rec.PullRequests, "")
	byNumber := make(map[repoNumber]model.PullRequest, len(prs))
	byMerge := map[repoSHA]model.PullRequest{}
	for _, pr := range prs {
		byNumber[repoNumber{pr.Repo, pr.Number}] = pr
		// prs come by number: the lowest number merged as a commit wins.
		if k := (repoSHA{pr.Repo, pr.MergeCommitSHA}); pr.MergeCommitSHA != "" {
			if _, ok := byMerge[k]; !ok {
				byMerge[k] = pr
			}
		}
	}
	reviews := map[string]map[int][]model.Review{}
	checks := map[string]map[string][]model.CheckResult{}
	directs := map[string]map[string]model.Push{} // repo -> commit -> direct push
	for _, k := range keys {
		pr, ok := byNumber[repoNumber{k.Repo, k.Number}]
		if m, mok := byMerge[repoSHA{k.Repo, k.SHA}]; k.SHA != "" && mok && (!ok || m.Number < pr.Number) {
			pr, ok = m, true
		}
		if ok {
			if reviews[pr.Repo] == nil {
				reviews[pr.Repo] = reviewsByNumber(rec.Reviews, pr.Repo)
				checks[pr.Repo] = checksBySHA(rec.Checks, pr.Repo)
			}
			out[k] = mergedChange(pr, reviews[pr.Repo][pr.Number], rec.Contributions, checks[pr.Repo])
			continue
		}
		if k.SHA == "" {
			continue
		}
		direct, seen := directs[k.Repo]
		if !seen {
			ch := chain(rec.Pushes, k.Repo)
			repo := k.Repo
			mergeCommit := func(sha string) bool { _, ok := byMerge[repoSHA{repo, sha}]; return ok }
			direct = map[string]model.Push{}
			for _, i := range directPushes(ch, mergeCommit) {
				direct[ch[i].After] = ch[i]
			}
			directs[k.Repo] = direct
		}
		if p, ok := direct[k.SHA]; ok {
			out[k] = FromPush(p)
		}
	}
	return out
}
