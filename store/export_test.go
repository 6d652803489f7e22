package store

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/model"
	"github.com/changeproof/changeproof/rules/change"
)

// The one-change readers that the batched ones of population_bundles.go
// (ChangeRecordsOf with change.Lookup, PushesToEach) are tested against:
// the plain SQL over the views, one change at a time. Production reads
// changes in batches only.

// Change returns one change as the SQL views find it: the merged pull
// request repo#number (number > 0), or the change whose commit is sha (a
// direct push, or a PR's merge commit). ok is false when there is none.
func (s *Store) Change(ctx context.Context, repo string, number int, sha string) (model.Change, bool, error) {
	var prs []prRow
	p := Params{"repo": repo, "number": fmt.Sprint(number), "sha": sha}
	if err := s.db.Query(ctx, `SELECT * FROM merged_pull_requests WHERE repo = {repo:String}
  AND (number = {number:UInt32} OR ({sha:String} != '' AND merge_commit_sha = {sha:String})) LIMIT 1`, p, &prs); err != nil {
		return model.Change{}, false, fmt.Errorf("read change %s: %w", repo, err)
	}
	if len(prs) == 1 {
		pr := prs[0].model()
		var revs []reviewRow
		if err := s.db.Query(ctx, "SELECT * FROM reviews FINAL WHERE repo = {repo:String} AND pr_number = {number:UInt32} ORDER BY submitted_at, review_id, action = 'dismissed', delivery_id",
			Params{"repo": repo, "number": fmt.Sprint(pr.Number)}, &revs); err != nil {
			return model.Change{}, false, fmt.Errorf("read reviews of %s#%d: %w", repo, pr.Number, err)
		}
		var rs []model.Review
		for _, r := range revs {
			rs = append(rs, r.model())
		}
		return change.FromPullRequest(pr, rs), true, nil
	}
	if sha == "" {
		return model.Change{}, false, nil
	}
	var pushes []pushRow
	if err := s.db.Query(ctx, "SELECT * FROM direct_pushes WHERE repo = {repo:String} AND after = {sha:String} LIMIT 1", p, &pushes); err != nil {
		return model.Change{}, false, fmt.Errorf("read direct push %s@%s: %w", repo, sha, err)
	}
	if len(pushes) == 0 {
		return model.Change{}, false, nil
	}
	return change.FromPush(pushes[0].model()), true, nil
}

// PushesTo returns the default-branch pushes of a repository whose after is
// sha: the links of the chain that carried a change.
func (s *Store) PushesTo(ctx context.Context, repo, sha string) ([]model.Push, error) {
	var rows []pushRow
	if err := s.db.Query(ctx, "SELECT * FROM default_branch_pushes WHERE repo = {repo:String} AND after = {sha:String} ORDER BY received_at",
		Params{"repo": repo, "sha": sha}, &rows); err != nil {
		return nil, fmt.Errorf("read pushes of %s@%s: %w", repo, sha, err)
	}
	out := make([]model.Push, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// SetKeyFilterPage makes EnableKeyFilter read n keys per query until the
// returned func restores the default, so a test can cross pages.
func SetKeyFilterPage(n int) (restore func()) {
	old := keyFilterPage
	keyFilterPage = n
	return func() { keyFilterPage = old }
}

// SetClassJoinEvents makes RecordClassVerdicts compare n events per
// statement until the returned func restores the default, so a test can
// cross stretches of ids.
func SetClassJoinEvents(n int) (restore func()) {
	old := classJoinEvents
	classJoinEvents = n
	return func() { classJoinEvents = old }
}
