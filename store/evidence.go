package store

import (
	"context"
	"fmt"

	"github.com/changeproof/changeproof/model"
)

// RepoEvidence reads everything the controls judge about one repository.
func (s *Store) RepoEvidence(ctx context.Context, repo string) (*model.RepoEvidence, error) {
	p := Params{"repo": repo}
	var prs []prRow
	if err := s.db.Query(ctx, "SELECT * FROM merged_pull_requests WHERE repo = {repo:String} ORDER BY number", p, &prs); err != nil {
		return nil, fmt.Errorf("read merged pull requests of %s: %w", repo, err)
	}
	var revs []reviewRow
	if err := s.db.Query(ctx, "SELECT * FROM reviews FINAL WHERE repo = {repo:String} ORDER BY pr_number, submitted_at, review_id, action = 'dismissed', delivery_id", p, &revs); err != nil {
		return nil, fmt.Errorf("read reviews of %s: %w", repo, err)
	}
	var pushes []pushRow
	if err := s.db.Query(ctx, "SELECT * FROM direct_pushes WHERE repo = {repo:String} ORDER BY pushed_at, after", p, &pushes); err != nil {
		return nil, fmt.Errorf("read direct pushes of %s: %w", repo, err)
	}
	var chain []pushRow
	if err := s.db.Query(ctx, "SELECT * FROM default_branch_pushes WHERE repo = {repo:String} ORDER BY pushed_at, received_at", p, &chain); err != nil {
		return nil, fmt.Errorf("read default-branch pushes of %s: %w", repo, err)
	}
	deploys, err := s.DeploysOf(ctx, repo)
	if err != nil {
		return nil, err
	}
	var prot []protectionRow
	if err := s.db.Query(ctx, "SELECT * FROM protection_events FINAL WHERE repo = {repo:String} ORDER BY occurred_at, delivery_id", p, &prot); err != nil {
		return nil, fmt.Errorf("read protection events of %s: %w", repo, err)
	}
	ev := &model.RepoEvidence{Repo: repo, MergeCommits: map[string]int{}}
	byPR := map[int][]model.Review{}
	for _, r := range revs {
		byPR[r.PRNumber] = append(byPR[r.PRNumber], r.model())
	}
	for _, r := range prs {
		pr := r.model()
		ev.MergeCommits[pr.MergeCommitSHA] = pr.Number
		ev.Changes = append(ev.Changes, PRChange(pr, byPR[pr.Number]))
	}
	for _, r := range pushes {
		ev.Changes = append(ev.Changes, PushChange(r.model()))
	}
	for _, r := range prot {
		ev.Protections = append(ev.Protections, r.model())
	}
	for _, r := range chain {
		ev.Pushes = append(ev.Pushes, r.model())
	}
	ev.Deploys = deploys
	return ev, nil
}

// PRChange is the change a merged pull request makes.
func PRChange(pr model.PullRequest, reviews []model.Review) model.Change {
	return model.Change{
		Subject: fmt.Sprintf("%s#%d", pr.Repo, pr.Number), Kind: model.KindPullRequest, Repo: pr.Repo,
		OccurredAt: pr.MergedAt, URL: pr.URL, Number: pr.Number, Author: pr.Author, MergedBy: pr.MergedBy,
		Title: pr.Title, Body: pr.Body, HeadRef: pr.HeadRef, HeadSHA: pr.HeadSHA, MergeCommitSHA: pr.MergeCommitSHA,
		Labels: pr.Labels, Reviews: reviews,
	}
}

// PushChange is the change a direct push makes.
func PushChange(p model.Push) model.Change {
	return model.Change{
		Subject: p.Repo + "@" + p.After, Kind: model.KindDirectPush, Repo: p.Repo, OccurredAt: p.PushedAt,
		URL: p.URL, SHA: p.After, Before: p.Before, Pusher: p.Pusher, Messages: p.Messages,
	}
}
